package photo

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// The Check functions prove a file structurally complete without decoding a
// pixel: every segment or chunk the container declares is present, the
// headers a decoder needs are there, and the file ends where the format says
// it ends. A full decode costs about 20 ms of CPU and 1.5 MB per megapixel;
// these walks cost a pass over the bytes (under a millisecond for a 12-MP
// JPEG) and no allocation. What they cannot see is damage inside the compressed data
// itself (a flipped bit in a JPEG scan or a VP8 partition); the worker's
// decode still refuses that.

// checkJPEG walks the markers from SOI to EOI. Header segments are skipped by
// their declared lengths (so an EXIF thumbnail's own EOI, inside APP1, is
// never mistaken for the end); after each SOS the entropy-coded data is
// skipped up to the next marker, which for a progressive file may be DHT or
// another SOS. Only the markers image/jpeg decodes are accepted, so a file
// that passes is one the worker can read.
//
// Bytes after EOI are allowed: phones append data there (Samsung trailers,
// Google motion-photo videos, MPF secondary images) and every decoder,
// image/jpeg included, stops at EOI. A truncated file has no EOI and is
// refused.
func checkJPEG(data []byte) error {
	if len(data) < 2 || data[0] != 0xFF || data[1] != 0xD8 {
		return errors.New("jpeg: missing SOI marker")
	}
	var w jpegWalk
	pos := 2
	for {
		marker, start, err := nextMarker(data, pos)
		if err != nil {
			return err
		}
		pos = start + 2
		switch {
		case marker == 0xD9: // EOI
			if !w.sawSOS {
				return errors.New("jpeg: EOI before any scan")
			}
			return nil
		case 0xD0 <= marker && marker <= 0xD7:
			// A restart marker between header segments has no length and
			// nothing to restart; image/jpeg ignores it too. (Inside and
			// right after a scan, skipScan passes over them.)
			continue
		}
		if pos+2 > len(data) {
			return fmt.Errorf("jpeg: truncated: marker %#02x has no length", marker)
		}
		n := int(binary.BigEndian.Uint16(data[pos:])) // counts its own two bytes
		if n < 2 || pos+n > len(data) {
			return fmt.Errorf("jpeg: segment %#02x at byte %d: length %d does not fit in %d bytes", marker, pos-2, n, len(data))
		}
		if pos, err = w.segment(data, marker, start, pos+n); err != nil {
			return err
		}
	}
}

// nextMarker finds the marker at pos, after any 0xFF fill bytes, and
// returns its code and where its code's 0xFF starts (one before the code).
func nextMarker(data []byte, pos int) (marker byte, start int, _ error) {
	if pos >= len(data) {
		return 0, 0, errors.New("jpeg: truncated: no EOI marker")
	}
	if data[pos] != 0xFF {
		return 0, 0, fmt.Errorf("jpeg: byte %d is %#02x where a marker should start", pos, data[pos])
	}
	// Any number of 0xFF fill bytes may precede a marker's code.
	for pos < len(data) && data[pos] == 0xFF {
		pos++
	}
	if pos >= len(data) {
		return 0, 0, errors.New("jpeg: truncated: no EOI marker")
	}
	return data[pos], pos - 1, nil
}

// jpegWalk is what checkJPEG has seen so far.
type jpegWalk struct{ sawSOF, sawDHT, sawDQT, sawSOS bool }

// segment checks the header segment with the marker at start, which ends
// at end, and returns where the next marker is: end, or past the scan an
// SOS starts.
func (w *jpegWalk) segment(data []byte, marker byte, start, end int) (int, error) {
	seg := data[start+4 : end]
	switch marker {
	case 0xC0, 0xC1, 0xC2: // SOF: baseline, extended sequential, progressive
		if w.sawSOF {
			return 0, errors.New("jpeg: more than one SOF segment")
		}
		// P, Y, X, Nf, then three bytes per component.
		if len(seg) < 6 || seg[5] == 0 || len(seg) != 6+3*int(seg[5]) {
			return 0, fmt.Errorf("jpeg: SOF segment of %d bytes is malformed", len(seg))
		}
		if binary.BigEndian.Uint16(seg[1:]) == 0 || binary.BigEndian.Uint16(seg[3:]) == 0 {
			return 0, errors.New("jpeg: SOF gives a zero dimension")
		}
		w.sawSOF = true
	case 0xC4: // DHT
		w.sawDHT = true
	case 0xDB: // DQT
		w.sawDQT = true
	case 0xDA: // SOS
		if !w.sawSOF {
			return 0, errors.New("jpeg: SOS before SOF")
		}
		if !w.sawDHT || !w.sawDQT {
			return 0, errors.New("jpeg: SOS before the Huffman and quantisation tables")
		}
		// Ns, two bytes per component, then Ss, Se, Ah/Al.
		if len(seg) < 1 || seg[0] < 1 || seg[0] > 4 || len(seg) != 4+2*int(seg[0]) {
			return 0, fmt.Errorf("jpeg: SOS segment of %d bytes is malformed", len(seg))
		}
		w.sawSOS = true
		return skipScan(data, end)
	case 0xDD, 0xFE: // DRI, COM
	default:
		if marker < 0xE0 || marker > 0xEF { // APP0 to APP15
			return 0, fmt.Errorf("jpeg: unsupported marker %#02x at byte %d", marker, start)
		}
	}
	return end, nil
}

// skipScan returns the offset of the marker that ends the entropy-coded data
// starting at pos. Inside that data a 0xFF byte is always followed by 0x00
// (a stuffed data byte), a restart marker, or more 0xFF fill bytes before the
// next real marker.
func skipScan(data []byte, pos int) (int, error) {
	for {
		i := bytes.IndexByte(data[pos:], 0xFF)
		if i < 0 || pos+i+1 >= len(data) {
			return 0, errors.New("jpeg: truncated: scan data runs to the end of the file")
		}
		pos += i
		switch next := data[pos+1]; {
		case next == 0x00, 0xD0 <= next && next <= 0xD7:
			pos += 2
		case next == 0xFF:
			pos++
		default:
			return pos, nil
		}
	}
}

var pngSignature = []byte("\x89PNG\r\n\x1a\n")

// checkPNG walks the chunks: each one's length must fit and its CRC must be
// right, IHDR comes first, the IDAT chunks are one consecutive run, and IEND
// is the last thing in the file. PNG keeps everything in chunks, so unlike
// JPEG nothing may follow IEND.
func checkPNG(data []byte) error {
	if !bytes.HasPrefix(data, pngSignature) {
		return errors.New("png: missing signature")
	}
	const (
		noIDAT = iota
		inIDAT
		afterIDAT
	)
	idat := noIDAT
	for pos := len(pngSignature); ; {
		// length, type, data, CRC
		if pos+12 > len(data) {
			return errors.New("png: truncated: no IEND chunk")
		}
		n := binary.BigEndian.Uint32(data[pos:])
		typ := data[pos+4 : pos+8]
		if n > 1<<31-1 || int64(n) > int64(len(data)-pos-12) {
			return fmt.Errorf("png: chunk %q at byte %d: length %d does not fit in %d bytes", typ, pos, n, len(data))
		}
		end := pos + 8 + int(n)
		if crc32.ChecksumIEEE(data[pos+4:end]) != binary.BigEndian.Uint32(data[end:]) {
			return fmt.Errorf("png: chunk %q at byte %d: CRC mismatch", typ, pos)
		}
		first := pos == len(pngSignature)
		pos = end + 4

		switch string(typ) {
		case "IHDR":
			if !first || n != 13 {
				return fmt.Errorf("png: misplaced or malformed IHDR (%d bytes)", n)
			}
			continue
		case "IDAT":
			if idat == afterIDAT {
				return errors.New("png: IDAT chunks are not consecutive")
			}
			idat = inIDAT
		case "IEND":
			if idat == noIDAT {
				return errors.New("png: no IDAT chunk")
			}
			if pos != len(data) {
				return fmt.Errorf("png: %d bytes after IEND", len(data)-pos)
			}
			return nil
		default:
			if idat == inIDAT {
				idat = afterIDAT
			}
		}
		if first {
			return fmt.Errorf("png: first chunk is %q, not IHDR", typ)
		}
	}
}

// checkWebP checks the RIFF container against the file length, walks its
// chunks, and reads the image chunk's header: VP8 (lossy), VP8L (lossless),
// or VP8X (extended) followed by one of those with the canvas's size. An
// animated WebP has no top-level image chunk and is refused: the worker's
// decoder reads stills only.
// checkRIFFSize compares the RIFF size, which counts everything after the
// size field, with the file. Chunks of odd size are followed by a padding
// byte; a writer that wrote the last one but left it out of the count is
// tolerated. Any other difference is a truncated file or one with something
// appended.
func checkRIFFSize(data []byte) error {
	size := int64(binary.LittleEndian.Uint32(data[4:]))
	if n := int64(len(data)); n != size+8 && (size%2 == 0 || n != size+9) {
		if n < size+8 {
			return fmt.Errorf("webp: truncated: RIFF size says %d bytes, the file has %d", size+8, n)
		}
		return fmt.Errorf("webp: RIFF size says %d bytes, the file has %d", size+8, n)
	}
	return nil
}

func checkWebP(data []byte) error {
	if len(data) < 12 || string(data[:4]) != "RIFF" || string(data[8:12]) != "WEBP" {
		return errors.New("webp: missing RIFF/WEBP header")
	}
	if err := checkRIFFSize(data); err != nil {
		return err
	}
	var extended, sawImage bool
	var canvasW, canvasH int
	for pos := 12; pos < len(data); {
		if pos+8 > len(data) {
			return fmt.Errorf("webp: truncated: chunk header at byte %d", pos)
		}
		id := data[pos : pos+4]
		n := binary.LittleEndian.Uint32(data[pos+4:])
		if int64(n) > int64(len(data)-pos-8) {
			return fmt.Errorf("webp: chunk %q at byte %d: size %d does not fit in %d bytes", id, pos, n, len(data))
		}
		body := data[pos+8 : pos+8+int(n)]
		first := pos == 12
		// Skip the padding byte, which may be missing after the last chunk.
		pos = min(pos+8+int(n)+int(n&1), len(data))

		switch string(id) {
		case "VP8X":
			if !first || n != 10 {
				return fmt.Errorf("webp: misplaced or malformed VP8X chunk (%d bytes)", n)
			}
			extended = true
			canvasW = 1 + (int(body[4]) | int(body[5])<<8 | int(body[6])<<16)
			canvasH = 1 + (int(body[7]) | int(body[8])<<8 | int(body[9])<<16)
			continue
		case "VP8 ", "VP8L":
			if sawImage {
				continue // decoders read the first one only
			}
			w, h, err := vp8Size(body)
			if id[3] == 'L' {
				w, h, err = vp8lSize(body)
			}
			if err != nil {
				return err
			}
			if extended && (w != canvasW || h != canvasH) {
				return fmt.Errorf("webp: %dx%d image on a %dx%d canvas", w, h, canvasW, canvasH)
			}
			sawImage = true
			continue
		}
		if first {
			return fmt.Errorf("webp: first chunk is %q, want VP8, VP8L or VP8X", id)
		}
	}
	if !sawImage {
		return errors.New("webp: no VP8 or VP8L image chunk (animated WebP has none)")
	}
	return nil
}

// vp8Size reads a VP8 key frame's header: a 3-byte frame tag, the start code
// 9d 01 2a, then 14-bit width and height.
func vp8Size(b []byte) (w, h int, err error) {
	if len(b) < 10 {
		return 0, 0, errors.New("webp: truncated: VP8 frame header")
	}
	tag := uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16
	if tag&1 != 0 {
		return 0, 0, errors.New("webp: VP8 frame is not a key frame")
	}
	if b[3] != 0x9d || b[4] != 0x01 || b[5] != 0x2a {
		return 0, 0, errors.New("webp: VP8 start code missing")
	}
	if part := int(tag >> 5); part > len(b)-10 {
		return 0, 0, fmt.Errorf("webp: truncated: VP8 first partition of %d bytes in a %d-byte chunk", part, len(b))
	}
	w = int(binary.LittleEndian.Uint16(b[6:]) & 0x3FFF)
	h = int(binary.LittleEndian.Uint16(b[8:]) & 0x3FFF)
	if w == 0 || h == 0 {
		return 0, 0, errors.New("webp: VP8 frame has a zero dimension")
	}
	return w, h, nil
}

// vp8lSize reads a VP8L header: the signature 0x2f, then 14-bit width-1 and
// height-1, an alpha bit and a 3-bit version that must be 0.
func vp8lSize(b []byte) (w, h int, err error) {
	if len(b) < 5 || b[0] != 0x2F {
		return 0, 0, errors.New("webp: VP8L signature missing")
	}
	bits := binary.LittleEndian.Uint32(b[1:])
	if v := bits >> 29; v != 0 {
		return 0, 0, fmt.Errorf("webp: VP8L version %d, want 0", v)
	}
	return 1 + int(bits&0x3FFF), 1 + int(bits>>14&0x3FFF), nil
}
