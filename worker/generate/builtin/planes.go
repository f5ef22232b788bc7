package builtin

import (
	"context"
	"image"
	"math"

	"github.com/tigerstudio/studio/worker/internal/par"
)

// rowGrain is the fewest rows a band of work holds (see par.Pool.Bands),
// and colGrain the fewest columns: enough to be worth a helper, few enough
// that every core gets a share of a 512-pixel image, and that ctx, checked
// before each band, stops a step at once.
const (
	rowGrain = 16
	colGrain = 64
)

// planes is an image as float32 channels in [0,1].
type planes struct {
	w, h    int
	r, g, b []float32
}

func newPlanes(w, h int) planes {
	return planes{w: w, h: h, r: make([]float32, w*h), g: make([]float32, w*h), b: make([]float32, w*h)}
}

func toPlanes(pool *par.Pool, img *image.NRGBA) planes {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	p := newPlanes(w, h)
	_ = pool.Bands(context.Background(), h, rowGrain, func(y0, y1 int) {
		for y := y0; y < y1; y++ {
			row := img.Pix[y*img.Stride:]
			for x := range w {
				i := y*w + x
				p.r[i], p.g[i], p.b[i] = float32(row[4*x])/255, float32(row[4*x+1])/255, float32(row[4*x+2])/255
			}
		}
	})
	return p
}

func (p planes) toNRGBA(pool *par.Pool) *image.NRGBA {
	out := image.NewNRGBA(image.Rect(0, 0, p.w, p.h))
	_ = pool.Bands(context.Background(), p.h, rowGrain, func(y0, y1 int) {
		for i := y0 * p.w; i < y1*p.w; i++ {
			o := 4 * i
			out.Pix[o], out.Pix[o+1], out.Pix[o+2], out.Pix[o+3] = to8(p.r[i]), to8(p.g[i]), to8(p.b[i]), 255
		}
	})
	return out
}

func (p planes) channels() [3][]float32 { return [3][]float32{p.r, p.g, p.b} }

func to8(v float32) uint8 {
	return uint8(math.Round(float64(clamp(v)) * 255))
}

func clamp(v float32) float32 {
	return min(max(v, 0), 1)
}

func luminance(r, g, b float32) float32 { return 0.299*r + 0.587*g + 0.114*b }

// boxBlur blurs one channel with a (2r+1)^2 box using running sums; three
// passes approximate a Gaussian. Rows, then columns, are shared out in
// bands; each column's running sum adds the same values in the same order
// as a column-by-column loop, so the result does not depend on the bands.
func boxBlur(ctx context.Context, pool *par.Pool, src []float32, w, h, r int) ([]float32, error) {
	if r < 1 {
		return append([]float32(nil), src...), ctx.Err()
	}
	tmp := make([]float32, len(src))
	dst := make([]float32, len(src))
	err := pool.Bands(ctx, h, rowGrain, func(y0, y1 int) {
		for y := y0; y < y1; y++ {
			row := src[y*w : (y+1)*w]
			var sum float32
			for x := -r; x <= r; x++ {
				sum += row[min(max(x, 0), w-1)]
			}
			for x := 0; x < w; x++ {
				tmp[y*w+x] = sum / float32(2*r+1)
				sum += row[min(x+r+1, w-1)] - row[max(x-r, 0)]
			}
		}
	})
	if err != nil {
		return nil, err
	}
	// Row by row over a band of columns, one running sum per column: the
	// memory is read in order instead of a stride apart.
	err = pool.Bands(ctx, w, colGrain, func(x0, x1 int) {
		sums := make([]float32, x1-x0)
		for y := -r; y <= r; y++ {
			row := tmp[min(max(y, 0), h-1)*w:]
			for x := x0; x < x1; x++ {
				sums[x-x0] += row[x]
			}
		}
		for y := 0; y < h; y++ {
			out := dst[y*w:]
			add, sub := tmp[min(y+r+1, h-1)*w:], tmp[max(y-r, 0)*w:]
			for x := x0; x < x1; x++ {
				out[x] = sums[x-x0] / float32(2*r+1)
				sums[x-x0] += add[x] - sub[x]
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return dst, nil
}

func gaussian(ctx context.Context, pool *par.Pool, src []float32, w, h, r int) ([]float32, error) {
	var err error
	for range 3 {
		if src, err = boxBlur(ctx, pool, src, w, h, r); err != nil {
			return nil, err
		}
	}
	return src, nil
}

// gaussianOfProduct blurs a weighted channel, ch*weight pixel by pixel: the
// weighted sums that, divided by the blurred weight, average only the pixels
// the weight picks (the wall behind a soft edge, the backdrop without the
// person).
func gaussianOfProduct(ctx context.Context, pool *par.Pool, ch, weight []float32, w, h, r int) ([]float32, error) {
	prod := make([]float32, w*h)
	if err := pool.Bands(ctx, h, rowGrain, func(y0, y1 int) {
		for i := y0 * w; i < y1*w; i++ {
			prod[i] = ch[i] * weight[i]
		}
	}); err != nil {
		return nil, err
	}
	return gaussian(ctx, pool, prod, w, h, r)
}
