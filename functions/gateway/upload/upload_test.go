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
	"path/filepath"
	"testing"

	"github.com/tigerstudio/studio/infra/photo"
)

var testLimits = Limits{MaxBytes: 1 << 20, MaxPixels: 4_000_000, MinSide: 16, MaxAspect: 4}

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

// The JPEG and WebP files in testdata were made once, from a 96x72 test
// card, with tools image/jpeg and x/image cannot stand in for:
//
//	cjpeg -quality 85 -progressive          -> progressive.jpg (10 scans)
//	cjpeg -quality 85 -restart 1            -> restart.jpg (RST markers)
//	cwebp -lossless                         -> lossless.webp (VP8L)
//	cwebp -q 80, from a card with alpha     -> alpha.webp (VP8X, ALPH, VP8)
//	webpmux -set exif on lossless.webp      -> exif-lossless.webp (VP8X, VP8L, EXIF)
//	img2webp -lossy, two frames             -> animated.webp (VP8X, ANIM, ANMF)
//
// photo.webp is a 40x30 lossy (VP8) file.
func fixture(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// withThumbnail puts an EXIF-style APP1 segment holding a whole JPEG (with
// its own SOI and EOI) after the SOI of jpg, as cameras do.
func withThumbnail(t testing.TB, jpg []byte) []byte {
	t.Helper()
	body := append([]byte("Exif\x00\x00"), encodeJPEG(t, 16, 16)...)
	n := len(body) + 2
	app1 := append([]byte{0xFF, 0xE1, byte(n >> 8), byte(n)}, body...)
	return bytes.Join([][]byte{jpg[:2], app1, jpg[2:]}, nil)
}

// mutate returns a changed copy of data.
func mutate(data []byte, change func([]byte) []byte) []byte {
	return change(bytes.Clone(data))
}

// index is the offset of sep in data after from, or a panic when absent:
// the fixtures are known to hold it.
func index(data []byte, sep string, from int) int {
	i := bytes.Index(data[from:], []byte(sep))
	if i < 0 {
		panic("fixture lacks " + sep)
	}
	return from + i
}

func TestValidate(t *testing.T) {
	jpg := encodeJPEG(t, 64, 48)
	pngData := encodePNG(t, 32, 16)
	webpData := fixture(t, "photo.webp")
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
		{"jpeg progressive", fixture(t, "progressive.jpg"), "image/jpeg", Image{"image/jpeg", "jpg", 96, 72}, nil},
		{"jpeg with restart markers", fixture(t, "restart.jpg"), "image/jpeg", Image{"image/jpeg", "jpg", 96, 72}, nil},
		{"jpeg with a thumbnail", withThumbnail(t, jpg), "image/jpeg", Image{"image/jpeg", "jpg", 64, 48}, nil},
		{"jpeg with data after EOI", append(bytes.Clone(jpg), "\x00\x00ftypmp42 motion photo"...), "image/jpeg", Image{"image/jpeg", "jpg", 64, 48}, nil},
		{"png", pngData, "image/png", Image{"image/png", "png", 32, 16}, nil},
		{"webp", webpData, "image/webp", Image{"image/webp", "webp", 40, 30}, nil},
		{"webp lossless", fixture(t, "lossless.webp"), "image/webp", Image{"image/webp", "webp", 96, 72}, nil},
		{"webp with alpha", fixture(t, "alpha.webp"), "image/webp", Image{"image/webp", "webp", 96, 72}, nil},
		{"webp extended lossless", fixture(t, "exif-lossless.webp"), "image/webp", Image{"image/webp", "webp", 96, 72}, nil},
		{"not an image", []byte("hello, this is text"), "image/jpeg", Image{}, ErrUnsupported},
		{"empty", nil, "", Image{}, ErrUnsupported},
		{"heic", heic, "image/heic", Image{}, ErrUnsupported},
		{"heic declared as jpeg", heic, "image/jpeg", Image{}, ErrUnsupported},
		{"png declared as jpeg", pngData, "image/jpeg", Image{}, ErrMismatch},
		{"jpeg declared as text", jpg, "text/plain", Image{}, ErrMismatch},
		{"truncated jpeg", jpg[:len(jpg)/2], "image/jpeg", Image{}, ErrCorrupt},
		{"truncated png", pngData[:len(pngData)-20], "image/png", Image{}, ErrCorrupt},
		{"too many bytes", bytes.Repeat([]byte{0xFF}, int(testLimits.MaxBytes)+1), "image/jpeg", Image{}, ErrTooLarge},
		{"pixel bomb", pngBomb(t, 60000, 60000), "image/png", Image{}, ErrTooManyPixel},
		{"zero width", pngBomb(t, 0, 10), "image/png", Image{}, ErrCorrupt},
		{"too thin", encodePNG(t, 15, 40), "image/png", Image{}, ErrDegenerate},
		{"too elongated", encodePNG(t, 200, 40), "image/png", Image{}, ErrDegenerate},
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

// TestValidateCorrupt damages files where only the structural walk can see
// it (after the headers DecodeConfig reads) as well as where it cannot.
func TestValidateCorrupt(t *testing.T) {
	jpg := encodeJPEG(t, 64, 48)
	pngData := encodePNG(t, 32, 16)
	progressive := fixture(t, "progressive.jpg")
	// The DHT segment between the first and second scans.
	dhtAfterScan := index(progressive, "\xFF\xC4", index(progressive, "\xFF\xDA", 0))
	webpData := fixture(t, "photo.webp")
	alpha := fixture(t, "alpha.webp")
	alphaVP8 := index(alpha, "VP8 ", 0)

	tests := []struct {
		name    string
		data    []byte
		wantErr error
	}{
		{"png IDAT byte flipped", mutate(pngData, func(b []byte) []byte { b[index(b, "IDAT", 0)+10] ^= 0x40; return b }), ErrCorrupt},
		{"png IEND CRC flipped", mutate(pngData, func(b []byte) []byte { b[len(b)-1] ^= 1; return b }), ErrCorrupt},
		{"png data after IEND", append(bytes.Clone(pngData), 0), ErrCorrupt},
		{"jpeg DQT length past the end", mutate(jpg, func(b []byte) []byte { b[4], b[5] = 0xFF, 0xFF; return b }), ErrCorrupt},
		{"jpeg DHT between scans: length past the end", mutate(progressive, func(b []byte) []byte { b[dhtAfterScan+2], b[dhtAfterScan+3] = 0xFF, 0xFF; return b }), ErrCorrupt},
		{"jpeg DHT between scans: length off by one", mutate(progressive, func(b []byte) []byte { b[dhtAfterScan+3]++; return b }), ErrCorrupt},
		{"jpeg EOI overwritten", mutate(jpg, func(b []byte) []byte { b[len(b)-2], b[len(b)-1] = 0, 0; return b }), ErrCorrupt},
		{"jpeg arithmetic coded", mutate(jpg, func(b []byte) []byte { b[index(b, "\xFF\xC0", 0)+1] = 0xC9; return b }), ErrCorrupt},
		{"webp RIFF size too big", mutate(webpData, func(b []byte) []byte { b[4] += 2; return b }), ErrCorrupt},
		{"webp RIFF size too small", mutate(webpData, func(b []byte) []byte { b[4] -= 2; return b }), ErrCorrupt},
		{"webp data after RIFF", append(bytes.Clone(webpData), 0, 0), ErrCorrupt},
		{"webp VP8 size past the end", mutate(webpData, func(b []byte) []byte { b[17] = 0x10; return b }), ErrCorrupt},
		{"webp VP8 start code after VP8X", mutate(alpha, func(b []byte) []byte { b[alphaVP8+8+3] = 0; return b }), ErrCorrupt},
		{"webp canvas bigger than the image", mutate(alpha, func(b []byte) []byte { b[12+8+4]++; return b }), ErrCorrupt},
		{"webp animated", fixture(t, "animated.webp"), ErrCorrupt},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Validate(tc.data, "", testLimits); !errors.Is(err, tc.wantErr) {
				t.Fatalf("Validate error = %v, want %v", err, tc.wantErr)
			}
		})
	}
}

// TestValidateTruncated cuts every fixture at every offset. The full decode
// this walk replaced refused all of these cuts but a few (it stopped reading
// a WebP at its image chunk, so a cut inside a later EXIF chunk, or of the
// last padding byte, passed); the walk must refuse every one.
func TestValidateTruncated(t *testing.T) {
	files := map[string][]byte{
		"image/jpeg":     encodeJPEG(t, 64, 48),
		"jpeg thumbnail": withThumbnail(t, encodeJPEG(t, 64, 48)),
		"image/png":      encodePNG(t, 48, 40),
	}
	for _, name := range []string{"progressive.jpg", "restart.jpg", "photo.webp", "lossless.webp", "alpha.webp", "exif-lossless.webp"} {
		files[name] = fixture(t, name)
	}
	for name, data := range files {
		t.Run(name, func(t *testing.T) {
			img, err := Validate(data, "", testLimits)
			if err != nil {
				t.Fatalf("whole file: %v", err)
			}
			f, _ := photo.Of(data)
			if _, err := f.Decode(bytes.NewReader(data)); err != nil {
				t.Fatalf("the whole %s does not decode: %v", img.ContentType, err)
			}
			for n := range len(data) {
				_, err := Validate(data[:n], "", testLimits)
				if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnsupported) {
					t.Fatalf("first %d of %d bytes: error = %v, want %v", n, len(data), err, ErrCorrupt)
				}
			}
		})
	}
}

func TestValidateShape(t *testing.T) {
	shape := Limits{MaxBytes: 1 << 20, MaxPixels: 25_000_000, MinSide: 64, MaxAspect: 4}
	off := Limits{MaxBytes: 1 << 20, MaxPixels: 25_000_000}
	tests := []struct {
		name    string
		data    []byte
		lim     Limits
		wantErr error
	}{
		{"1 x 25,000,000", pngBomb(t, 1, 25_000_000), shape, ErrDegenerate},
		{"25,000,000 x 1", pngBomb(t, 25_000_000, 1), shape, ErrDegenerate},
		{"pixel bound first", pngBomb(t, 1, 25_000_001), shape, ErrTooManyPixel},
		{"side below the minimum", pngBomb(t, 63, 200), shape, ErrDegenerate},
		{"side at the minimum", pngBomb(t, 200, 64), shape, nil},
		{"4:1", pngBomb(t, 64, 256), shape, nil},
		{"just over 4:1", pngBomb(t, 64, 257), shape, ErrDegenerate},
		{"square", pngBomb(t, 4000, 4000), shape, nil},
		{"encoded strip", encodePNG(t, 300, 70), shape, ErrDegenerate},
		{"fractional aspect", pngBomb(t, 100, 151), Limits{MaxBytes: 1 << 20, MaxPixels: 1 << 20, MaxAspect: 1.5}, ErrDegenerate},
		{"within fractional aspect", pngBomb(t, 100, 150), Limits{MaxBytes: 1 << 20, MaxPixels: 1 << 20, MaxAspect: 1.5}, nil},
		{"checks off: 1 x 25,000,000", pngBomb(t, 1, 25_000_000), off, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Validate(tc.data, "image/png", tc.lim); !errors.Is(err, tc.wantErr) {
				t.Fatalf("Validate error = %v, want %v", err, tc.wantErr)
			}
		})
	}
}

// FuzzValidate checks Validate never panics and that whatever it accepts is
// within the limits and sniffs as the type it reports. (It no longer
// promises a decode: damage inside compressed data is the worker's to find.)
func FuzzValidate(f *testing.F) {
	f.Add(encodeJPEG(f, 8, 8), "image/jpeg")
	f.Add(withThumbnail(f, encodeJPEG(f, 8, 8)), "image/jpeg")
	f.Add(encodePNG(f, 8, 8), "image/png")
	f.Add(pngBomb(f, 60000, 60000), "image/png")
	for _, name := range []string{"photo.webp", "lossless.webp", "alpha.webp", "exif-lossless.webp", "animated.webp", "progressive.jpg", "restart.jpg"} {
		f.Add(fixture(f, name), "")
	}
	f.Add([]byte("RIFF\x00\x00\x00\x00WEBPVP8 "), "")
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xE0}, "image/jpeg")
	lim := Limits{MaxBytes: 1 << 16, MaxPixels: 1 << 16, MinSide: 8, MaxAspect: 4}
	f.Fuzz(func(t *testing.T, data []byte, declared string) {
		img, err := Validate(data, declared, lim)
		if err != nil {
			return
		}
		w, h := img.Width, img.Height
		if int64(w)*int64(h) > lim.MaxPixels || min(w, h) < lim.MinSide || float64(max(w, h)) > lim.MaxAspect*float64(min(w, h)) {
			t.Fatalf("accepted %dx%d beyond limits", w, h)
		}
		if photo.Sniff(data) != img.ContentType {
			t.Fatalf("accepted type %s but sniffed %s", img.ContentType, photo.Sniff(data))
		}
	})
}
