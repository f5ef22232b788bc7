package upload

import (
	"bytes"
	"image"
	"image/jpeg"
	"math/rand/v2"
	"testing"
)

// noisyJPEG encodes a w x h photo-like image: smooth gradients with mild
// noise, so the entropy-coded data is about as dense as a camera's.
func noisyJPEG(b *testing.B, w, h int) []byte {
	b.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	r := rand.New(rand.NewPCG(1, 2))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := img.PixOffset(x, y)
			n := r.IntN(24)
			img.Pix[i+0] = uint8(x*255/w + n)
			img.Pix[i+1] = uint8(y*255/h + n)
			img.Pix[i+2] = uint8((x+y)*127/(w+h) + n)
			img.Pix[i+3] = 255
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkValidate measures the Gateway's per-upload cost on camera-sized
// JPEGs: go test -bench Validate -benchmem.
func BenchmarkValidate(b *testing.B) {
	for _, size := range []struct {
		name string
		w, h int
	}{{"2MP", 1632, 1224}, {"12MP", 4000, 3000}} {
		b.Run("jpeg_"+size.name, func(b *testing.B) {
			data := noisyJPEG(b, size.w, size.h)
			lim := Limits{MaxBytes: 64 << 20, MaxPixels: 50_000_000}
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Validate(data, "image/jpeg", lim); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
