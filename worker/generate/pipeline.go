package generate

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"time"

	"github.com/tigerstudio/studio/infra/styles"
	"github.com/tigerstudio/studio/worker/internal/par"
)

// Pipeline is a style's steps, in order.
type Pipeline []NamedStep

// NamedStep is a step and the catalogue kind it was built from.
type NamedStep struct {
	Kind string
	Step Step
}

// Run applies the steps to one shared frame and returns its image.
func (p Pipeline) Run(ctx context.Context, in image.Image) (Result, error) {
	if b := in.Bounds(); b.Dx() < 8 || b.Dy() < 8 {
		return Result{}, fmt.Errorf("%w: image of %dx%d is too small", ErrInvalidInput, b.Dx(), b.Dy())
	}
	f := newFrame(par.From(ctx), in)
	res := Result{Steps: make([]StepTiming, 0, len(p))}
	for i, s := range p {
		if err := ctx.Err(); err != nil {
			return Result{}, err
		}
		start := time.Now()
		if err := s.Step.Apply(ctx, f); err != nil {
			return Result{}, fmt.Errorf("step %d (%s): %w", i, s.Kind, err)
		}
		res.Steps = append(res.Steps, StepTiming{Step: s.Kind, Duration: time.Since(start)})
	}
	res.Images = []image.Image{f.Image}
	return res, nil
}

// Pipelines routes each style to its pipeline; it is the worker's Generator.
type Pipelines map[string]Pipeline

// Generate runs the style's pipeline.
func (ps Pipelines) Generate(ctx context.Context, style styles.Style, in image.Image) (Result, error) {
	p, ok := ps[style.ID]
	if !ok {
		return Result{}, fmt.Errorf("%w: style %q has no pipeline on this worker", ErrInvalidInput, style.ID)
	}
	return p.Run(ctx, in)
}

// DecodeParams fills dst, a pointer to a struct with json tags, from a
// step's parameters, refusing names dst does not know so a typo in the
// catalogue is an error at start rather than a silently ignored setting.
func DecodeParams(params map[string]any, dst any) error {
	data, err := json.Marshal(params)
	if err != nil {
		return fmt.Errorf("params: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return fmt.Errorf("params: %w", err)
	}
	return nil
}
