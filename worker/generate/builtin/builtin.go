// Package builtin is the pure-Go backend: classic image-processing
// stylisations (pencil sketch, watercolour, studio colour grade on a framed
// backdrop), honestly named, so the whole system runs on any machine without
// a model file. They are filters, not neural networks.
package builtin

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"math"
	"strconv"
	"strings"

	"github.com/tigerstudio/studio/infra/styles"
	"github.com/tigerstudio/studio/worker/generate"
)

// cancelEvery is how many rows a filter processes between context checks:
// often enough that cancellation is immediate, rarely enough to be free.
const cancelEvery = 16

// Generator runs the builtin styles, chosen by the style's model name.
type Generator struct{}

// New returns the builtin backend.
func New() Generator { return Generator{} }

// Generate implements generate.Generator.
func (Generator) Generate(ctx context.Context, style styles.Style, in image.Image) ([]image.Image, error) {
	src := toPlanes(in)
	if src.w < 8 || src.h < 8 {
		return nil, fmt.Errorf("%w: image of %dx%d is too small", generate.ErrInvalidInput, src.w, src.h)
	}
	p := params(style.Params)
	var (
		out image.Image
		err error
	)
	switch {
	case strings.HasPrefix(style.Model, "sketch"):
		out, err = sketch(ctx, src, p)
	case strings.HasPrefix(style.Model, "watercolour"):
		out, err = watercolour(ctx, src, p)
	case strings.HasPrefix(style.Model, "studio"):
		out, err = studio(ctx, src, p)
	default:
		return nil, fmt.Errorf("%w: builtin backend has no model %q", generate.ErrInvalidInput, style.Model)
	}
	if err != nil {
		return nil, err
	}
	return []image.Image{out}, nil
}

// planes is an image as float32 channels in [0,1].
type planes struct {
	w, h    int
	r, g, b []float32
}

func newPlanes(w, h int) planes {
	return planes{w: w, h: h, r: make([]float32, w*h), g: make([]float32, w*h), b: make([]float32, w*h)}
}

func toPlanes(img image.Image) planes {
	bounds := img.Bounds()
	p := newPlanes(bounds.Dx(), bounds.Dy())
	rgba, isRGBA := img.(*image.RGBA)
	for y := 0; y < p.h; y++ {
		for x := 0; x < p.w; x++ {
			i := y*p.w + x
			if isRGBA {
				o := rgba.PixOffset(bounds.Min.X+x, bounds.Min.Y+y)
				p.r[i], p.g[i], p.b[i] = float32(rgba.Pix[o])/255, float32(rgba.Pix[o+1])/255, float32(rgba.Pix[o+2])/255
				continue
			}
			r, g, b, _ := img.At(bounds.Min.X+x, bounds.Min.Y+y).RGBA()
			p.r[i], p.g[i], p.b[i] = float32(r)/65535, float32(g)/65535, float32(b)/65535
		}
	}
	return p
}

func (p planes) toRGBA() *image.RGBA {
	out := image.NewRGBA(image.Rect(0, 0, p.w, p.h))
	for i := range p.r {
		o := 4 * i
		out.Pix[o], out.Pix[o+1], out.Pix[o+2], out.Pix[o+3] = to8(p.r[i]), to8(p.g[i]), to8(p.b[i]), 255
	}
	return out
}

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

// sketch is the classic colour-dodge pencil drawing: the grey image divided
// by its blurred negative, laid on a paper tone.
func sketch(ctx context.Context, src planes, p paramSet) (image.Image, error) {
	blur := p.int("blur", 6)
	paper := p.colour("paper", color.RGBA{0xf4, 0xef, 0xe4, 255})
	strength := p.float("strength", 1)
	grey := make([]float32, len(src.r))
	neg := make([]float32, len(src.r))
	for i := range grey {
		grey[i] = luminance(src.r[i], src.g[i], src.b[i])
		neg[i] = 1 - grey[i]
	}
	blurred, err := gaussian(ctx, neg, src.w, src.h, blur)
	if err != nil {
		return nil, err
	}
	out := newPlanes(src.w, src.h)
	pr, pg, pb := float32(paper.R)/255, float32(paper.G)/255, float32(paper.B)/255
	for i := range grey {
		d := grey[i] / max(1-blurred[i], 1e-3)
		d = clamp(d)
		d = float32(math.Pow(float64(d), strength)) // >1 darkens the strokes
		out.r[i], out.g[i], out.b[i] = d*pr, d*pg, d*pb
	}
	return out.toRGBA(), nil
}

// watercolour smooths the photo, quantises its lightness into flat washes
// (keeping each pixel's hue, so skin stays skin) and darkens the wash edges
// where pigment would pool.
func watercolour(ctx context.Context, src planes, p paramSet) (image.Image, error) {
	levels := float32(max(p.int("levels", 6), 2) - 1)
	smooth := p.int("smooth", 3)
	edge := float32(p.float("edge", 0.6))
	out := newPlanes(src.w, src.h)
	chans := [][]float32{src.r, src.g, src.b}
	dst := [][]float32{out.r, out.g, out.b}
	for c := range chans {
		s, err := gaussian(ctx, chans[c], src.w, src.h, smooth)
		if err != nil {
			return nil, err
		}
		copy(dst[c], s)
	}
	grey := make([]float32, len(out.r))
	for i := range grey {
		l := luminance(out.r[i], out.g[i], out.b[i])
		q := float32(math.Round(float64(l*levels))) / levels
		q = max(q, 0.5/levels) // keep a trace of colour in the darkest wash
		k := q / max(l, 1e-3)
		out.r[i], out.g[i], out.b[i] = clamp(out.r[i]*k), clamp(out.g[i]*k), clamp(out.b[i]*k)
		grey[i] = q
	}
	for y := 0; y < src.h; y++ {
		if y%cancelEvery == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		for x := 0; x < src.w; x++ {
			at := func(dx, dy int) float32 {
				return grey[min(max(y+dy, 0), src.h-1)*src.w+min(max(x+dx, 0), src.w-1)]
			}
			gx := at(1, -1) + 2*at(1, 0) + at(1, 1) - at(-1, -1) - 2*at(-1, 0) - at(-1, 1)
			gy := at(-1, 1) + 2*at(0, 1) + at(1, 1) - at(-1, -1) - 2*at(0, -1) - at(1, -1)
			dark := 1 - edge*min(float32(math.Sqrt(float64(gx*gx+gy*gy))), 1)
			// Paper grain: a fixed hash of the position, so output is
			// deterministic.
			grain := 0.97 + 0.03*float32((x*7919+y*104729)%97)/96
			i := y*src.w + x
			// Washes are lighter than the photo: mix towards the paper.
			out.r[i] = (0.8*out.r[i] + 0.2) * dark * grain
			out.g[i] = (0.8*out.g[i] + 0.2) * dark * grain
			out.b[i] = (0.8*out.b[i] + 0.18) * dark * grain
		}
	}
	return out.toRGBA(), nil
}

// studio grades the photo warm and contrasty with a vignette and sets it in a
// frame on a backdrop colour, like a studio portrait print.
func studio(ctx context.Context, src planes, p paramSet) (image.Image, error) {
	warmth := float32(p.float("warmth", 0.12))
	contrast := float32(p.float("contrast", 1.15))
	frame := p.float("frame", 0.06)
	backdrop := p.colour("backdrop", color.RGBA{0x1f, 0x2a, 0x44, 255})
	border := max(int(frame*float64(max(src.w, src.h))), 2)
	mat := max(border/6, 1) // the light mat between photo and backdrop
	W, H := src.w+2*border, src.h+2*border
	out := image.NewRGBA(image.Rect(0, 0, W, H))
	for y := 0; y < H; y++ {
		if y%cancelEvery == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		for x := 0; x < W; x++ {
			o := out.PixOffset(x, y)
			sx, sy := x-border, y-border
			inPhoto := sx >= 0 && sy >= 0 && sx < src.w && sy < src.h
			inMat := sx >= -mat && sy >= -mat && sx < src.w+mat && sy < src.h+mat
			switch {
			case inPhoto:
				i := sy*src.w + sx
				r := (src.r[i]-0.5)*contrast + 0.5 + warmth
				g := (src.g[i]-0.5)*contrast + 0.5 + warmth/3
				b := (src.b[i]-0.5)*contrast + 0.5 - warmth
				// Vignette: darken towards the corners.
				dx := (float32(sx)/float32(src.w) - 0.5) * 2
				dy := (float32(sy)/float32(src.h) - 0.5) * 2
				v := 1 - 0.25*(dx*dx+dy*dy)/2
				out.Pix[o], out.Pix[o+1], out.Pix[o+2] = to8(r*v), to8(g*v), to8(b*v)
			case inMat:
				out.Pix[o], out.Pix[o+1], out.Pix[o+2] = 0xf2, 0xee, 0xe6
			default:
				// A soft vertical gradient makes the backdrop read as cloth.
				shade := 0.8 + 0.3*float32(y)/float32(H)
				out.Pix[o] = to8(float32(backdrop.R) / 255 * shade)
				out.Pix[o+1] = to8(float32(backdrop.G) / 255 * shade)
				out.Pix[o+2] = to8(float32(backdrop.B) / 255 * shade)
			}
			out.Pix[o+3] = 255
		}
	}
	return out, nil
}

// paramSet reads a style's parameters with defaults.
type paramSet map[string]any

func params(m map[string]any) paramSet { return paramSet(m) }

func (p paramSet) float(k string, def float64) float64 {
	if v, ok := p[k].(float64); ok {
		return v
	}
	return def
}

func (p paramSet) int(k string, def int) int {
	return int(p.float(k, float64(def)))
}

func (p paramSet) colour(k string, def color.RGBA) color.RGBA {
	s, ok := p[k].(string)
	if !ok || len(s) != 7 || s[0] != '#' {
		return def
	}
	v, err := strconv.ParseUint(s[1:], 16, 32)
	if err != nil {
		return def
	}
	return color.RGBA{uint8(v >> 16), uint8(v >> 8), uint8(v), 255}
}
