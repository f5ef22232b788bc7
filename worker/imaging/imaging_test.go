package imaging

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
	"testing"
)

// marked is a 3x2 image whose stored top-left pixel is red, rest black.
func marked() *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, 3, 2))
	for i := 3; i < len(img.Pix); i += 4 {
		img.Pix[i] = 255
	}
	img.Set(0, 0, color.RGBA{255, 0, 0, 255})
	return img
}

func TestOrient(t *testing.T) {
	// Where the stored top-left pixel ends up once the image is upright.
	tests := []struct {
		orientation int
		w, h        int
		red         image.Point
	}{
		{1, 3, 2, image.Pt(0, 0)},
		{2, 3, 2, image.Pt(2, 0)},
		{3, 3, 2, image.Pt(2, 1)},
		{4, 3, 2, image.Pt(0, 1)},
		{5, 2, 3, image.Pt(0, 0)},
		{6, 2, 3, image.Pt(1, 0)},
		{7, 2, 3, image.Pt(1, 2)},
		{8, 2, 3, image.Pt(0, 2)},
		{0, 3, 2, image.Pt(0, 0)},
	}
	for _, tc := range tests {
		got := Orient(marked(), tc.orientation)
		if got.Bounds().Dx() != tc.w || got.Bounds().Dy() != tc.h {
			t.Errorf("orientation %d: size %v, want %dx%d", tc.orientation, got.Bounds().Size(), tc.w, tc.h)
			continue
		}
		if r := got.RGBAAt(tc.red.X, tc.red.Y); r.R != 255 {
			t.Errorf("orientation %d: red pixel not at %v", tc.orientation, tc.red)
		}
	}
}

// withExif inserts an APP1 Exif segment carrying orientation into a JPEG.
func withExif(t *testing.T, jpg []byte, orientation uint16, order binary.ByteOrder) []byte {
	t.Helper()
	var tiff bytes.Buffer
	if order == binary.LittleEndian {
		tiff.WriteString("II")
	} else {
		tiff.WriteString("MM")
	}
	w := func(v any) { _ = binary.Write(&tiff, order, v) }
	w(uint16(42))
	w(uint32(8))      // IFD0 offset
	w(uint16(1))      // one entry
	w(uint16(0x0112)) // orientation
	w(uint16(3))      // SHORT
	w(uint32(1))      // count
	w(orientation)    // value
	w(uint16(0))      // padding
	w(uint32(0))      // no next IFD
	seg := append([]byte("Exif\x00\x00"), tiff.Bytes()...)
	app1 := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(app1[2:], uint16(len(seg)+2))
	out := append([]byte{}, jpg[:2]...)
	out = append(out, app1...)
	out = append(out, seg...)
	return append(out, jpg[2:]...)
}

func TestDecodeAppliesExifOrientation(t *testing.T) {
	src := image.NewRGBA(image.Rect(0, 0, 64, 32))
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, src, nil); err != nil {
		t.Fatal(err)
	}
	for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		img, err := Decode(withExif(t, buf.Bytes(), 6, order))
		if err != nil {
			t.Fatal(err)
		}
		if got := img.Bounds().Size(); got != image.Pt(32, 64) {
			t.Errorf("%v: decoded %v, want 32x64 (rotated upright)", order, got)
		}
	}
	img, err := Decode(buf.Bytes())
	if err != nil || img.Bounds().Size() != image.Pt(64, 32) {
		t.Errorf("no EXIF: %v %v", img.Bounds(), err)
	}
	if _, err := Decode([]byte("nope")); err == nil {
		t.Error("decoded text")
	}
}

func TestFit(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 400, 100))
	for i := range img.Pix {
		img.Pix[i] = 200
	}
	tests := []struct {
		max  int
		want image.Point
	}{
		{1000, image.Pt(400, 100)},
		{200, image.Pt(200, 50)},
		{3, image.Pt(3, 1)},
	}
	for _, tc := range tests {
		got := Fit(img, tc.max)
		if got.Bounds().Size() != tc.want {
			t.Errorf("Fit(%d) = %v, want %v", tc.max, got.Bounds().Size(), tc.want)
		}
		if got.Pix[0] != 200 {
			t.Errorf("Fit(%d) changed a flat colour to %d", tc.max, got.Pix[0])
		}
	}
}

func TestFitSize(t *testing.T) {
	for _, tc := range []struct{ w, h, max, ww, wh int }{
		{150, 100, 1024, 150, 100},
		{4000, 3000, 1024, 1024, 768},
		{3000, 4000, 1000, 750, 1000},
		{5000, 1, 100, 100, 1},
	} {
		if w, h := FitSize(tc.w, tc.h, tc.max); w != tc.ww || h != tc.wh {
			t.Errorf("FitSize(%d, %d, %d) = %d, %d, want %d, %d", tc.w, tc.h, tc.max, w, h, tc.ww, tc.wh)
		}
	}
}
