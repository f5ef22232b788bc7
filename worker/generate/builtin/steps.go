// Package builtin holds the pipeline steps written in pure Go: the classic
// filters (sketch, watercolour, grade, frame), honestly named, which need no
// model, and the portrait steps that use what the models found (crop around
// the face, backdrop behind the matte, retouch of the face).
package builtin

import (
	"encoding/json"
	"fmt"
	"image/color"
	"strconv"

	"github.com/tigerstudio/studio/worker/generate"
)

// Needs says what a step reads from the frame, so the pipeline builder can
// refuse a catalogue that runs it before the step that makes it.
type Needs struct{ Face, Matte bool }

// New builds a step of the given kind; ok is false for kinds this package
// does not have.
func New(kind string, params map[string]any) (step generate.Step, needs Needs, ok bool, err error) {
	var build func(map[string]any) (generate.Step, error)
	switch kind {
	case "sketch":
		build = decoded(newSketch)
	case "watercolour":
		build = decoded(newWatercolour)
	case "grade":
		build = decoded(newGrade)
	case "frame":
		build = decoded(newFrame)
	case "crop":
		build, needs = decoded(newCrop), Needs{Face: true}
	case "backdrop":
		build, needs = decoded(newBackdrop), Needs{Matte: true}
	case "retouch":
		build, needs = decoded(newRetouch), Needs{Face: true}
	default:
		return nil, Needs{}, false, nil
	}
	step, err = build(params)
	return step, needs, true, err
}

// decoded wraps a constructor of typed parameters P.
func decoded[P any](fn func(P) (generate.Step, error)) func(map[string]any) (generate.Step, error) {
	return func(m map[string]any) (generate.Step, error) {
		var p P
		if err := generate.DecodeParams(m, &p); err != nil {
			return nil, err
		}
		return fn(p)
	}
}

// Colour is a catalogue colour, written "#rrggbb".
type Colour color.NRGBA

// UnmarshalJSON reads "#rrggbb".
func (c *Colour) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("colour: %w", err)
	}
	v, err := strconv.ParseUint(s[min(1, len(s)):], 16, 32)
	if len(s) != 7 || s[0] != '#' || err != nil {
		return fmt.Errorf("colour %q: want #rrggbb", s)
	}
	*c = Colour{uint8(v >> 16), uint8(v >> 8), uint8(v), 255}
	return nil
}

func (c Colour) rgb() (r, g, b float32) {
	return float32(c.R) / 255, float32(c.G) / 255, float32(c.B) / 255
}

func hex(s string) Colour {
	var c Colour
	if err := c.UnmarshalJSON([]byte(strconv.Quote(s))); err != nil {
		panic(err) // only called with constants
	}
	return c
}

// inRange checks a parameter's bounds.
func inRange(name string, v, lo, hi float64) error {
	if !(v >= lo && v <= hi) {
		return fmt.Errorf("%s=%v must be within %v..%v", name, v, lo, hi)
	}
	return nil
}
