// Package imaging decodes uploaded photos the way a camera meant them (EXIF
// orientation applied), bounds their size for generation and encodes
// outputs.
package imaging

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"math"
	"sync/atomic"

	xdraw "golang.org/x/image/draw"

	"github.com/tigerstudio/studio/infra/photo"
	"github.com/tigerstudio/studio/worker/internal/par"
)

// Decode decodes a JPEG, PNG or WebP and applies its EXIF orientation.
func Decode(data []byte) (*image.RGBA, error) { return DecodeOn(nil, data) }

// rowGrain is the fewest rows of a band of pixel work (par.Pool.Bands).
const rowGrain = 16

// DecodeOn is Decode with the conversion to RGBA and the orientation
// shared out over pool's cores; the decoders themselves run on one.
func DecodeOn(pool *par.Pool, data []byte) (*image.RGBA, error) {
	f, ok := photo.Of(data)
	if !ok {
		return nil, fmt.Errorf("imaging.Decode: not a JPEG, PNG or WebP image")
	}
	img, err := f.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("imaging.Decode: %w", err)
	}
	orient := 1
	switch f.ContentType {
	case photo.JPEG:
		orient = jpegOrientation(data)
	case photo.WebP:
		orient = webpOrientation(data)
	}
	return orientOn(pool, toRGBAOn(pool, img), orient), nil
}

// ToRGBA converts any image to an *image.RGBA with origin (0,0).
func ToRGBA(img image.Image) *image.RGBA { return toRGBAOn(nil, img) }

func toRGBAOn(pool *par.Pool, img image.Image) *image.RGBA {
	b := img.Bounds()
	if r, ok := img.(*image.RGBA); ok && b.Min == (image.Point{}) {
		return r
	}
	out := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	_ = pool.Bands(context.Background(), b.Dy(), rowGrain, func(y0, y1 int) {
		draw.Draw(out, image.Rect(0, y0, b.Dx(), y1), img, b.Min.Add(image.Pt(0, y0)), draw.Src)
	})
	return out
}

// EncodeJPEG encodes an output image.
func EncodeJPEG(img image.Image, quality int) ([]byte, error) { return EncodeJPEGOn(nil, img, quality) }

// EncodeJPEGOn is EncodeJPEG with the colour conversion shared out over
// pool's cores: an opaque NRGBA or RGBA image becomes full-resolution
// YCbCr first, which the encoder reads value for value as it would have
// converted them itself (the same bytes come out); the DCT and entropy
// coding run on one core.
func EncodeJPEGOn(pool *par.Pool, img image.Image, quality int) ([]byte, error) {
	if y, ok := opaqueYCbCr(pool, img); ok {
		img = y
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: quality}); err != nil {
		return nil, fmt.Errorf("imaging.EncodeJPEG: %w", err)
	}
	return buf.Bytes(), nil
}

// opaqueYCbCr converts an opaque *image.NRGBA or *image.RGBA to 4:4:4
// YCbCr; ok is false for other images and for any pixel not opaque (whose
// premultiplied colour the encoder derives itself).
func opaqueYCbCr(pool *par.Pool, img image.Image) (_ *image.YCbCr, ok bool) {
	var pix []byte
	var stride int
	switch m := img.(type) {
	case *image.NRGBA:
		pix, stride = m.Pix, m.Stride
	case *image.RGBA:
		pix, stride = m.Pix, m.Stride
	default:
		return nil, false
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	out := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio444)
	var translucent atomic.Bool
	_ = pool.Bands(context.Background(), h, rowGrain, func(y0, y1 int) {
		for y := y0; y < y1; y++ {
			row := pix[y*stride : y*stride+4*w]
			o := y * out.YStride
			for x := range w {
				p := row[4*x : 4*x+4 : 4*x+4]
				if p[3] != 0xff {
					translucent.Store(true)
					return
				}
				out.Y[o+x], out.Cb[o+x], out.Cr[o+x] = color.RGBToYCbCr(p[0], p[1], p[2])
			}
		}
	})
	if translucent.Load() {
		return nil, false
	}
	out.Rect = b // the encoder's blocks start at the image's origin
	return out, true
}

// Orient applies an EXIF orientation (1-8) so the image is upright.
func Orient(src *image.RGBA, orientation int) *image.RGBA { return orientOn(nil, src, orientation) }

func orientOn(pool *par.Pool, src *image.RGBA, orientation int) *image.RGBA {
	if orientation < 2 || orientation > 8 {
		return src
	}
	w, h := src.Bounds().Dx(), src.Bounds().Dy()
	dw, dh := w, h
	if orientation >= 5 { // 5-8 swap the axes
		dw, dh = h, w
	}
	dst := image.NewRGBA(image.Rect(0, 0, dw, dh))
	// Each band reads its own source rows and writes their pixels, which
	// no other source row maps to.
	_ = pool.Bands(context.Background(), h, rowGrain, func(y0, y1 int) {
		orientRows(src, dst, orientation, w, h, y0, y1)
	})
	return dst
}

func orientRows(src, dst *image.RGBA, orientation, w, h, y0, y1 int) {
	for y := y0; y < y1; y++ {
		for x := 0; x < w; x++ {
			var dx, dy int
			switch orientation {
			case 2: // mirrored horizontally
				dx, dy = w-1-x, y
			case 3: // rotated 180
				dx, dy = w-1-x, h-1-y
			case 4: // mirrored vertically
				dx, dy = x, h-1-y
			case 5: // transposed
				dx, dy = y, x
			case 6: // rotated 90 clockwise to be upright
				dx, dy = h-1-y, x
			case 7: // transversed
				dx, dy = h-1-y, w-1-x
			case 8: // rotated 90 counter-clockwise to be upright
				dx, dy = y, w-1-x
			}
			si := src.PixOffset(x, y)
			di := dst.PixOffset(dx, dy)
			copy(dst.Pix[di:di+4], src.Pix[si:si+4])
		}
	}
}

// jpegOrientation finds the orientation tag in a JPEG's APP1 Exif segment.
func jpegOrientation(data []byte) int {
	i := 2
	for i+4 <= len(data) && data[i] == 0xFF {
		marker := data[i+1]
		if marker == 0xDA || marker == 0xD9 { // image data starts: no more metadata
			break
		}
		n := int(binary.BigEndian.Uint16(data[i+2:]))
		if n < 2 || i+2+n > len(data) {
			break
		}
		seg := data[i+4 : i+2+n]
		if marker == 0xE1 && bytes.HasPrefix(seg, []byte("Exif\x00\x00")) {
			return tiffOrientation(seg[6:])
		}
		i += 2 + n
	}
	return 1
}

// webpOrientation reads the EXIF chunk of an extended WebP.
func webpOrientation(data []byte) int {
	for i := 12; i+8 <= len(data); {
		id := string(data[i : i+4])
		n := int(binary.LittleEndian.Uint32(data[i+4:]))
		if n < 0 || i+8+n > len(data) {
			break
		}
		if id == "EXIF" {
			chunk := data[i+8 : i+8+n]
			chunk = bytes.TrimPrefix(chunk, []byte("Exif\x00\x00"))
			return tiffOrientation(chunk)
		}
		i += 8 + n + n%2
	}
	return 1
}

// tiffOrientation reads tag 0x0112 of IFD0 of a TIFF (EXIF) block.
func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return 1
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 1
	}
	off := int(bo.Uint32(t[4:]))
	if off < 8 || off+2 > len(t) {
		return 1
	}
	count := int(bo.Uint16(t[off:]))
	for k := 0; k < count; k++ {
		e := off + 2 + 12*k
		if e+12 > len(t) {
			break
		}
		if bo.Uint16(t[e:]) == 0x0112 {
			v := int(bo.Uint16(t[e+8:]))
			if v >= 1 && v <= 8 {
				return v
			}
			return 1
		}
	}
	return 1
}

// Fit scales img down (never up) so its longer side is at most maxSide.
// Catmull-Rom widens its kernel when shrinking, so large photos are averaged
// rather than aliased.
func Fit(img *image.RGBA, maxSide int) *image.RGBA {
	b := img.Bounds()
	w, h := FitSize(b.Dx(), b.Dy(), maxSide)
	if w == b.Dx() && h == b.Dy() {
		return img
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	xdraw.CatmullRom.Scale(dst, dst.Bounds(), img, b, xdraw.Src, nil)
	return dst
}

// FitSize scales w x h down (never up) so the longer side is at most maxSide.
func FitSize(w, h, maxSide int) (int, int) {
	long := max(w, h)
	if long <= maxSide {
		return w, h
	}
	s := float64(maxSide) / float64(long)
	return max(1, int(math.Round(float64(w)*s))), max(1, int(math.Round(float64(h)*s)))
}
