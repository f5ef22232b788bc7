// Package photo knows the image formats the studio takes: it names them from
// their magic bytes, checks their structure and decodes them. The Gateway
// validates uploads with it and the worker decodes inputs with it, so both
// agree on what a photo is.
package photo

import (
	"bytes"
	"image"
	"image/jpeg"
	"image/png"
	"io"

	"golang.org/x/image/webp"
)

// Content types this package names.
const (
	JPEG = "image/jpeg"
	PNG  = "image/png"
	WebP = "image/webp"
	// HEIC is recognised only so it can be refused clearly: no HEIC decoder
	// ships in the registries this project builds from.
	HEIC = "image/heic"
)

// Format is a decodable image format.
type Format struct {
	ContentType  string
	Ext          string
	DecodeConfig func(io.Reader) (image.Config, error)
	Decode       func(io.Reader) (image.Image, error)
	// Check proves the file structurally complete (not truncated, every
	// declared chunk or segment present and in place) without decoding
	// pixels; see check.go for what each format's walk covers.
	Check func([]byte) error
}

var formats = map[string]Format{
	JPEG: {JPEG, "jpg", jpeg.DecodeConfig, jpeg.Decode, checkJPEG},
	PNG:  {PNG, "png", png.DecodeConfig, png.Decode, checkPNG},
	WebP: {WebP, "webp", webp.DecodeConfig, webp.Decode, checkWebP},
}

// Sniff names the image type of data from its magic bytes, or "" when it is
// none this package knows.
func Sniff(data []byte) string {
	switch {
	case bytes.HasPrefix(data, []byte{0xFF, 0xD8, 0xFF}):
		return JPEG
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return PNG
	case len(data) >= 12 && bytes.Equal(data[:4], []byte("RIFF")) && bytes.Equal(data[8:12], []byte("WEBP")):
		return WebP
	case len(data) >= 12 && bytes.Equal(data[4:8], []byte("ftyp")):
		switch string(data[8:12]) {
		case "heic", "heix", "hevc", "heim", "heis", "mif1", "msf1":
			return HEIC
		}
	}
	return ""
}

// Of returns the decodable format of data, from its magic bytes.
func Of(data []byte) (Format, bool) {
	f, ok := formats[Sniff(data)]
	return f, ok
}
