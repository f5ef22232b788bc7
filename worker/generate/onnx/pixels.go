package onnx

import (
	"context"
	"fmt"
	"image"

	"github.com/tigerstudio/studio/worker/generate"
	"github.com/tigerstudio/studio/worker/internal/par"
)

// planar is a float32 image in CHW order, the layout of [1,C,H,W] tensors.
type planar struct {
	w, h, c int
	pix     []float32 // plane by plane
}

// toPlanar converts img to planar RGB normalised for spec.
func toPlanar(img *image.NRGBA, spec Spec) planar { return toPlanarOn(nil, img, spec) }

// rowGrain is the fewest rows of a band of pixel work (par.Pool.Bands).
const rowGrain = 16

// toPlanarOn is toPlanar with its rows shared out over pool.
func toPlanarOn(pool *par.Pool, img *image.NRGBA, spec Spec) planar {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	n := w * h
	out := planar{w: w, h: h, c: 3, pix: make([]float32, 3*n)}
	var lut [3][256]float32
	for c := range 3 {
		for v := range 256 {
			lut[c][v] = spec.normalise(c, float32(v)/255)
		}
	}
	_ = pool.Bands(context.Background(), h, rowGrain, func(y0, y1 int) {
		for y := y0; y < y1; y++ {
			row := img.Pix[y*img.Stride:]
			for x := range w {
				i := y*w + x
				for c := range 3 {
					out.pix[c*n+i] = lut[c][row[4*x+c]]
				}
			}
		}
	})
	return out
}

// toNRGBA reads an image model's output back to an opaque image.
func toNRGBA(src planar, spec Spec) *image.NRGBA { return toNRGBAOn(nil, src, spec) }

// toNRGBAOn is toNRGBA with its rows shared out over pool.
func toNRGBAOn(pool *par.Pool, src planar, spec Spec) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, src.w, src.h))
	n := src.w * src.h
	_ = pool.Bands(context.Background(), src.h, rowGrain, func(y0, y1 int) {
		for i := y0 * src.w; i < y1*src.w; i++ {
			px := img.Pix[4*i : 4*i+4 : 4*i+4]
			for c := range 3 {
				v := spec.denormalise(src.pix[c*n+i])
				switch {
				case v >= 1:
					px[c] = 255
				case v > 0:
					px[c] = uint8(v*255 + 0.5)
				default: // also NaN
					px[c] = 0
				}
			}
			px[3] = 255
		}
	})
	return img
}

// resize scales every plane to w x h.
func (p planar) resize(w, h int) planar { return p.resizeOn(nil, w, h) }

// resizeOn is resize with each plane's rows shared out over pool.
func (p planar) resizeOn(pool *par.Pool, w, h int) planar {
	if p.w == w && p.h == h {
		return p
	}
	out := planar{w: w, h: h, c: p.c, pix: make([]float32, 0, p.c*w*h)}
	n := p.w * p.h
	for c := range p.c {
		out.pix = append(out.pix, generate.ResizePlaneOn(pool, p.pix[c*n:(c+1)*n], p.w, p.h, w, h)...)
	}
	return out
}

// shape is the tensor shape of a c x h x w image in layout.
func shape(layout string, c, h, w int) []int64 {
	if layout == NHWC {
		return []int64{1, int64(h), int64(w), int64(c)}
	}
	return []int64{1, int64(c), int64(h), int64(w)}
}

// toLayout returns CHW data in layout (a copy for NHWC, chw itself for NCHW).
func toLayout(layout string, chw []float32, c, h, w int) []float32 {
	if layout != NHWC {
		return chw
	}
	out := make([]float32, len(chw))
	n := h * w
	for ch := range c {
		for i := range n {
			out[i*c+ch] = chw[ch*n+i]
		}
	}
	return out
}

// fromLayout writes data in layout into chw.
func fromLayout(layout string, data, chw []float32, c, h, w int) {
	if layout != NHWC {
		copy(chw, data)
		return
	}
	n := h * w
	for ch := range c {
		for i := range n {
			chw[ch*n+i] = data[i*c+ch]
		}
	}
}

// tileRunner runs the model on one crop: in is CHW with 3 channels of
// h x w, out the same of (scale*h) x (scale*w).
type tileRunner func(ctx context.Context, in []float32, h, w int, out []float32) error

// namedTiles is run with a failure that names the model (what) and the
// tile's size; a run stopped by ctx returns ctx's error alone, so a
// cancelled job reads as cancelled.
func namedTiles(what string, run tileRunner) tileRunner {
	return func(ctx context.Context, in []float32, h, w int, out []float32) error {
		if err := run(ctx, in, h, w, out); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("running %s on a %dx%d tile: %w", what, w, h, err)
		}
		return nil
	}
}

// runTiled runs the model over src in tiles of tile x tile pixels, each
// cropped with pad pixels of context on every side. The context is clamped
// to the image rather than filled in, so at the image border the model does
// its own zero padding exactly as it would on the whole image; inside, the
// model's padding of the crop edge only corrupts the outer pad pixels, which
// are dropped. The result is therefore the whole-image result whenever pad
// is at least the model's receptive-field radius. ctx is checked before
// every tile.
func runTiled(ctx context.Context, src planar, tile, pad int, run tileRunner) (planar, error) {
	return runTiledScaled(ctx, src, tile, pad, 1, run)
}

// runTiledScaled is runTiled for a model whose output is scale times its
// input on each side (a super-resolution network): tiles and their context
// are in input pixels, and each tile's output lands scale times further.
func runTiledScaled(ctx context.Context, src planar, tile, pad, scale int, run tileRunner) (planar, error) {
	w, h := src.w, src.h
	dw, dh := scale*w, scale*h
	dst := planar{w: dw, h: dh, c: 3, pix: make([]float32, 3*dw*dh)}
	crop := min(tile+2*pad, w) * min(tile+2*pad, h) * 3
	in, out := make([]float32, crop), make([]float32, crop*scale*scale)
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
			ocw, och := scale*cw, scale*ch
			if err := run(ctx, in[:3*ch*cw], ch, cw, out[:3*och*ocw]); err != nil {
				return planar{}, err
			}
			for c := range 3 {
				for y := scale * y0; y < scale*y1; y++ {
					s := (c*och+y-scale*cy0)*ocw + scale*(x0-cx0)
					copy(dst.pix[(c*dh+y)*dw+scale*x0:][:scale*(x1-x0)], out[s:s+scale*(x1-x0)])
				}
			}
		}
	}
	return dst, nil
}
