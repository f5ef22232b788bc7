package upload

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"testing"

	"github.com/tigerstudio/studio/infra/photo"
)

var testLimits = Limits{MaxBytes: 1 << 20, MaxPixels: 4_000_000}

func testImage(w, h int) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), uint8(x + y), 255})
		}
	}
	return img
}

func encodeJPEG(t testing.TB, w, h int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, testImage(w, h), nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func encodePNG(t testing.TB, w, h int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, testImage(w, h)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// pngBomb returns a small valid-looking PNG whose header claims w x h pixels.
func pngBomb(t testing.TB, w, h uint32) []byte {
	t.Helper()
	data := encodePNG(t, 1, 1)
	// IHDR data starts after the 8-byte signature, 4-byte length, 4-byte type.
	ihdr := data[8+8 : 8+8+13]
	binary.BigEndian.PutUint32(ihdr[0:4], w)
	binary.BigEndian.PutUint32(ihdr[4:8], h)
	crc := crc32.ChecksumIEEE(data[8+4 : 8+8+13])
	binary.BigEndian.PutUint32(data[8+8+13:], crc)
	return data
}

func TestValidate(t *testing.T) {
	jpg := encodeJPEG(t, 64, 48)
	pngData := encodePNG(t, 32, 16)
	webpData, err := os.ReadFile("testdata/photo.webp")
	if err != nil {
		t.Fatal(err)
	}
	heic := append([]byte{0, 0, 0, 24}, []byte("ftypheic\x00\x00\x00\x00mif1heic")...)

	tests := []struct {
		name     string
		data     []byte
		declared string
		want     Image
		wantErr  error
	}{
		{"jpeg", jpg, "image/jpeg", Image{"image/jpeg", "jpg", 64, 48}, nil},
		{"jpeg declared as image/jpg", jpg, "image/jpg", Image{"image/jpeg", "jpg", 64, 48}, nil},
		{"jpeg undeclared", jpg, "", Image{"image/jpeg", "jpg", 64, 48}, nil},
		{"jpeg as octet-stream", jpg, "application/octet-stream", Image{"image/jpeg", "jpg", 64, 48}, nil},
		{"png", pngData, "image/png", Image{"image/png", "png", 32, 16}, nil},
		{"webp", webpData, "image/webp", Image{"image/webp", "webp", 40, 30}, nil},
		{"not an image", []byte("hello, this is text"), "image/jpeg", Image{}, ErrUnsupported},
		{"empty", nil, "", Image{}, ErrUnsupported},
		{"heic", heic, "image/heic", Image{}, ErrUnsupported},
		{"png declared as jpeg", pngData, "image/jpeg", Image{}, ErrMismatch},
		{"jpeg declared as text", jpg, "text/plain", Image{}, ErrMismatch},
		{"truncated jpeg", jpg[:len(jpg)/2], "image/jpeg", Image{}, ErrCorrupt},
		{"truncated png", pngData[:len(pngData)-20], "image/png", Image{}, ErrCorrupt},
		{"too many bytes", bytes.Repeat([]byte{0xFF}, int(testLimits.MaxBytes)+1), "image/jpeg", Image{}, ErrTooLarge},
		{"pixel bomb", pngBomb(t, 60000, 60000), "image/png", Image{}, ErrTooManyPixel},
		{"zero width", pngBomb(t, 0, 10), "image/png", Image{}, ErrCorrupt},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Validate(tc.data, tc.declared, testLimits)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Validate error = %v, want %v", err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("Validate = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// FuzzValidate checks Validate never panics and that whatever it accepts is
// within the limits and decodes.
func FuzzValidate(f *testing.F) {
	f.Add(encodeJPEG(f, 8, 8), "image/jpeg")
	f.Add(encodePNG(f, 8, 8), "image/png")
	f.Add(pngBomb(f, 60000, 60000), "image/png")
	if webpData, err := os.ReadFile("testdata/photo.webp"); err == nil {
		f.Add(webpData, "image/webp")
	}
	f.Add([]byte("RIFF\x00\x00\x00\x00WEBPVP8 "), "")
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xE0}, "image/jpeg")
	lim := Limits{MaxBytes: 1 << 16, MaxPixels: 1 << 16}
	f.Fuzz(func(t *testing.T, data []byte, declared string) {
		img, err := Validate(data, declared, lim)
		if err != nil {
			return
		}
		if int64(img.Width)*int64(img.Height) > lim.MaxPixels || img.Width <= 0 || img.Height <= 0 {
			t.Fatalf("accepted %dx%d beyond limits", img.Width, img.Height)
		}
		if photo.Sniff(data) != img.ContentType {
			t.Fatalf("accepted type %s but sniffed %s", img.ContentType, photo.Sniff(data))
		}
	})
}
