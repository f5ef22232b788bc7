package onnx

import (
	"context"
	"fmt"
	"maps"

	"github.com/tigerstudio/studio/worker/generate"
)

// ModelLookup finds a named model of the catalogue.
type ModelLookup func(name string) (map[string]any, bool)

// NewStep builds a step that runs a network: detect-face, matte, model or
// upscale.
// The step's params name a catalogue model ("model": "isnet-small"); the
// model step may instead describe its network inline (the one-step onnx
// styles). ok is false for kinds this package does not have.
func NewStep(ctx context.Context, rt *Runtime, kind string, params map[string]any, models ModelLookup) (step generate.Step, ok bool, err error) {
	want := modelKind(kind)
	if want == "" {
		return nil, false, nil
	}
	params = maps.Clone(params)
	var spec Spec
	name, named := params["model"].(string)
	switch {
	case named:
		m, found := models(name)
		if !found {
			return nil, true, fmt.Errorf("model %q is not in the catalogue", name)
		}
		if spec, err = ParseSpec(m); err != nil {
			return nil, true, fmt.Errorf("model %q: %w", name, err)
		}
	case kind == "model":
		if spec, err = ParseSpec(params); err != nil {
			return nil, true, err
		}
		params = nil
	default:
		return nil, true, fmt.Errorf(`%s needs "model": the name of a catalogue model`, kind)
	}
	if rt == nil {
		return nil, true, fmt.Errorf("%s needs ONNX Runtime, which this worker did not start", kind)
	}
	switch {
	case kind == "matte" && len(params) > 1:
		return nil, true, fmt.Errorf("matte takes no parameters besides model, got %v", params)
	case kind == "model" && len(params) > 1:
		return nil, true, fmt.Errorf("a model step naming a catalogue model takes no other parameters, got %v", params)
	case spec.Kind != want:
		return nil, true, fmt.Errorf("the %s step needs a model of kind %q, not %q", kind, want, spec.Kind)
	}
	switch kind {
	case "detect-face":
		step, err = newFaceStep(ctx, rt, spec, params)
	case "matte":
		step, err = newMatteStep(ctx, rt, spec)
	case "upscale":
		step, err = newUpscaleStep(ctx, rt, spec, params)
	default:
		step, err = newImageStep(ctx, rt, spec)
	}
	return step, true, err
}

// tryable is a step that can run its network once on a blank input.
type tryable interface {
	generate.Step
	try(ctx context.Context) error
}

// loadStep loads spec's network, reading the named outputs, makes the step
// on it and tries the step once (see Model.Warm), so a network that does not
// fit the catalogue's description is refused when the step is built.
func loadStep[S tryable](ctx context.Context, rt *Runtime, spec Spec, outputs []string, build func(*Model) S) (generate.Step, error) {
	m, err := rt.Load(ctx, spec, []string{spec.Input}, outputs)
	if err != nil {
		return nil, err
	}
	s := build(m)
	return s, m.Warm(spec, func() error { return s.try(ctx) })
}

// modelKind is the kind of model a step of this package runs; "" for a
// step kind this package does not have.
func modelKind(step string) string {
	switch step {
	case "detect-face":
		return KindFaceDetector
	case "matte":
		return KindMatte
	case "model":
		return KindImage
	case "upscale":
		return KindUpscale
	}
	return ""
}
