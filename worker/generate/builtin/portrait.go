package builtin

import (
	"context"
	"fmt"
	"math"

	"github.com/tigerstudio/studio/worker/generate"
	"github.com/tigerstudio/studio/worker/internal/par"
)

// crop frames the face head-and-shoulders: the eyes at EyeLine of the
// height from the top, the face box FaceWidth of the output's width, in the
// given aspect, scaled so the longer side is Size. Group frames every face
// instead of the largest. Where the frame reaches past the photo the matte
// is 0, so a backdrop step after it fills the gap.
type crop struct {
	Aspect    string  `json:"aspect"`
	Size      int     `json:"size" default:"1024" range:"64,4096"`
	EyeLine   float64 `json:"eyeLine" default:"0.4" range:"0.1,0.9"`
	FaceWidth float64 `json:"faceWidth" default:"1/3" range:"0.05,0.95"`
	Group     bool    `json:"group"`
	ratio     float64 // width / height
}

func checkCrop(p crop) (crop, error) {
	switch p.Aspect {
	case "", "1:1":
		p.ratio = 1
	case "4:5":
		p.ratio = 0.8
	case "2:3":
		p.ratio = 2.0 / 3
	default:
		return p, fmt.Errorf("aspect %q: want 1:1, 4:5 or 2:3", p.Aspect)
	}
	return p, nil
}

// region is the source rectangle the crop takes from a frame with these
// faces, and the output size.
func (p crop) region(faces []generate.Face) (generate.Rect, int, int) {
	box := faces[0].Box
	eye := faces[0].EyeCentre()
	if p.Group {
		var sy float64
		for _, fc := range faces {
			box.X0, box.Y0 = math.Min(box.X0, fc.Box.X0), math.Min(box.Y0, fc.Box.Y0)
			box.X1, box.Y1 = math.Max(box.X1, fc.Box.X1), math.Max(box.Y1, fc.Box.Y1)
			e := fc.EyeCentre()
			sy += e.Y
		}
		eye = generate.Point{X: (box.X0 + box.X1) / 2, Y: sy / float64(len(faces))}
	}
	cw := box.W() / p.FaceWidth
	ch := cw / p.ratio
	r := generate.Rect{X0: eye.X - cw/2, Y0: eye.Y - p.EyeLine*ch}
	r.X1, r.Y1 = r.X0+cw, r.Y0+ch
	w, h := p.Size, p.Size
	if p.ratio < 1 {
		w = int(math.Round(float64(p.Size) * p.ratio))
	} else {
		h = int(math.Round(float64(p.Size) / p.ratio))
	}
	return r, w, h
}

func (p crop) Apply(ctx context.Context, f *generate.Frame) error {
	if len(f.Faces) == 0 {
		return fmt.Errorf("%w: crop needs a face and none was found", generate.ErrNoFace)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	r, w, h := p.region(f.Faces)
	return f.Transform(r, w, h)
}

// backdrop replaces what the matte calls background: a colour, a vertical
// gradient (Colour at the top to To at the bottom), or the photo itself
// blurred like a wide-aperture lens (Radius, a fraction of the longer side).
// Vignette darkens the backdrop towards the corners; Feather softens the
// matte's edge by that many pixels.
type backdrop struct {
	Kind     string  `json:"kind"`
	Colour   *Colour `json:"colour"`
	To       *Colour `json:"to"`
	Radius   float64 `json:"radius"` // blur only: its default and bounds are checkBackdrop's
	Vignette float64 `json:"vignette" range:"0,1"`
	Feather  int     `json:"feather" range:"0,64"`
}

func checkBackdrop(p backdrop) (backdrop, error) {
	switch p.Kind {
	case "colour", "gradient":
		if p.Colour == nil {
			return p, fmt.Errorf("backdrop %s needs a colour", p.Kind)
		}
		if p.To == nil {
			p.To = p.Colour
		}
	case "blur":
		if p.Radius == 0 {
			p.Radius = 0.02
		}
		if err := inRange("radius", p.Radius, 0.001, 0.2); err != nil {
			return p, err
		}
	default:
		return p, fmt.Errorf("backdrop kind %q: want colour, gradient or blur", p.Kind)
	}
	return p, nil
}

func (p backdrop) Apply(ctx context.Context, f *generate.Frame) error {
	w, h := f.Size()
	pool := f.Pool
	alpha := f.Matte
	if p.Feather > 0 {
		var err error
		if alpha, err = gaussian(ctx, pool, alpha, w, h, max(p.Feather/3, 1)); err != nil {
			return err
		}
	}
	src := toPlanes(pool, f.Image)
	bg := newPlanes(w, h)
	if p.Kind == "blur" {
		if err := p.blurred(ctx, pool, src, alpha, bg); err != nil {
			return err
		}
	} else {
		tr, tg, tb := p.Colour.rgb()
		br, bgc, bb := p.To.rgb()
		_ = pool.Bands(ctx, h, rowGrain, func(y0, y1 int) {
			for y := y0; y < y1; y++ {
				t := float32(y) / float32(max(h-1, 1))
				r, g, b := tr+(br-tr)*t, tg+(bgc-tg)*t, tb+(bb-tb)*t
				for x := range w {
					i := y*w + x
					bg.r[i], bg.g[i], bg.b[i] = r, g, b
				}
			}
		})
	}
	// After the bokeh, which blurs the photo's own background.
	if err := decontaminate(ctx, pool, src, f.Matte, alpha); err != nil {
		return err
	}
	out, vig := bg.channels(), float32(p.Vignette)
	in := src.channels()
	if err := pool.Bands(ctx, h, rowGrain, func(y0, y1 int) {
		for y := y0; y < y1; y++ {
			dy := (float32(y)/float32(h) - 0.5) * 2
			for x := range w {
				dx := (float32(x)/float32(w) - 0.5) * 2
				v := 1 - vig*(dx*dx+dy*dy)/2
				i := y*w + x
				a := min(max(alpha[i], 0), 1)
				for c := range 3 {
					out[c][i] = in[c][i]*a + out[c][i]*v*(1-a)
				}
			}
		}
	}); err != nil {
		return err
	}
	f.Image = bg.toNRGBA(pool)
	return nil
}

// wallOnly is the most of the person a pixel may hold for its colour to
// stand for the wall's near the person's edge.
const wallOnly = 0.1

// decontaminate replaces, where the person's edge is soft, the pixel's
// colour by the person's own: a pixel of hair against a bright wall is
// the hair's colour and the wall's mixed by the matte (I = aF + (1-a)B),
// and laid on a new backdrop unchanged it carries the wall's light along
// as a fringe. B is the nearby wall (the mean colour of pixels the matte
// calls background, within reach) and F is solved from I = aF + (1-a)B;
// composited again, a*F + (1-a)*backdrop is the photo less the wall's
// share, and an 8-bit error e of the photo comes back as a*(e/a) = e. A
// pixel with no wall within reach (inside the person), one the matte calls
// all person, and one it calls all background keep their colour. matte is
// the model's coverage; alpha the one composited (feathered).
func decontaminate(ctx context.Context, pool *par.Pool, src planes, matte, alpha []float32) error {
	w, h := src.w, src.h
	soft := false
	for i, a := range alpha {
		if a > 0 && matte[i] > 0 && matte[i] < 1 {
			soft = true
			break
		}
	}
	if !soft {
		return ctx.Err()
	}
	// Wide enough to reach from the middle of a soft edge (hair, a
	// feather) to the wall.
	r := max(max(w, h)/40, 8)
	wall := make([]float32, w*h)
	if err := pool.Bands(ctx, h, rowGrain, func(y0, y1 int) {
		for i := y0 * w; i < y1*w; i++ {
			if matte[i] <= wallOnly {
				wall[i] = 1
			}
		}
	}); err != nil {
		return err
	}
	wallSum, err := gaussian(ctx, pool, wall, w, h, r)
	if err != nil {
		return err
	}
	const enough = 1e-3 // some wall within reach
	for _, ch := range src.channels() {
		bg, err := gaussianOfProduct(ctx, pool, ch, wall, w, h, r)
		if err != nil {
			return err
		}
		if err := pool.Bands(ctx, h, rowGrain, func(y0, y1 int) {
			for i := y0 * w; i < y1*w; i++ {
				m := matte[i]
				if alpha[i] <= 0 || m <= 0 || m >= 1 || wallSum[i] <= enough {
					continue
				}
				ch[i] = clamp((ch[i] - (1-m)*bg[i]/wallSum[i]) / m)
			}
		}); err != nil {
			return err
		}
	}
	return nil
}

// blurred fills bg with the background blurred without the person: each
// channel is blurred weighted by the background's share, so the person's
// colours do not bleed into the bokeh as a halo.
func (p backdrop) blurred(ctx context.Context, pool *par.Pool, src planes, alpha []float32, bg planes) error {
	w, h := src.w, src.h
	r := max(int(p.Radius*float64(max(w, h))/2), 1) // three box passes of r ~ a Gaussian of sigma r
	weight := make([]float32, w*h)
	_ = pool.Bands(ctx, h, rowGrain, func(y0, y1 int) {
		for i := y0 * w; i < y1*w; i++ {
			weight[i] = 1 - min(max(alpha[i], 0), 1)
		}
	})
	wsum, err := gaussian(ctx, pool, weight, w, h, r)
	if err != nil {
		return err
	}
	dst := bg.channels()
	for c, ch := range src.channels() {
		weighted, err := gaussianOfProduct(ctx, pool, ch, weight, w, h, r)
		if err != nil {
			return err
		}
		plain, err := gaussian(ctx, pool, ch, w, h, r)
		if err != nil {
			return err
		}
		if err := pool.Bands(ctx, h, rowGrain, func(y0, y1 int) {
			for i := y0 * w; i < y1*w; i++ {
				if wsum[i] > 0.05 {
					dst[c][i] = weighted[i] / wsum[i]
				} else {
					dst[c][i] = plain[i] // deep inside the person: hidden anyway
				}
			}
		}); err != nil {
			return err
		}
	}
	return nil
}

// retouch smooths skin inside the face (an ellipse around the box, leaving
// the eyes and the mouth untouched) with an edge-aware blur that keeps
// features and removes blemishes and noise, then grades the whole picture
// lightly.
type retouch struct {
	Smooth   float64 `json:"smooth" range:"0,1"`
	Warmth   float64 `json:"warmth" range:"-0.2,0.2"`
	Contrast float64 `json:"contrast" default:"1" range:"0.8,1.3"`
}

// SkinMask is the retouch's weight per pixel: 1 on the face's skin, 0 on the
// eyes, the mouth and outside the face, soft in between.
func SkinMask(fc generate.Face, w, h int) []float32 {
	m := make([]float32, w*h)
	cx, cy := (fc.Box.X0+fc.Box.X1)/2, (fc.Box.Y0+fc.Box.Y1)/2
	rx, ry := fc.Box.W()*0.55, fc.Box.H()*0.65
	keep := fc.Box.W() * 0.13 // eye and mouth radius
	x0, x1 := max(int(cx-rx), 0), min(int(cx+rx)+1, w)
	y0, y1 := max(int(cy-ry), 0), min(int(cy+ry)+1, h)
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			dx, dy := (float64(x)+0.5-cx)/rx, (float64(y)+0.5-cy)/ry
			d := math.Sqrt(dx*dx + dy*dy)
			if d >= 1 {
				continue
			}
			v := math.Min((1-d)/0.25, 1) // soft rim
			for k, kp := range fc.Keypoints {
				if k != generate.RightEye && k != generate.LeftEye && k != generate.Mouth {
					continue
				}
				r := keep
				if k == generate.Mouth {
					r *= 1.3
				}
				e := math.Hypot(float64(x)+0.5-kp.X, float64(y)+0.5-kp.Y) / r
				v *= math.Min(math.Max((e-1)/0.5, 0), 1)
			}
			m[y*w+x] = float32(v)
		}
	}
	return m
}

func (p retouch) Apply(ctx context.Context, f *generate.Frame) error {
	w, h := f.Size()
	if p.Smooth > 0 {
		for _, fc := range f.Faces {
			if err := p.smooth(ctx, f, fc, w, h); err != nil {
				return err
			}
		}
	}
	return gradeImage(ctx, f, float32(p.Warmth), float32(p.Contrast), 0)
}

func (p retouch) smooth(ctx context.Context, f *generate.Frame, fc generate.Face, w, h int) error {
	mask := SkinMask(fc, w, h)
	pool := f.Pool
	src := toPlanes(pool, f.Image)
	r := max(int(fc.Box.W()/40), 1)
	strength := float32(p.Smooth)
	pix := f.Image.Pix
	for c, ch := range src.channels() {
		blur, err := gaussian(ctx, pool, ch, w, h, r)
		if err != nil {
			return err
		}
		if err := pool.Bands(ctx, h, rowGrain, func(y0, y1 int) {
			for i := y0 * w; i < y1*w; i++ {
				m := mask[i]
				if m == 0 {
					continue
				}
				// Edge-aware: a pixel far from its neighbourhood (a nostril,
				// the jaw line; about 0.17 or more) is a feature and kept,
				// while noise and small blemishes are smoothed away.
				d := ch[i] - blur[i]
				keep := min(d*d/0.03, 1)
				k := m * strength * (1 - keep)
				pix[4*i+c] = to8(ch[i]*(1-k) + blur[i]*k)
			}
		}); err != nil {
			return err
		}
	}
	return nil
}
