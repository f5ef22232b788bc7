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

// ErrBlocked is returned when a hosted model refused the photo or what it
// drew for safety. It is final: the same photo and style would be refused
// again, so the user must send another photo or pick another style.
var ErrBlocked = errors.New("the hosted model refused the photo for safety")

// ErrBusy is returned when a hosted model cannot take the call now (quota,
// overload, a deadline). It is transient: the worker retries the job later
// without counting it as an attempt, up to a bound.
var ErrBusy = errors.New("the hosted model is busy")

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
