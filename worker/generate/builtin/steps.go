// Package builtin holds the pipeline steps written in pure Go: the classic
// filters (sketch, watercolour, grade, frame), honestly named, which need no
// model, and the portrait steps that use what the models found (crop around
// the face, backdrop behind the matte, retouch of the face).
package builtin

import (
	"encoding/json"
	"errors"
	"fmt"
	"image/color"
	"reflect"
	"strconv"
	"strings"

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
		build = decoded[sketch](nil)
	case "watercolour":
		build = decoded[watercolour](nil)
	case "grade":
		build = decoded[grade](nil)
	case "frame":
		build = decoded[frame](nil)
	case "crop":
		build, needs = decoded(checkCrop), Needs{Face: true}
	case "backdrop":
		build, needs = decoded(checkBackdrop), Needs{Matte: true}
	case "retouch":
		build, needs = decoded[retouch](nil), Needs{Face: true}
	default:
		return nil, Needs{}, false, nil
	}
	step, err = build(params)
	return step, needs, true, err
}

// decoded builds a step from its typed parameters P. A parameter's default
// (tag default, taken where the catalogue leaves it zero) and its bounds
// (tag range:"lo,hi") are declared on its field, so the step's contract
// reads in one place; check, where not nil, does what the tags cannot say
// (a choice among names, a parameter that only one variant takes) and
// returns p completed. The bounds are checked after it, every one at once.
func decoded[P generate.Step](check func(P) (P, error)) func(map[string]any) (generate.Step, error) {
	return func(m map[string]any) (generate.Step, error) {
		var p P
		if err := generate.DecodeParams(m, &p); err != nil {
			return nil, err
		}
		fields := reflect.ValueOf(&p).Elem()
		withDefaults(fields)
		if check != nil {
			var err error
			if p, err = check(p); err != nil {
				return nil, err
			}
		}
		if err := inBounds(fields); err != nil {
			return nil, err
		}
		return p, nil
	}
}

// withDefaults sets every zero field of the struct v that has a default
// tag: a number (or a fraction, "1/3") or, for a colour, "#rrggbb".
func withDefaults(v reflect.Value) {
	t := v.Type()
	for i := range t.NumField() {
		def, ok := t.Field(i).Tag.Lookup("default")
		if !ok {
			continue
		}
		switch f := v.Field(i); f.Kind() {
		case reflect.Int:
			if f.Int() == 0 {
				f.SetInt(int64(tagNumber(def)))
			}
		case reflect.Float64:
			if f.Float() == 0 {
				f.SetFloat(tagNumber(def))
			}
		default: // *Colour
			if f.IsNil() {
				c := hex(def)
				f.Set(reflect.ValueOf(&c))
			}
		}
	}
}

// inBounds checks every field of the struct v that has a range tag,
// named as the catalogue names it.
func inBounds(v reflect.Value) error {
	var errs []error
	t := v.Type()
	for i := range t.NumField() {
		bounds, ok := t.Field(i).Tag.Lookup("range")
		if !ok {
			continue
		}
		lo, hi, _ := strings.Cut(bounds, ",")
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		var x float64
		if f := v.Field(i); f.CanInt() {
			x = float64(f.Int())
		} else {
			x = f.Float()
		}
		errs = append(errs, inRange(name, x, tagNumber(lo), tagNumber(hi)))
	}
	return errors.Join(errs...)
}

// tagNumber reads a number of a default or range tag: a decimal or a
// fraction.
func tagNumber(s string) float64 {
	num, den, frac := strings.Cut(s, "/")
	x, err := strconv.ParseFloat(num, 64)
	if err == nil && frac {
		var d float64
		d, err = strconv.ParseFloat(den, 64)
		x /= d
	}
	if err != nil {
		panic(fmt.Sprintf("builtin: tag number %q: %v", s, err)) // tags are constants
	}
	return x
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
