// Package generate turns an input photo into styled images. Each backend
// (builtin, onnx) implements Generator; the style catalogue names which
// backend and model a style uses.
package generate

import (
	"context"
	"errors"
	"fmt"
	"image"

	"github.com/tigerstudio/studio/infra/styles"
)

// ErrInvalidInput marks a failure that retrying cannot fix (an image the
// model cannot take, a style the backend does not know). The worker turns it
// into an error document at once.
var ErrInvalidInput = errors.New("input cannot be generated")

// Generator makes the outputs of one job. It must return promptly once ctx
// is cancelled (shutdown, preemption), with ctx's error.
type Generator interface {
	Generate(ctx context.Context, style styles.Style, in image.Image) ([]image.Image, error)
}

// Backends routes each style to the generator of its backend.
type Backends map[string]Generator

// Generate runs the style's backend.
func (b Backends) Generate(ctx context.Context, style styles.Style, in image.Image) ([]image.Image, error) {
	g, ok := b[style.Backend]
	if !ok {
		return nil, fmt.Errorf("%w: style %q needs backend %q, which this worker does not run", ErrInvalidInput, style.ID, style.Backend)
	}
	return g.Generate(ctx, style, in)
}
