// Package upload checks an uploaded photo before anything is stored: the type
// is sniffed from the bytes and must agree with the declared one, the size
// and pixel count are bounded (the pixel count is read from the header, so a
// decompression bomb is refused without being allocated), and a full decode
// catches truncated or corrupt files.
package upload

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"mime"
	"strings"

	"golang.org/x/image/webp"
)

// Sentinel errors, one per kind of bad upload; the Gateway maps them to HTTP
// codes.
var (
	ErrTooLarge     = errors.New("file too large")
	ErrTooManyPixel = errors.New("image has too many pixels")
	ErrUnsupported  = errors.New("unsupported image type")
	ErrMismatch     = errors.New("declared content type does not match the file")
	ErrCorrupt      = errors.New("image is corrupt or truncated")
)

// Limits bound what is accepted.
type Limits struct {
	MaxBytes  int64
	MaxPixels int64
}

// Image describes an accepted upload.
type Image struct {
	ContentType string
	Ext         string
	Width       int
	Height      int
}

type format struct {
	contentType  string
	ext          string
	decodeConfig func(io.Reader) (image.Config, error)
	decode       func(io.Reader) (image.Image, error)
}

var (
	formatJPEG = format{"image/jpeg", "jpg", jpeg.DecodeConfig, jpeg.Decode}
	formatPNG  = format{"image/png", "png", png.DecodeConfig, png.Decode}
	formatWebP = format{"image/webp", "webp", webp.DecodeConfig, webp.Decode}
)

// Sniff names the image type of data from its magic bytes, or "" when it is
// none this service knows (HEIC is recognised, to be refused clearly).
func Sniff(data []byte) string {
	switch {
	case bytes.HasPrefix(data, []byte{0xFF, 0xD8, 0xFF}):
		return "image/jpeg"
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return "image/png"
	case len(data) >= 12 && bytes.Equal(data[:4], []byte("RIFF")) && bytes.Equal(data[8:12], []byte("WEBP")):
		return "image/webp"
	case len(data) >= 12 && bytes.Equal(data[4:8], []byte("ftyp")):
		switch string(data[8:12]) {
		case "heic", "heix", "hevc", "heim", "heis", "mif1", "msf1":
			return "image/heic"
		}
	}
	return ""
}

// Validate checks data against the declared content type (empty or
// application/octet-stream mean "not declared") and the limits.
func Validate(data []byte, declared string, lim Limits) (Image, error) {
	if int64(len(data)) > lim.MaxBytes {
		return Image{}, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, lim.MaxBytes)
	}
	sniffed := Sniff(data)
	var f format
	switch sniffed {
	case formatJPEG.contentType:
		f = formatJPEG
	case formatPNG.contentType:
		f = formatPNG
	case formatWebP.contentType:
		f = formatWebP
	case "image/heic":
		return Image{}, fmt.Errorf("%w: HEIC is not supported here; send JPEG, PNG or WebP", ErrUnsupported)
	default:
		return Image{}, fmt.Errorf("%w: the file is not a JPEG, PNG or WebP image", ErrUnsupported)
	}
	if d := normalise(declared); d != "" && d != f.contentType {
		return Image{}, fmt.Errorf("%w: declared %s, but the file is %s", ErrMismatch, d, f.contentType)
	}
	cfg, err := f.decodeConfig(bytes.NewReader(data))
	if err != nil {
		return Image{}, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return Image{}, fmt.Errorf("%w: %dx%d pixels", ErrCorrupt, cfg.Width, cfg.Height)
	}
	if px := int64(cfg.Width) * int64(cfg.Height); px > lim.MaxPixels {
		return Image{}, fmt.Errorf("%w: %dx%d is more than %d pixels", ErrTooManyPixel, cfg.Width, cfg.Height, lim.MaxPixels)
	}
	if _, err := f.decode(bytes.NewReader(data)); err != nil {
		return Image{}, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return Image{ContentType: f.contentType, Ext: f.ext, Width: cfg.Width, Height: cfg.Height}, nil
}

func normalise(declared string) string {
	mt, _, err := mime.ParseMediaType(declared)
	if err != nil {
		mt = strings.ToLower(strings.TrimSpace(declared))
	}
	switch mt {
	case "", "application/octet-stream":
		return ""
	case "image/jpg", "image/pjpeg":
		return "image/jpeg"
	}
	return mt
}
