package builtin

import (
	"context"
	"image"
	"math"
)

// cancelEvery is how many rows a filter processes between context checks:
// often enough that cancellation is immediate, rarely enough to be free.
const cancelEvery = 16

// planes is an image as float32 channels in [0,1].
type planes struct {
	w, h    int
	r, g, b []float32
}

func newPlanes(w, h int) planes {
	return planes{w: w, h: h, r: make([]float32, w*h), g: make([]float32, w*h), b: make([]float32, w*h)}
}

func toPlanes(img *image.NRGBA) planes {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	p := newPlanes(w, h)
	for y := range h {
		row := img.Pix[y*img.Stride:]
		for x := range w {
			i := y*w + x
			p.r[i], p.g[i], p.b[i] = float32(row[4*x])/255, float32(row[4*x+1])/255, float32(row[4*x+2])/255
		}
	}
	return p
}

func (p planes) toNRGBA() *image.NRGBA {
	out := image.NewNRGBA(image.Rect(0, 0, p.w, p.h))
	for i := range p.r {
		o := 4 * i
		out.Pix[o], out.Pix[o+1], out.Pix[o+2], out.Pix[o+3] = to8(p.r[i]), to8(p.g[i]), to8(p.b[i]), 255
	}
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
// passes approximate a Gaussian.
func boxBlur(ctx context.Context, src []float32, w, h, r int) ([]float32, error) {
	if r < 1 {
		return append([]float32(nil), src...), nil
	}
	tmp := make([]float32, len(src))
	dst := make([]float32, len(src))
	for y := 0; y < h; y++ {
		if y%cancelEvery == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
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
	for x := 0; x < w; x++ {
		if x%(cancelEvery*8) == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		var sum float32
		for y := -r; y <= r; y++ {
			sum += tmp[min(max(y, 0), h-1)*w+x]
		}
		for y := 0; y < h; y++ {
			dst[y*w+x] = sum / float32(2*r+1)
			sum += tmp[min(y+r+1, h-1)*w+x] - tmp[max(y-r, 0)*w+x]
		}
	}
	return dst, nil
}

func gaussian(ctx context.Context, src []float32, w, h, r int) ([]float32, error) {
	var err error
	for range 3 {
		if src, err = boxBlur(ctx, src, w, h, r); err != nil {
			return nil, err
		}
	}
	return src, nil
}
