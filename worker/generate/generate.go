// Package generate turns an input photo into styled images. A style is a
// pipeline of steps (see infra/styles): each Step transforms one shared
// Frame (the image, the faces found in it, the person's matte) in place.
// The step kinds live in builtin (pure-Go image operations) and onnx
// (neural networks); package pipeline builds a catalogue's pipelines.
package generate

import (
	"context"
	"errors"
	"image"
	"time"

	"github.com/tigerstudio/studio/infra/styles"
)

// ErrInvalidInput marks a failure that retrying cannot fix (an image the
// model cannot take, a style the worker does not know). The worker turns it
// into an error document at once.
var ErrInvalidInput = errors.New("input cannot be generated")

// ErrNoFace is returned before any generation when a style needs a face and
// the photo has none the detector trusts. It is not retried: the user must
// retake the photo.
var ErrNoFace = errors.New("no face found in the photo")

// Result is what a generation made, and what its steps cost.
type Result struct {
	Images []image.Image
	// Steps is each step's duration in order ("matte", "crop", ...), so
	// the face gate's cost and the model time show in the job's timings.
	Steps []StepTiming
}

// StepTiming is one step's wall time.
type StepTiming struct {
	Step     string
	Duration time.Duration
}

// Generator makes the outputs of one job. It must return promptly once ctx
// is cancelled (shutdown, preemption), with ctx's error.
type Generator interface {
	Generate(ctx context.Context, style styles.Style, in image.Image) (Result, error)
}

// Step is one stage of a pipeline. Apply must honour ctx cancellation
// promptly and leave f consistent (image, faces and matte in the same
// geometry) when it succeeds.
type Step interface {
	Apply(ctx context.Context, f *Frame) error
}
