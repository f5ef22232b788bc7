package onnx

import (
	"context"
	"fmt"

	"github.com/tigerstudio/studio/worker/generate"
	"github.com/tigerstudio/studio/worker/imaging"
)

// imageStep is the generic "model" step: any image-to-image network an
// operator supplies, RGB in and out, in NCHW or NHWC, with the value range
// and normalisation its Spec gives. A model of fixed size sees the whole
// frame resized to it; a model of dynamic size runs over tiles with overlap,
// so a large photo fits in memory without seams.
type imageStep struct {
	m    *Model
	spec Spec
}

// warmSide is the blank image a dynamic-size model is tried on: 32 suits
// models that downsample by up to 32.
const warmSide = 32

func newImageStep(ctx context.Context, rt *Runtime, spec Spec) (generate.Step, error) {
	return loadStep(ctx, rt, spec, []string{spec.Output}, func(m *Model) imageStep { return imageStep{m: m, spec: spec} })
}

// try runs the network once on a blank image of its size.
func (s imageStep) try(ctx context.Context) error {
	spec := s.spec
	h, w := warmSide, warmSide
	if spec.fixed() {
		h, w = spec.Size[0], spec.Size[1]
	}
	blank := make([]float32, 3*h*w)
	if err := s.runCrop(ctx, blank, h, w, make([]float32, len(blank))); err != nil {
		return fmt.Errorf("on a %dx%d image (want input %q and output %q, float32 RGB %s, same size in and out): %w",
			w, h, spec.Input, spec.Output, spec.Layout, err)
	}
	return nil
}

// runCrop runs the model on one CHW crop.
func (s imageStep) runCrop(ctx context.Context, in []float32, h, w int, out []float32) error {
	return s.m.runRGB(ctx, s.spec.Layout, 1, in, h, w, out)
}

// runRGB runs an RGB image-to-image network on one CHW crop of h x w in the
// layout it takes; out gets scale times that on each side (1 but for a
// super-resolution network).
func (m *Model) runRGB(ctx context.Context, layout string, scale int, in []float32, h, w int, out []float32) error {
	oh, ow := scale*h, scale*w
	buf := toLayout(layout, out, 3, oh, ow)
	if err := m.runFloat(ctx, []tensor{{shape(layout, 3, h, w), toLayout(layout, in, 3, h, w)}}, []tensor{{shape(layout, 3, oh, ow), buf}}); err != nil {
		return err
	}
	fromLayout(layout, buf, out, 3, oh, ow)
	return nil
}

func (s imageStep) Apply(ctx context.Context, f *generate.Frame) error {
	spec := s.spec
	w, h := f.Size()
	if fw, fh := imaging.FitSize(w, h, spec.MaxSide); fw != w || fh != h {
		if err := f.Transform(generate.Rect{X1: float64(w), Y1: float64(h)}, fw, fh); err != nil {
			return err
		}
		w, h = fw, fh
	}
	src := toPlanarOn(f.Pool, f.Image, spec)
	var dst planar
	if spec.fixed() {
		in := src.resizeOn(f.Pool, spec.Size[1], spec.Size[0])
		out := planar{w: in.w, h: in.h, c: 3, pix: make([]float32, len(in.pix))}
		if err := s.runCrop(ctx, in.pix, in.h, in.w, out.pix); err != nil {
			return fmt.Errorf("running the model: %w", err)
		}
		dst = out.resizeOn(f.Pool, w, h)
	} else {
		var err error
		dst, err = runTiled(ctx, src, spec.Tile, spec.Pad, namedTiles("the model", s.runCrop))
		if err != nil {
			return err
		}
	}
	f.Image = toNRGBAOn(f.Pool, dst, spec)
	return nil
}
