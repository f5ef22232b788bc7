package photo

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/jpeg"
	"image/png"
	"strings"
	"testing"
)

// The walks are tested here on hand-built files, so that each rule is hit on
// its own; the Gateway's tests run them on real encoders' output.

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// seg builds a JPEG marker segment.
func seg(marker byte, body ...byte) []byte {
	n := len(body) + 2
	return cat([]byte{0xFF, marker, byte(n >> 8), byte(n)}, body)
}

var (
	soi     = []byte{0xFF, 0xD8}
	eoi     = []byte{0xFF, 0xD9}
	dqt     = seg(0xDB, append([]byte{0}, make([]byte, 64)...)...)
	dht     = seg(0xC4, append([]byte{0}, make([]byte, 16)...)...)
	sof0    = seg(0xC0, 8, 0, 48, 0, 64, 1, 1, 0x11, 0) // 64x48, one component
	sos     = seg(0xDA, 1, 1, 0x00, 0, 63, 0)
	scan    = []byte{0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56, 0xFF, 0xFF, 0x00, 0x78}
	minJPEG = cat(soi, dqt, sof0, dht, sos, scan, eoi)
)

// chunk builds a PNG chunk with its CRC.
func chunk(typ string, body []byte) []byte {
	c := cat([]byte{0, 0, 0, 0}, []byte(typ), body, []byte{0, 0, 0, 0})
	binary.BigEndian.PutUint32(c, uint32(len(body)))
	binary.BigEndian.PutUint32(c[len(c)-4:], crc32.ChecksumIEEE(c[4:len(c)-4]))
	return c
}

var (
	ihdr   = chunk("IHDR", []byte{0, 0, 0, 64, 0, 0, 0, 48, 8, 0, 0, 0, 0})
	idat   = chunk("IDAT", []byte{1, 2, 3})
	iend   = chunk("IEND", nil)
	text   = chunk("tEXt", []byte("k\x00v"))
	minPNG = cat(pngSignature, ihdr, idat, idat, text, iend)
)

// riff wraps WebP chunks in a RIFF container with the right size.
func riff(chunks ...[]byte) []byte {
	body := cat(chunks...)
	return cat([]byte("RIFF"), binary.LittleEndian.AppendUint32(nil, uint32(4+len(body))), []byte("WEBP"), body)
}

// wchunk builds a RIFF chunk, padded to an even length.
func wchunk(id string, body []byte) []byte {
	c := cat([]byte(id), binary.LittleEndian.AppendUint32(nil, uint32(len(body))), body)
	if len(body)%2 == 1 {
		c = append(c, 0)
	}
	return c
}

// vp8 is a key frame header for w x h with a first partition of part bytes.
func vp8(w, h, part int) []byte {
	tag := uint32(part) << 5 // bit 0 clear: key frame
	b := []byte{byte(tag), byte(tag >> 8), byte(tag >> 16), 0x9d, 0x01, 0x2a, byte(w), byte(w >> 8), byte(h), byte(h >> 8)}
	return append(b, make([]byte, part)...)
}

func vp8l(w, h int) []byte {
	bits := uint32(w-1) | uint32(h-1)<<14
	return append([]byte{0x2F}, binary.LittleEndian.AppendUint32(nil, bits)...)
}

func vp8x(w, h int) []byte {
	w, h = w-1, h-1
	return []byte{0, 0, 0, 0, byte(w), byte(w >> 8), byte(w >> 16), byte(h), byte(h >> 8), byte(h >> 16)}
}

func encoded(t *testing.T, enc func(*bytes.Buffer, image.Image) error) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, 64, 48))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	var buf bytes.Buffer
	if err := enc(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestCheck(t *testing.T) {
	goJPEG := encoded(t, func(b *bytes.Buffer, m image.Image) error { return jpeg.Encode(b, m, nil) })
	goPNG := encoded(t, func(b *bytes.Buffer, m image.Image) error { return png.Encode(b, m) })
	tests := []struct {
		name    string
		check   func([]byte) error
		data    []byte
		wantErr string // "" when the file must pass
		// tail is how many bytes at the end may be cut off with the
		// file still passing: a passing file is cut at every offset
		// before that and must then fail.
		tail int
	}{
		{"jpeg from image/jpeg", checkJPEG, goJPEG, "", 0},
		{"jpeg minimal", checkJPEG, minJPEG, "", 0},
		{"jpeg fill bytes and a stray RST", checkJPEG, cat(soi, []byte{0xFF, 0xFF}, dqt, []byte{0xFF, 0xD3}, sof0, dht, sos, scan, eoi), "", 0},
		{"jpeg app1 holding a thumbnail", checkJPEG, cat(soi, seg(0xE1, minJPEG...), dqt, sof0, dht, sos, scan, eoi), "", 0},
		{"jpeg progressive, tables between scans", checkJPEG, cat(soi, dqt, seg(0xC2, sof0[4:]...), dht, sos, scan, dht, sos, scan, eoi), "", 0},
		{"jpeg trailing bytes after EOI", checkJPEG, cat(minJPEG, []byte("motion photo video")), "", len("motion photo video")},
		{"jpeg no SOI", checkJPEG, minJPEG[2:], "SOI", 0},
		{"jpeg no EOI", checkJPEG, minJPEG[:len(minJPEG)-2], "truncated", 0},
		{"jpeg ends in a fill byte", checkJPEG, minJPEG[:len(minJPEG)-1], "truncated", 0},
		{"jpeg ends inside a header", checkJPEG, cat(soi, dqt[:10]), "does not fit", 0},
		{"jpeg ends after a marker", checkJPEG, cat(soi, dqt[:2]), "no length", 0},
		{"jpeg segment length too long", checkJPEG, cat(soi, []byte{0xFF, 0xE0, 1, 0, 1, 2}, minJPEG[2:]), "does not fit", 0},
		{"jpeg segment length below 2", checkJPEG, cat(soi, []byte{0xFF, 0xE0, 0, 1}, dqt), "does not fit", 0},
		{"jpeg segment length off by one", checkJPEG, cat(soi, []byte{0xFF, 0xE0, 0, 4, 0}, dqt, sof0, dht, sos, scan, eoi), "where a marker should start", 0},
		{"jpeg junk between segments", checkJPEG, cat(soi, dqt, []byte{0}, sof0, dht, sos, scan, eoi), "where a marker should start", 0},
		{"jpeg SOS before SOF", checkJPEG, cat(soi, dqt, dht, sos, scan, sof0, eoi), "SOS before SOF", 0},
		{"jpeg SOS before DHT", checkJPEG, cat(soi, dqt, sof0, sos, scan, eoi), "tables", 0},
		{"jpeg SOS before DQT", checkJPEG, cat(soi, sof0, dht, sos, scan, eoi), "tables", 0},
		{"jpeg EOI before any scan", checkJPEG, cat(soi, dqt, sof0, dht, eoi), "EOI before any scan", 0},
		{"jpeg two SOFs", checkJPEG, cat(soi, dqt, sof0, sof0, dht, sos, scan, eoi), "more than one SOF", 0},
		{"jpeg SOF too short", checkJPEG, cat(soi, dqt, seg(0xC0, 8, 0, 48, 0, 64), dht, sos, scan, eoi), "SOF", 0},
		{"jpeg SOF component count lies", checkJPEG, cat(soi, dqt, seg(0xC0, 8, 0, 48, 0, 64, 3, 1, 0x11, 0), dht, sos, scan, eoi), "SOF", 0},
		{"jpeg SOF zero width", checkJPEG, cat(soi, dqt, seg(0xC0, 8, 0, 48, 0, 0, 1, 1, 0x11, 0), dht, sos, scan, eoi), "zero dimension", 0},
		{"jpeg SOS length lies", checkJPEG, cat(soi, dqt, sof0, dht, seg(0xDA, 2, 1, 0, 0, 63, 0), scan, eoi), "SOS", 0},
		{"jpeg arithmetic coding", checkJPEG, cat(soi, dqt, seg(0xC9, sof0[4:]...), dht, sos, scan, eoi), "unsupported marker 0xc9", 0},
		{"jpeg scan runs to the end", checkJPEG, cat(soi, dqt, sof0, dht, sos, scan), "truncated", 0},

		{"png from image/png", checkPNG, goPNG, "", 0},
		{"png minimal", checkPNG, minPNG, "", 0},
		{"png no signature", checkPNG, minPNG[1:], "signature", 0},
		{"png first chunk not IHDR", checkPNG, cat(pngSignature, text, ihdr, idat, iend), "not IHDR", 0},
		{"png IHDR too short", checkPNG, cat(pngSignature, chunk("IHDR", make([]byte, 12)), idat, iend), "IHDR", 0},
		{"png second IHDR", checkPNG, cat(pngSignature, ihdr, ihdr, idat, iend), "IHDR", 0},
		{"png no IDAT", checkPNG, cat(pngSignature, ihdr, text, iend), "no IDAT", 0},
		{"png IDATs apart", checkPNG, cat(pngSignature, ihdr, idat, text, idat, iend), "not consecutive", 0},
		{"png no IEND", checkPNG, cat(pngSignature, ihdr, idat), "truncated", 0},
		{"png bytes after IEND", checkPNG, cat(minPNG, []byte{0}), "after IEND", 0},
		{"png chunk length past the end", checkPNG, cat(pngSignature, ihdr, idat[:3], []byte{0x40}, idat[4:], iend), "does not fit", 0},
		{"png chunk length over 2^31-1", checkPNG, cat(pngSignature, ihdr, []byte{0x80}, idat[1:], iend), "does not fit", 0},
		{"png CRC wrong", checkPNG, cat(pngSignature, ihdr, idat[:len(idat)-1], []byte{idat[len(idat)-1] ^ 1}, iend), "CRC", 0},

		{"webp lossy", checkWebP, riff(wchunk("VP8 ", vp8(64, 48, 5))), "", 0},
		{"webp lossless", checkWebP, riff(wchunk("VP8L", vp8l(64, 48))), "", 0},
		{"webp extended", checkWebP, riff(wchunk("VP8X", vp8x(64, 48)), wchunk("ICCP", []byte{1}), wchunk("VP8L", vp8l(64, 48)), wchunk("EXIF", []byte{1, 2, 3})), "", 0},
		{"webp odd last chunk, pad byte left out of the RIFF size", checkWebP, fixSize(cat(riff(wchunk("VP8L", vp8l(64, 48))), []byte("XMP \x01\x00\x00\x00x\x00")), -1), "", 1},
		{"webp odd last chunk without its pad byte", checkWebP, fixSize(cat(riff(wchunk("VP8L", vp8l(64, 48))), []byte("XMP \x01\x00\x00\x00x")), 0), "", 0},
		{"webp not RIFF", checkWebP, []byte("RIFX\x04\x00\x00\x00WEBP"), "RIFF", 0},
		{"webp RIFF size too big", checkWebP, fixSize(riff(wchunk("VP8L", vp8l(64, 48))), 2), "truncated", 0},
		{"webp RIFF size too small", checkWebP, fixSize(riff(wchunk("VP8L", vp8l(64, 48))), -2), "RIFF size", 0},
		{"webp one byte appended", checkWebP, cat(riff(wchunk("VP8L", vp8l(64, 48))), []byte{0}), "RIFF size", 0},
		{"webp chunk size past the end", checkWebP, riff([]byte("VP8L\x40\x00\x00\x00"), vp8l(64, 48)), "does not fit", 0},
		{"webp short chunk header", checkWebP, riff(wchunk("VP8L", vp8l(64, 48)), []byte("EXIF")), "chunk header", 0},
		{"webp first chunk unknown", checkWebP, riff(wchunk("EXIF", []byte{1, 2}), wchunk("VP8L", vp8l(64, 48))), "first chunk", 0},
		{"webp no image chunk", checkWebP, riff(wchunk("VP8X", vp8x(64, 48)), wchunk("ANIM", make([]byte, 6)), wchunk("ANMF", make([]byte, 16))), "no VP8", 0},
		{"webp VP8X short", checkWebP, riff(wchunk("VP8X", vp8x(64, 48)[:9]), wchunk("VP8L", vp8l(64, 48))), "VP8X", 0},
		{"webp image not the canvas size", checkWebP, riff(wchunk("VP8X", vp8x(64, 48)), wchunk("VP8 ", vp8(64, 47, 0))), "canvas", 0},
		{"webp VP8 short", checkWebP, riff(wchunk("VP8 ", vp8(64, 48, 0)[:9])), "VP8 frame header", 0},
		{"webp VP8 not a key frame", checkWebP, riff(wchunk("VP8 ", with(vp8(64, 48, 0), 0, 1))), "key frame", 0},
		{"webp VP8 start code", checkWebP, riff(wchunk("VP8 ", with(vp8(64, 48, 0), 5, 0))), "start code", 0},
		{"webp VP8 partition past the chunk", checkWebP, riff(wchunk("VP8 ", vp8(64, 48, 5)[:14])), "partition", 0},
		{"webp VP8 zero height", checkWebP, riff(wchunk("VP8 ", vp8(64, 0, 0))), "zero dimension", 0},
		{"webp VP8L signature", checkWebP, riff(wchunk("VP8L", with(vp8l(64, 48), 0, 0x2E))), "signature", 0},
		{"webp VP8L version", checkWebP, riff(wchunk("VP8L", with(vp8l(64, 48), 4, 0x20))), "version", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.check(tc.data)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("check = %v, want nil", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("check = %v, want an error about %q", err, tc.wantErr)
			}
			if tc.wantErr != "" {
				return
			}
			// A file that passes must fail once cut short, wherever the
			// cut is.
			for n := range len(tc.data) - tc.tail {
				if err := tc.check(tc.data[:n]); err == nil {
					t.Fatalf("check accepted the first %d of %d bytes", n, len(tc.data))
				}
			}
		})
	}
}

// with returns a copy of b with b[i] = v.
func with(b []byte, i int, v byte) []byte {
	b = bytes.Clone(b)
	b[i] = v
	return b
}

// fixSize sets a RIFF file's size field to its length minus 8, plus delta.
func fixSize(data []byte, delta int) []byte {
	binary.LittleEndian.PutUint32(data[4:], uint32(len(data)-8+delta))
	return data
}

// TestCheckAllocs keeps the walks free of allocation on good files: the
// Gateway runs one per upload.
func TestCheckAllocs(t *testing.T) {
	files := []struct {
		check func([]byte) error
		data  []byte
	}{
		{checkJPEG, minJPEG},
		{checkPNG, minPNG},
		{checkWebP, riff(wchunk("VP8X", vp8x(64, 48)), wchunk("VP8 ", vp8(64, 48, 5)))},
	}
	for _, f := range files {
		if n := testing.AllocsPerRun(10, func() { _ = f.check(f.data) }); n != 0 {
			t.Errorf("%T on %q: %v allocations, want 0", f.check, f.data[:4], n)
		}
	}
}

func TestFormatsHaveCheck(t *testing.T) {
	for ct, f := range formats {
		if f.Check == nil || f.Decode == nil || f.DecodeConfig == nil || f.ContentType != ct {
			t.Errorf("format %s is incomplete: %+v", ct, f)
		}
	}
}
