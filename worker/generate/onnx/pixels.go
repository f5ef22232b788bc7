package onnx

import (
	"context"
	"fmt"
	"image"

	"github.com/tigerstudio/studio/worker/generate"
	"github.com/tigerstudio/studio/worker/imaging"
)

// planar is a 3-channel float32 image in CHW order, the layout of the
// model's [1,3,H,W] tensors.
type planar struct {
	w, h int
	pix  []float32 // R plane, G plane, B plane
}

// prepare scales in down so its long side is at most p.maxSide, converts it
// to planar RGB in [0,1] normalised with p.mean and p.std, and returns the
// alpha channel of the scaled image so the output keeps the input's
// transparency.
func prepare(in image.Image, p params) (planar, []uint8, error) {
	b := in.Bounds()
	if b.Empty() {
		return planar{}, nil, fmt.Errorf("%w: empty image (%dx%d)", generate.ErrInvalidInput, b.Dx(), b.Dy())
	}
	rgba := imaging.Fit(imaging.ToRGBA(in), p.maxSide)
	w, h := rgba.Bounds().Dx(), rgba.Bounds().Dy()

	n := w * h
	out := planar{w: w, h: h, pix: make([]float32, 3*n)}
	alpha := make([]uint8, n)
	var scale, offset [3]float32
	for c := range 3 {
		scale[c] = 1 / (255 * p.std[c])
		offset[c] = -p.mean[c] / p.std[c]
	}
	for i := range n {
		px := rgba.Pix[4*i : 4*i+4 : 4*i+4]
		a := px[3]
		alpha[i] = a
		for c := range 3 {
			v := float32(px[c])
			switch a {
			case 255:
			case 0:
				v = 0
			default: // RGBA is premultiplied; the model wants straight colour
				v = v * 255 / float32(a)
			}
			out.pix[c*n+i] = v*scale[c] + offset[c]
		}
	}
	return out, alpha, nil
}

// finish clamps the model output to [0,1] and quantises it to 8 bits, with
// the alpha prepare kept.
func finish(src planar, alpha []uint8) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, src.w, src.h))
	n := src.w * src.h
	for i := range n {
		px := img.Pix[4*i : 4*i+4 : 4*i+4]
		for c := range 3 {
			v := src.pix[c*n+i]
			switch {
			case v >= 1:
				px[c] = 255
			case v > 0:
				px[c] = uint8(v*255 + 0.5)
			default: // also NaN
				px[c] = 0
			}
		}
		px[3] = alpha[i]
	}
	return img
}

// tileRunner runs the model on one crop: in and out are CHW with 3 channels
// of h x w.
type tileRunner func(ctx context.Context, in []float32, h, w int, out []float32) error

// runTiled runs the model over src in tiles of tile x tile pixels, each
// cropped with pad pixels of context on every side. The context is clamped
// to the image rather than filled in, so at the image border the model does
// its own zero padding exactly as it would on the whole image; inside, the
// model's padding of the crop edge only corrupts the outer pad pixels, which
// are dropped. The result is therefore the whole-image result whenever pad
// is at least the model's receptive-field radius. ctx is checked before
// every tile.
func runTiled(ctx context.Context, src planar, tile, pad int, run tileRunner) (planar, error) {
	w, h := src.w, src.h
	dst := planar{w: w, h: h, pix: make([]float32, len(src.pix))}
	crop := min(tile+2*pad, w) * min(tile+2*pad, h) * 3
	in, out := make([]float32, crop), make([]float32, crop)
	for y0 := 0; y0 < h; y0 += tile {
		for x0 := 0; x0 < w; x0 += tile {
			if err := ctx.Err(); err != nil {
				return planar{}, err
			}
			x1, y1 := min(x0+tile, w), min(y0+tile, h)
			cx0, cy0 := max(x0-pad, 0), max(y0-pad, 0)
			cx1, cy1 := min(x1+pad, w), min(y1+pad, h)
			cw, ch := cx1-cx0, cy1-cy0
			for c := range 3 {
				for y := range ch {
					s := (c*h+cy0+y)*w + cx0
					copy(in[(c*ch+y)*cw:][:cw], src.pix[s:s+cw])
				}
			}
			if err := run(ctx, in[:3*ch*cw], ch, cw, out[:3*ch*cw]); err != nil {
				return planar{}, err
			}
			for c := range 3 {
				for y := y0; y < y1; y++ {
					s := (c*ch+y-cy0)*cw + x0 - cx0
					copy(dst.pix[(c*h+y)*w+x0:][:x1-x0], out[s:s+x1-x0])
				}
			}
		}
	}
	return dst, nil
}
