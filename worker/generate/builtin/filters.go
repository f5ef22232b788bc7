package builtin

import (
	"context"
	"math"

	"github.com/tigerstudio/studio/worker/generate"
)

// sketch is the classic colour-dodge pencil drawing: the grey image divided
// by its blurred negative, laid on a paper tone.
type sketch struct {
	Blur     int     `json:"blur" default:"6" range:"1,64"`
	Paper    *Colour `json:"paper" default:"#f4efe4"`
	Strength float64 `json:"strength" default:"1" range:"0.1,4"`
}

func (p sketch) Apply(ctx context.Context, f *generate.Frame) error {
	pool := f.Pool
	src := toPlanes(pool, f.Image)
	w := src.w
	grey := make([]float32, len(src.r))
	neg := make([]float32, len(src.r))
	if err := pool.Bands(ctx, src.h, rowGrain, func(y0, y1 int) {
		for i := y0 * w; i < y1*w; i++ {
			grey[i] = luminance(src.r[i], src.g[i], src.b[i])
			neg[i] = 1 - grey[i]
		}
	}); err != nil {
		return err
	}
	blurred, err := gaussian(ctx, pool, neg, src.w, src.h, p.Blur)
	if err != nil {
		return err
	}
	out := newPlanes(src.w, src.h)
	pr, pg, pb := p.Paper.rgb()
	if err := pool.Bands(ctx, src.h, rowGrain, func(y0, y1 int) {
		for i := y0 * w; i < y1*w; i++ {
			d := clamp(grey[i] / max(1-blurred[i], 1e-3))
			d = float32(math.Pow(float64(d), p.Strength)) // >1 darkens the strokes
			out.r[i], out.g[i], out.b[i] = d*pr, d*pg, d*pb
		}
	}); err != nil {
		return err
	}
	f.Image = out.toNRGBA(pool)
	return nil
}

// watercolour smooths the photo, quantises its lightness into flat washes
// (keeping each pixel's hue, so skin stays skin) and darkens the wash edges
// where pigment would pool.
type watercolour struct {
	Levels int     `json:"levels" default:"6" range:"2,64"`
	Smooth int     `json:"smooth" default:"3" range:"0,64"`
	Edge   float64 `json:"edge" range:"0,1"`
}

func (p watercolour) Apply(ctx context.Context, f *generate.Frame) error {
	pool := f.Pool
	src := toPlanes(pool, f.Image)
	levels := float32(p.Levels - 1)
	edge := float32(p.Edge)
	out := newPlanes(src.w, src.h)
	dst := out.channels()
	for c, ch := range src.channels() {
		s, err := gaussian(ctx, pool, ch, src.w, src.h, p.Smooth)
		if err != nil {
			return err
		}
		copy(dst[c], s)
	}
	grey := make([]float32, len(out.r))
	if err := pool.Bands(ctx, src.h, rowGrain, func(y0, y1 int) {
		for i := y0 * src.w; i < y1*src.w; i++ {
			l := luminance(out.r[i], out.g[i], out.b[i])
			q := float32(math.Round(float64(l*levels))) / levels
			q = max(q, 0.5/levels) // keep a trace of colour in the darkest wash
			k := q / max(l, 1e-3)
			out.r[i], out.g[i], out.b[i] = clamp(out.r[i]*k), clamp(out.g[i]*k), clamp(out.b[i]*k)
			grey[i] = q
		}
	}); err != nil {
		return err
	}
	// Each band writes its own rows of out and only reads grey.
	if err := pool.Bands(ctx, src.h, rowGrain, func(y0, y1 int) {
		for y := y0; y < y1; y++ {
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
	}); err != nil {
		return err
	}
	f.Image = out.toNRGBA(pool)
	return nil
}

// grade is a warm, contrasty colour grade with an optional vignette.
type grade struct {
	Warmth   float64 `json:"warmth" range:"-0.5,0.5"`
	Contrast float64 `json:"contrast" default:"1" range:"0.5,2"`
	Vignette float64 `json:"vignette" range:"0,1"`
}

func (p grade) Apply(ctx context.Context, f *generate.Frame) error {
	return gradeImage(ctx, f, float32(p.Warmth), float32(p.Contrast), float32(p.Vignette))
}

// gradeImage shifts colour temperature, stretches contrast about mid-grey
// and darkens towards the corners, in place.
func gradeImage(ctx context.Context, f *generate.Frame, warmth, contrast, vignette float32) error {
	w, h := f.Size()
	pix := f.Image.Pix
	shift := [3]float32{warmth, warmth / 3, -warmth}
	return f.Pool.Bands(ctx, h, rowGrain, func(y0, y1 int) {
		for y := y0; y < y1; y++ {
			dy := (float32(y)/float32(h) - 0.5) * 2
			for x := range w {
				dx := (float32(x)/float32(w) - 0.5) * 2
				v := 1 - vignette*(dx*dx+dy*dy)/2
				o := 4 * (y*w + x)
				for c := range 3 {
					s := (float32(pix[o+c])/255-0.5)*contrast + 0.5 + shift[c]
					pix[o+c] = to8(s * v)
				}
			}
		}
	})
}

// frame sets the picture in a light mat on a coloured border, like a print.
type frame struct {
	Width  float64 `json:"width" default:"0.06" range:"0,0.5"`
	Colour *Colour `json:"colour" default:"#1f2a44"`
}

func (p frame) Apply(ctx context.Context, f *generate.Frame) error {
	w, h := f.Size()
	border := max(int(p.Width*float64(max(w, h))), 2)
	mat := max(border/6, 1) // the light mat between photo and backdrop
	W, H := w+2*border, h+2*border
	// The frame extends the canvas: faces and matte move with the photo.
	if err := f.Transform(generate.Rect{X0: -float64(border), Y0: -float64(border), X1: float64(w + border), Y1: float64(h + border)}, W, H); err != nil {
		return err
	}
	br, bg, bb := p.Colour.rgb()
	pix := f.Image.Pix
	return f.Pool.Bands(ctx, H, rowGrain, func(y0, y1 int) {
		for y := y0; y < y1; y++ {
			for x := range W {
				sx, sy := x-border, y-border
				if sx >= 0 && sy >= 0 && sx < w && sy < h {
					continue
				}
				o := 4 * (y*W + x)
				if sx >= -mat && sy >= -mat && sx < w+mat && sy < h+mat {
					pix[o], pix[o+1], pix[o+2] = 0xf2, 0xee, 0xe6
					continue
				}
				// A soft vertical gradient makes the backdrop read as cloth.
				shade := 0.8 + 0.3*float32(y)/float32(H)
				pix[o], pix[o+1], pix[o+2] = to8(br*shade), to8(bg*shade), to8(bb*shade)
			}
		}
	})
}
