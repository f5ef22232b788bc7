package onnx

import (
	"context"
	"fmt"

	"github.com/tigerstudio/studio/worker/generate"
)

// matteStep finds the person: a portrait-matting network of fixed input
// size sees the frame stretched to that size, and its alpha output is
// scaled back to the frame as the frame's Matte.
type matteStep struct {
	m    *Model
	spec Spec
}

func newMatteStep(ctx context.Context, rt *Runtime, spec Spec) (generate.Step, error) {
	return loadStep(ctx, rt, spec, []string{spec.Output}, func(m *Model) matteStep { return matteStep{m: m, spec: spec} })
}

// try runs the network once on a blank image of its size.
func (s matteStep) try(ctx context.Context) error {
	spec := s.spec
	h, w := spec.Size[0], spec.Size[1]
	if _, err := s.alpha(ctx, planar{w: w, h: h, c: 3, pix: make([]float32, 3*h*w)}); err != nil {
		return fmt.Errorf("on a blank %dx%d image (want input %q float32 RGB %s and output %q with %d channel(s)): %w",
			w, h, spec.Input, spec.Layout, spec.Output, spec.Channels, err)
	}
	return nil
}

// alpha runs the network on an input of its size and returns the person's
// channel.
func (s matteStep) alpha(ctx context.Context, in planar) ([]float32, error) {
	spec := s.spec
	h, w, c := in.h, in.w, spec.Channels
	out := make([]float32, c*h*w)
	if err := s.m.runFloat(ctx,
		[]tensor{{shape(spec.Layout, 3, h, w), toLayout(spec.Layout, in.pix, 3, h, w)}},
		[]tensor{{shape(spec.Layout, c, h, w), out}}); err != nil {
		return nil, err
	}
	chw := out
	if spec.Layout == NHWC {
		chw = make([]float32, len(out))
		fromLayout(NHWC, out, chw, c, h, w)
	}
	return chw[spec.Channel*h*w : (spec.Channel+1)*h*w], nil
}

func (s matteStep) Apply(ctx context.Context, f *generate.Frame) error {
	spec := s.spec
	w, h := f.Size()
	in := toPlanarOn(f.Pool, f.Image, spec).resizeOn(f.Pool, spec.Size[1], spec.Size[0])
	a, err := s.alpha(ctx, in)
	if err != nil {
		return fmt.Errorf("running the matte model: %w", err)
	}
	m := generate.ResizePlaneOn(f.Pool, a, spec.Size[1], spec.Size[0], w, h)
	_ = f.Pool.Bands(ctx, h, rowGrain, func(y0, y1 int) {
		for i := y0 * w; i < y1*w; i++ {
			m[i] = min(max(m[i], 0), 1) // also NaN -> 0
		}
	})
	if err := ctx.Err(); err != nil {
		return err
	}
	f.Matte = m
	return nil
}
