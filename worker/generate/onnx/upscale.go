package onnx

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"

	"github.com/tigerstudio/studio/worker/generate"
)

// upscaleStep gives a small face real detail before a crop enlarges it. It
// goes right before the crop: when that crop would draw the face more than
// Above times larger than it is in the photo (FaceWidth pixels wide, the
// crop's size times its faceWidth), the frame becomes the face and Margin
// face widths around it, enlarged as much as the crop needs (at most the
// model's factor), so the crop then samples it about one to one. The face
// itself and Detail face widths around it come from the super-resolution
// model (kind "upscale", run in tiles), shrunk to that enlargement by area
// averaging and blended in over Feather pixels; the rest is the bilinear
// enlargement it had before, so the model's cost stays on the face. Below
// the threshold the step changes nothing. Margin must cover the crop's
// frame: what the crop takes beyond it becomes backdrop, as beyond the
// photo's edge.
type upscaleStep struct {
	m    *Model
	spec Spec
	p    upscaleParams
}

type upscaleParams struct {
	Model     string  `json:"model"`
	FaceWidth float64 `json:"faceWidth"`
	Above     float64 `json:"above"`
	Margin    float64 `json:"margin"`
	Detail    float64 `json:"detail"`
	Feather   int     `json:"feather"`
}

// maxUpscalePixels bounds the enlarged frame (a 4096x4096 image), so a tiny
// face in a large photo cannot exhaust memory.
const maxUpscalePixels = 1 << 24

func newUpscaleStep(ctx context.Context, rt *Runtime, spec Spec, params map[string]any) (generate.Step, error) {
	p := upscaleParams{Above: 1.5, Margin: 1.25, Detail: 0.3, Feather: 16}
	if err := generate.DecodeParams(params, &p); err != nil {
		return nil, err
	}
	var errs []error
	if !(p.FaceWidth >= 16 && p.FaceWidth <= 4096) {
		errs = append(errs, fmt.Errorf("faceWidth %v: the face's width in pixels after the crop that follows (its size times its faceWidth), 16 to 4096", p.FaceWidth))
	}
	if !(p.Above >= 1 && p.Above <= 16) {
		errs = append(errs, fmt.Errorf("above %v: the enlargement from which the model runs, 1 to 16", p.Above))
	}
	if !(p.Margin >= 0.25 && p.Margin <= 8) {
		errs = append(errs, fmt.Errorf("margin %v: face widths kept around the face, 0.25 to 8", p.Margin))
	}
	if !(p.Detail >= 0 && p.Detail <= p.Margin) {
		errs = append(errs, fmt.Errorf("detail %v: face widths around the face the model draws, 0 to margin (%v)", p.Detail, p.Margin))
	}
	if p.Feather < 0 || p.Feather > 256 {
		errs = append(errs, fmt.Errorf("feather %d: pixels over which the model's picture blends in, 0 to 256", p.Feather))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return loadStep(ctx, rt, spec, []string{spec.Output}, func(m *Model) upscaleStep { return upscaleStep{m: m, spec: spec, p: p} })
}

// try runs the network once on a blank image of warmSide.
func (s upscaleStep) try(ctx context.Context) error {
	spec := s.spec
	blank := make([]float32, 3*warmSide*warmSide)
	if err := s.runCrop(ctx, blank, warmSide, warmSide, make([]float32, len(blank)*spec.Scale*spec.Scale)); err != nil {
		return fmt.Errorf("on a %dx%d image (want input %q and output %q, float32 RGB %s, %d times larger out): %w",
			warmSide, warmSide, spec.Input, spec.Output, spec.Layout, spec.Scale, err)
	}
	return nil
}

// runCrop runs the model on one CHW crop of h x w; out gets Scale times that.
func (s upscaleStep) runCrop(ctx context.Context, in []float32, h, w int, out []float32) error {
	return s.m.runRGB(ctx, s.spec.Layout, s.spec.Scale, in, h, w, out)
}

// plan is what Apply will do with a frame: keep region k, enlarged to
// w x h, the model drawing region d within it; ok is false when the face
// is large enough already.
type plan struct {
	k, d image.Rectangle
	w, h int
}

func (s upscaleStep) plan(f *generate.Frame) (pl plan, ok bool, err error) {
	if len(f.Faces) == 0 {
		return pl, false, fmt.Errorf("%w: upscale needs a face and none was found", generate.ErrNoFace)
	}
	box := f.Faces[0].Box
	enlarge := s.p.FaceWidth / box.W()
	if !(enlarge > s.p.Above) {
		return pl, false, nil
	}
	fw, fh := f.Size()
	around := func(m float64) image.Rectangle {
		m *= box.W()
		return image.Rect(int(math.Floor(box.X0-m)), int(math.Floor(box.Y0-m)), int(math.Ceil(box.X1+m)), int(math.Ceil(box.Y1+m))).
			Intersect(image.Rect(0, 0, fw, fh))
	}
	pl.k, pl.d = around(s.p.Margin), around(s.p.Detail)
	if pl.d.Empty() {
		return pl, false, nil
	}
	t := min(enlarge, float64(s.spec.Scale), math.Sqrt(maxUpscalePixels/float64(pl.k.Dx()*pl.k.Dy())))
	pl.w, pl.h = max(1, int(math.Round(float64(pl.k.Dx())*t))), max(1, int(math.Round(float64(pl.k.Dy())*t)))
	return pl, true, nil
}

func (s upscaleStep) Apply(ctx context.Context, f *generate.Frame) error {
	pl, ok, err := s.plan(f)
	if err != nil || !ok {
		return err
	}
	src := toPlanar(f.Image.SubImage(pl.d).(*image.NRGBA), s.spec)
	sr, err := runTiledScaled(ctx, src, s.spec.Tile, s.spec.Pad, s.spec.Scale, namedTiles("the upscale model", s.runCrop))
	if err != nil {
		return err
	}
	// The bilinear enlargement of the kept region, with the matte and the
	// faces moved along; the model's picture replaces it on d.
	k := pl.k
	if err := f.Transform(generate.Rect{X0: float64(k.Min.X), Y0: float64(k.Min.Y), X1: float64(k.Max.X), Y1: float64(k.Max.Y)}, pl.w, pl.h); err != nil {
		return err
	}
	s.blend(f.Image, sr, pl)
	return nil
}

// blend writes the model's picture sr of region d (Scale times larger)
// into img, the w x h enlargement of region k: every output pixel whose
// area lies inside d takes the mean of the model pixels it covers, faded in
// over Feather pixels from each side of d that is not k's (the photo's)
// edge too.
func (s upscaleStep) blend(img *image.NRGBA, sr planar, pl plan) {
	sc := float64(s.spec.Scale)
	axis := func(k0, k1, d0, d1, n int) (p0, p1 int, spans []span, fade0, fade1 bool) {
		t := float64(n) / float64(k1-k0) // output pixels per photo pixel
		p0 = int(math.Ceil(float64(d0-k0) * t))
		p1 = min(int(math.Floor(float64(d1-k0)*t)), n)
		if p1 <= p0 {
			return p0, p0, nil, false, false
		}
		// Output pixel p covers photo [k0 + p/t, k0 + (p+1)/t), model
		// pixels (that - d0) * sc.
		spans = areaSpans(p1-p0, (float64(k0)+float64(p0)/t-float64(d0))*sc, sc/t, (d1-d0)*s.spec.Scale)
		return p0, p1, spans, d0 > k0, d1 < k1
	}
	x0, x1, xs, fl, fr := axis(pl.k.Min.X, pl.k.Max.X, pl.d.Min.X, pl.d.Max.X, pl.w)
	y0, y1, ys, ft, fb := axis(pl.k.Min.Y, pl.k.Max.Y, pl.d.Min.Y, pl.d.Max.Y, pl.h)
	if xs == nil || ys == nil {
		return
	}
	patch := sr.area(xs, ys)
	pw, ph := x1-x0, y1-y0
	ramp := func(i, n int, from, to bool) float32 { // 1 inside, fading to 0 at a feathered edge
		a := float32(1)
		if f := s.p.Feather; f > 0 {
			if from {
				a = min(a, float32(i+1)/float32(f+1))
			}
			if to {
				a = min(a, float32(n-i)/float32(f+1))
			}
		}
		return a
	}
	for y := range ph {
		ay := ramp(y, ph, ft, fb)
		row := img.Pix[(y0+y)*img.Stride+4*x0:]
		for x := range pw {
			a := min(ay, ramp(x, pw, fl, fr))
			for c := range 3 {
				v := s.spec.denormalise(patch.pix[(c*ph+y)*pw+x]) * 255
				if !(v > 0) { // also NaN
					v = 0
				}
				v = min(v, 255)
				old := float32(row[4*x+c])
				row[4*x+c] = uint8(old + (v-old)*a + 0.5)
			}
		}
	}
}

// area resamples every plane at the spans: output (x, y) is the weighted
// mean of the source pixels xs[x] and ys[y] name.
func (p planar) area(xs, ys []span) planar {
	w, h := len(xs), len(ys)
	out := planar{w: w, h: h, c: p.c, pix: make([]float32, p.c*w*h)}
	row := make([]float32, w*p.h) // horizontal pass of one plane
	for c := range p.c {
		plane := p.pix[c*p.w*p.h : (c+1)*p.w*p.h]
		for y := range p.h {
			src := plane[y*p.w:]
			for x, sp := range xs {
				var v float32
				for k, wt := range sp.w {
					v += wt * src[sp.i0+k]
				}
				row[y*w+x] = v
			}
		}
		dst := out.pix[c*w*h:]
		for y, sp := range ys {
			for x := range w {
				var v float32
				for k, wt := range sp.w {
					v += wt * row[(sp.i0+k)*w+x]
				}
				dst[y*w+x] = v
			}
		}
	}
	return out
}

// span is the source pixels one output pixel averages: from i0, weighted.
type span struct {
	i0 int
	w  []float32
}

// areaSpans maps n output pixels onto a source of size pixels: output i
// covers [origin + i*step, origin + (i+1)*step) (step >= 1, a shrink or a
// copy), each source pixel weighted by its overlap, clamped to the source.
func areaSpans(n int, origin, step float64, size int) []span {
	spans := make([]span, n)
	for i := range n {
		a := math.Max(origin+float64(i)*step, 0)
		b := math.Min(origin+float64(i+1)*step, float64(size))
		j0 := min(int(a), size-1)
		j1 := max(min(int(math.Ceil(b)), size), j0+1)
		sp := span{i0: j0, w: make([]float32, 0, j1-j0)}
		var total float64
		for j := j0; j < j1; j++ {
			total += math.Max(math.Min(b, float64(j+1))-math.Max(a, float64(j)), 0)
		}
		for j := j0; j < j1; j++ {
			o := math.Max(math.Min(b, float64(j+1))-math.Max(a, float64(j)), 0)
			if total > 0 {
				o /= total
			} else {
				o = 1 / float64(j1-j0)
			}
			sp.w = append(sp.w, float32(o))
		}
		spans[i] = sp
	}
	return spans
}
