package onnx

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"
)

// Defaults for the style params the catalogue may leave out.
const (
	defaultTile    = 256  // tile side in pixels, before padding
	defaultPad     = 8    // context pixels added on each side of a tile
	defaultMaxSide = 1024 // the input is scaled down so its long side is at most this
)

// params is what a style's catalogue entry says about running its model:
//
//	file     model file name under Config.ModelDir (required)
//	sha256   hex SHA-256 of that file (required: a model is never run unchecked)
//	tile     tile side in pixels (default 256)
//	pad      overlap on each side of a tile (default 8); must be at least the
//	         model's receptive-field radius for seamless output
//	maxSide  long side the input is scaled down to (default 1024)
//	mean,std per-channel RGB normalisation of the input, x = (v - mean) / std
//	         with v in [0,1] (default 0 and 1); the output is taken as [0,1]
type params struct {
	file      string
	sha256    []byte
	tile      int
	pad       int
	maxSide   int
	mean, std [3]float32
}

func parseParams(p map[string]any) (params, error) {
	out := params{tile: defaultTile, pad: defaultPad, maxSide: defaultMaxSide, std: [3]float32{1, 1, 1}}
	var errs []error

	file, _ := p["file"].(string)
	switch {
	case file == "":
		errs = append(errs, errors.New(`params.file (model file name) is required`))
	case !filepath.IsLocal(file) || strings.Contains(file, `\`):
		errs = append(errs, fmt.Errorf("params.file %q must be a relative path inside the model directory", file))
	}
	out.file = filepath.ToSlash(file)

	sum, _ := p["sha256"].(string)
	if b, err := hex.DecodeString(sum); err != nil || len(b) != 32 {
		errs = append(errs, fmt.Errorf("params.sha256 %q: want the 64 hex digits of the model file's SHA-256", sum))
	} else {
		out.sha256 = b
	}

	for _, f := range []struct {
		name string
		dst  *int
		min  int
	}{{"tile", &out.tile, 1}, {"pad", &out.pad, 0}, {"maxSide", &out.maxSide, 1}} {
		v, ok := p[f.name]
		if !ok {
			continue
		}
		n, err := integer(v)
		if err == nil && n < f.min {
			err = fmt.Errorf("must be at least %d", f.min)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("params.%s: %w", f.name, err))
			continue
		}
		*f.dst = n
	}

	for _, f := range []struct {
		name string
		dst  *[3]float32
	}{{"mean", &out.mean}, {"std", &out.std}} {
		v, ok := p[f.name]
		if !ok {
			continue
		}
		list, _ := v.([]any)
		if len(list) != 3 {
			errs = append(errs, fmt.Errorf("params.%s: want a list of 3 numbers (R, G, B)", f.name))
			continue
		}
		for i, x := range list {
			n, ok := number(x)
			if !ok || (f.name == "std" && n == 0) {
				errs = append(errs, fmt.Errorf("params.%s[%d]: want a (non-zero for std) number, got %v", f.name, i, x))
				continue
			}
			f.dst[i] = float32(n)
		}
	}
	return out, errors.Join(errs...)
}

// number accepts the float64 encoding/json produces, and ints for
// catalogues built in Go.
func number(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, !math.IsNaN(n) && !math.IsInf(n, 0)
	case int:
		return float64(n), true
	}
	return 0, false
}

func integer(v any) (int, error) {
	f, ok := number(v)
	if !ok || f != math.Trunc(f) || math.Abs(f) > 1<<30 {
		return 0, fmt.Errorf("want an integer, got %v", v)
	}
	return int(f), nil
}
