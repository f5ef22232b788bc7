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
	"github.com/tigerstudio/studio/worker/generate/vertex"
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
	return kind == "detect-face" || kind == "matte" || kind == "model" || kind == "upscale"
}

// NeedsVertex reports whether any style of the catalogue has a generate
// step, so a worker without generated styles needs no Vertex AI settings.
func NeedsVertex(cat *styles.Catalogue) bool {
	for _, s := range cat.All() {
		for _, st := range s.Steps {
			if st.Kind == styles.StepGenerate {
				return true
			}
		}
	}
	return false
}

// Deps are what the steps are built with: the process's ONNX Runtime (nil
// when NeedsRuntime is false) and its Vertex AI client (nil when
// NeedsVertex is false).
type Deps struct {
	Runtime *onnx.Runtime
	Vertex  *vertex.Client
}

// Build makes every style's pipeline, loading and warming the models it
// needs through rt (nil when NeedsRuntime is false). It reports every
// broken style at once, naming it.
func Build(ctx context.Context, cat *styles.Catalogue, rt *onnx.Runtime) (generate.Pipelines, error) {
	return BuildWith(ctx, cat, Deps{Runtime: rt})
}

// BuildWith is Build with every dependency a step may need.
func BuildWith(ctx context.Context, cat *styles.Catalogue, d Deps) (generate.Pipelines, error) {
	ps := make(generate.Pipelines)
	var errs []error
	for _, s := range cat.All() {
		p, err := build(ctx, cat, d, s)
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

func build(ctx context.Context, cat *styles.Catalogue, d Deps, s styles.Style) (generate.Pipeline, error) {
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
		step, err := newStep(ctx, cat, d, st, haveFace, matte)
		if err != nil {
			return nil, fmt.Errorf("step %d (%s): %w", i, st.Kind, err)
		}
		haveFace = haveFace || st.Kind == "detect-face"
		// The photo's matte does not fit what a model drew.
		matte = (matte || st.Kind == "matte") && st.Kind != styles.StepGenerate
		p = append(p, generate.NamedStep{Kind: st.Kind, Step: step})
	}
	if len(p) == 0 {
		return nil, errors.New("no steps")
	}
	return p, nil
}

func newStep(ctx context.Context, cat *styles.Catalogue, d Deps, st styles.Step, haveFace, haveMatte bool) (generate.Step, error) {
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
		if d.Vertex == nil {
			// Tools and tests that build the catalogue without a Vertex
			// client; the worker always has one (worker.Generator).
			return noHostedModel{}, nil
		}
		return d.Vertex.NewStep(st.Params)
	}
	if st.Kind == "upscale" && !haveFace { // it enlarges around the face the crop will frame
		return nil, errors.New("needs a face: put detect-face before it")
	}
	step, ok, err := onnx.NewStep(ctx, d.Runtime, st.Kind, st.Params, cat.Model)
	if !ok {
		return nil, fmt.Errorf("unknown step kind %q", st.Kind)
	}
	return step, err
}

// noHostedModel holds the place of the generate step where the catalogue
// is built without a Vertex AI client (the previews tool, tests of the local
// styles), so the local styles still build and run.
type noHostedModel struct{}

func (noHostedModel) Apply(context.Context, *generate.Frame) error {
	return errors.New("generate: this worker has no hosted image model configured")
}
