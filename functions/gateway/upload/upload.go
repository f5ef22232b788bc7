// Package upload checks an uploaded photo before anything is stored: the type
// is sniffed from the bytes and must agree with the declared one, the size,
// pixel count and shape are bounded (the dimensions are read from the header,
// so a decompression bomb is refused without being allocated), and a
// structural walk of the file (photo.Format.Check) catches truncated or
// corrupt containers without decoding pixels. A full decode used to do that
// last job and was three quarters of the Gateway's CPU; damage inside the
// compressed data is now left to the worker's decode.
package upload

import (
	"bytes"
	"errors"
	"fmt"
	"mime"
	"strings"

	"github.com/tigerstudio/studio/infra/photo"
)

// Sentinel errors, one per kind of bad upload; the Gateway maps them to HTTP
// codes.
var (
	ErrTooLarge     = errors.New("file too large")
	ErrTooManyPixel = errors.New("image has too many pixels")
	ErrUnsupported  = errors.New("unsupported image type")
	ErrMismatch     = errors.New("declared content type does not match the file")
	ErrCorrupt      = errors.New("image is corrupt or truncated")
	ErrDegenerate   = errors.New("image is too small or too elongated")
)

// Limits bound what is accepted. A zero MinSide or MaxAspect turns that
// check off.
type Limits struct {
	MaxBytes  int64
	MaxPixels int64
	// MinSide is the shortest side, in pixels, worth generating from: a
	// face in a thinner strip cannot be found.
	MinSide int
	// MaxAspect bounds the longer side over the shorter (4 allows 4:1);
	// without it a 1 x 25,000,000 strip passes a 25-megapixel bound.
	MaxAspect float64
}

// Image describes an accepted upload.
type Image struct {
	ContentType string
	Ext         string
	Width       int
	Height      int
}

// Validate checks data against the declared content type (empty or
// application/octet-stream mean "not declared") and the limits.
func Validate(data []byte, declared string, lim Limits) (Image, error) {
	if int64(len(data)) > lim.MaxBytes {
		return Image{}, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, lim.MaxBytes)
	}
	f, ok := photo.Of(data)
	switch {
	case !ok && photo.Sniff(data) == photo.HEIC:
		return Image{}, fmt.Errorf("%w: HEIC is not supported here; send JPEG, PNG or WebP", ErrUnsupported)
	case !ok:
		return Image{}, fmt.Errorf("%w: the file is not a JPEG, PNG or WebP image", ErrUnsupported)
	}
	if d := normalise(declared); d != "" && d != f.ContentType {
		return Image{}, fmt.Errorf("%w: declared %s, but the file is %s", ErrMismatch, d, f.ContentType)
	}
	cfg, err := f.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return Image{}, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return Image{}, fmt.Errorf("%w: %dx%d pixels", ErrCorrupt, cfg.Width, cfg.Height)
	}
	if px := int64(cfg.Width) * int64(cfg.Height); px > lim.MaxPixels {
		return Image{}, fmt.Errorf("%w: %dx%d is more than %d pixels", ErrTooManyPixel, cfg.Width, cfg.Height, lim.MaxPixels)
	}
	short, long := min(cfg.Width, cfg.Height), max(cfg.Width, cfg.Height)
	if lim.MinSide > 0 && short < lim.MinSide {
		return Image{}, fmt.Errorf("%w: %dx%d has a side shorter than %d pixels", ErrDegenerate, cfg.Width, cfg.Height, lim.MinSide)
	}
	if lim.MaxAspect > 0 && float64(long) > lim.MaxAspect*float64(short) {
		return Image{}, fmt.Errorf("%w: %dx%d is more elongated than %g:1", ErrDegenerate, cfg.Width, cfg.Height, lim.MaxAspect)
	}
	if err := f.Check(data); err != nil {
		return Image{}, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return Image{ContentType: f.ContentType, Ext: f.Ext, Width: cfg.Width, Height: cfg.Height}, nil
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
