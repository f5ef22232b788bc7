// Package pipeline builds the worker's generator from the style catalogue:
// one generate.Pipeline per style, its steps made by package builtin (pure
// Go) or package onnx (networks, loaded once per process and shared by every
// style and slot).
package pipeline

import (
	"context"
	"errors"
	"fmt"

	"github.com/tigerstudio/studio/infra/styles"
	"github.com/tigerstudio/studio/worker/generate"
	"github.com/tigerstudio/studio/worker/generate/builtin"
	"github.com/tigerstudio/studio/worker/generate/onnx"
)

// NeedsRuntime reports whether any style of the catalogue runs a network,
// so a worker whose styles are all filters starts without ONNX Runtime.
func NeedsRuntime(cat *styles.Catalogue) bool {
	for _, s := range cat.All() {
		for _, st := range s.Steps {
			if isModelStep(st.Kind) {
				return true
			}
		}
	}
	return false
}

func isModelStep(kind string) bool {
	return kind == "detect-face" || kind == "matte" || kind == "model"
}

// Build makes every style's pipeline, loading and warming the models it
// needs through rt (nil when NeedsRuntime is false). It reports every
// broken style at once, naming it.
func Build(ctx context.Context, cat *styles.Catalogue, rt *onnx.Runtime) (generate.Pipelines, error) {
	ps := make(generate.Pipelines)
	var errs []error
	for _, s := range cat.All() {
		p, err := build(ctx, cat, rt, s)
		if err != nil {
			errs = append(errs, fmt.Errorf("style %q: %w", s.ID, err))
			continue
		}
		ps[s.ID] = p
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("pipeline.Build: %w", err)
	}
	return ps, nil
}

func build(ctx context.Context, cat *styles.Catalogue, rt *onnx.Runtime, s styles.Style) (generate.Pipeline, error) {
	var (
		p               generate.Pipeline
		haveFace, matte bool
	)
	for i, st := range s.Steps {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		// The face gate runs before anything that costs: a photo without
		// a face fails in milliseconds.
		if st.Kind == "detect-face" && i != 0 {
			return nil, fmt.Errorf("step %d: detect-face must be the first step", i)
		}
		step, err := newStep(ctx, cat, rt, st, haveFace, matte)
		if err != nil {
			return nil, fmt.Errorf("step %d (%s): %w", i, st.Kind, err)
		}
		haveFace = haveFace || st.Kind == "detect-face"
		matte = matte || st.Kind == "matte"
		p = append(p, generate.NamedStep{Kind: st.Kind, Step: step})
	}
	if len(p) == 0 {
		return nil, errors.New("no steps")
	}
	return p, nil
}

func newStep(ctx context.Context, cat *styles.Catalogue, rt *onnx.Runtime, st styles.Step, haveFace, haveMatte bool) (generate.Step, error) {
	if step, needs, ok, err := builtin.New(st.Kind, st.Params); ok {
		switch {
		case err != nil:
			return nil, err
		case needs.Face && !haveFace:
			return nil, errors.New("needs a face: put detect-face before it")
		case needs.Matte && !haveMatte:
			return nil, errors.New("needs the matte: put matte before it")
		}
		return step, nil
	}
	if st.Kind == styles.StepGenerate {
		return noHostedModel{}, nil
	}
	step, ok, err := onnx.NewStep(ctx, rt, st.Kind, st.Params, cat.Model)
	if !ok {
		return nil, fmt.Errorf("unknown step kind %q", st.Kind)
	}
	return step, err
}

// noHostedModel holds the place of the generate step until the worker's
// Vertex AI step (worker/generate/vertex, issue 17) is registered here, so
// a catalogue with generated styles still builds and the local styles run.
type noHostedModel struct{}

func (noHostedModel) Apply(context.Context, *generate.Frame) error {
	return errors.New("generate: this worker has no hosted image model configured")
}
