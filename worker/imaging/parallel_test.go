package imaging

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/draw"
	"image/jpeg"
	"testing"

	"github.com/tigerstudio/studio/infra/samples"
	"github.com/tigerstudio/studio/worker/internal/par"
)

// sampleJPEG is a sample photo as a camera's JPEG.
func sampleJPEG(t *testing.T, data []byte) []byte {
	t.Helper()
	img, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 92}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestDecodeOnEveryCoreIsIdentical: the sample photos, as PNG and as JPEG
// in every EXIF orientation, decode to the same pixels with the work shared
// over several cores as on one.
func TestDecodeOnEveryCoreIsIdentical(t *testing.T) {
	for name, data := range map[string][]byte{"astronaut": samples.Astronaut(), "coffee": samples.Coffee()} {
		inputs := map[string][]byte{"png": data}
		jpg := sampleJPEG(t, data)
		for o := uint16(1); o <= 8; o++ {
			inputs[fmt.Sprintf("jpeg-orientation-%d", o)] = withExif(t, jpg, o, binary.BigEndian)
		}
		for kind, in := range inputs {
			t.Run(name+"/"+kind, func(t *testing.T) {
				want, err := Decode(in)
				if err != nil {
					t.Fatal(err)
				}
				for _, cores := range []int{2, 7} {
					got, err := DecodeOn(par.NewPool(cores), in)
					if err != nil {
						t.Fatal(err)
					}
					if got.Rect != want.Rect || !bytes.Equal(got.Pix, want.Pix) {
						t.Errorf("%d cores: pixels differ from one core's", cores)
					}
				}
			})
		}
	}
}

// TestEncodeOnEveryCoreIsIdentical: an output image (opaque NRGBA, as the
// steps make them; RGBA; one with a translucent pixel) encodes to the very
// bytes the standard library's encoder makes of it unaided.
func TestEncodeOnEveryCoreIsIdentical(t *testing.T) {
	for name, data := range map[string][]byte{"astronaut": samples.Astronaut(), "coffee": samples.Coffee()} {
		src, err := Decode(data)
		if err != nil {
			t.Fatal(err)
		}
		opaque := image.NewNRGBA(src.Rect)
		draw.Draw(opaque, opaque.Rect, src, image.Point{}, draw.Src)
		translucent := image.NewNRGBA(src.Rect)
		draw.Draw(translucent, translucent.Rect, src, image.Point{}, draw.Src)
		translucent.Pix[4*1000+3] = 128
		odd := opaque.SubImage(image.Rect(3, 5, 333, 251)) // origin not at 0,0, sides not multiples of 16
		for kind, img := range map[string]image.Image{"nrgba": opaque, "rgba": src, "translucent": translucent, "sub-image": odd} {
			t.Run(name+"/"+kind, func(t *testing.T) {
				var want bytes.Buffer
				if err := jpeg.Encode(&want, img, &jpeg.Options{Quality: 90}); err != nil {
					t.Fatal(err)
				}
				for _, cores := range []int{1, 2, 7} {
					got, err := EncodeJPEGOn(par.NewPool(cores), img, 90)
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(got, want.Bytes()) {
						t.Errorf("%d cores: %d bytes differ from the encoder's own %d", cores, len(got), want.Len())
					}
				}
			})
		}
	}
}

// BenchmarkPlumbing reports ms per image for the worker's decode (a
// 12-megapixel camera JPEG, as phones send, and the 2-megapixel PNG), its
// scale-down to 1024 px, and the output's encode, on GOMAXPROCS cores
// (-cpu 1,2).
func BenchmarkPlumbing(b *testing.B) {
	src, err := Decode(samples.Astronaut())
	if err != nil {
		b.Fatal(err)
	}
	big := image.NewRGBA(image.Rect(0, 0, 4032, 3024))
	for y := 0; y < 3024; y += src.Rect.Dy() {
		for x := 0; x < 4032; x += src.Rect.Dx() {
			draw.Draw(big, src.Rect.Add(image.Pt(x, y)), src, image.Point{}, draw.Src)
		}
	}
	var phone bytes.Buffer
	if err := jpeg.Encode(&phone, big, &jpeg.Options{Quality: 90}); err != nil {
		b.Fatal(err)
	}
	out := image.NewNRGBA(image.Rect(0, 0, 1024, 1024))
	draw.Draw(out, out.Rect, Fit(big, 1024), image.Point{}, draw.Src)
	for _, bc := range []struct {
		name string
		run  func(pool *par.Pool) error
	}{
		{"decode-jpeg-12mp", func(pool *par.Pool) error { _, err := DecodeOn(pool, phone.Bytes()); return err }},
		{"decode-png-astronaut", func(pool *par.Pool) error { _, err := DecodeOn(pool, samples.Astronaut()); return err }},
		{"fit-12mp-to-1024", func(*par.Pool) error { Fit(big, 1024); return nil }},
		{"encode-1024", func(pool *par.Pool) error { _, err := EncodeJPEGOn(pool, out, 90); return err }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			pool := par.NewPool(0)
			for b.Loop() {
				if err := bc.run(pool); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/image")
		})
	}
}
