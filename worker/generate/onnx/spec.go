package onnx

import (
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/tigerstudio/studio/worker/generate"
)

// Model kinds: what a network does, and so which step can use it.
const (
	KindFaceDetector = "face-detector"
	KindMatte        = "matte"
	KindImage        = "image"
	KindUpscale      = "upscale" // super-resolution: the output is Scale times the input on each side
)

// Layouts of a model's image tensors.
const (
	NCHW = "NCHW"
	NHWC = "NHWC"
)

// Spec describes one ONNX network in the catalogue's "models" (or inline in
// a one-step onnx style): where it is, its checksum, and how images go in and
// out, so an operator can swap in another network of the same kind (say
// MediaPipe's selfie segmenter for IS-Net) by editing the catalogue only.
//
// Pixel values v in [0,1] are fed as lo + (hi-lo) * (v-mean)/std, with
// [lo,hi] = Range (default [0,1]); an image model's output is read back
// through the same range.
type Spec struct {
	Kind      string    `json:"kind"`
	File      string    `json:"file"`
	SHA256    string    `json:"sha256"`
	Source    string    `json:"source"`
	Licence   string    `json:"licence"`
	Input     string    `json:"input"`
	Output    string    `json:"output"`
	Layout    string    `json:"layout"`
	Size      []int     `json:"size"` // [height, width] when fixed
	Range     []float32 `json:"range"`
	Mean      []float32 `json:"mean"`
	Std       []float32 `json:"std"`
	Tile      int       `json:"tile"`     // image: tile side when the size is dynamic
	Pad       int       `json:"pad"`      // image: context on each side of a tile
	MaxSide   int       `json:"maxSide"`  // image: the frame is scaled down to this first
	Channel   int       `json:"channel"`  // matte: which output channel is the person
	Channels  int       `json:"channels"` // matte: how many channels the output has (default 1)
	Scores    []string  `json:"scores"`   // face-detector: logits per anchor scale
	Boxes     []string  `json:"boxes"`    // face-detector: box and keypoints per anchor scale
	Anchors   [][2]int  `json:"anchors"`  // face-detector: [grid cells per side, anchors per cell]
	Keypoints int       `json:"keypoints"`
	Scale     int       `json:"scale"` // upscale: output side / input side

	sum []byte
}

// Defaults for what a spec may leave out.
const (
	defaultTile    = 256
	defaultPad     = 8
	defaultMaxSide = 1024
)

// ParseSpec reads and checks a model description, reporting every problem.
func ParseSpec(params map[string]any) (Spec, error) {
	var s Spec
	if err := generate.DecodeParams(params, &s); err != nil {
		return Spec{}, err
	}
	s.defaults(params)
	errs := s.checkFile()
	errs = append(errs, s.checkKind()...)
	errs = append(errs, s.checkTensors()...)
	return s, errors.Join(errs...)
}

// defaults fills in what the spec left out; pad is defaulted only when
// absent, as 0 is a valid pad.
func (s *Spec) defaults(params map[string]any) {
	if s.Kind == "" {
		s.Kind = KindImage
	}
	if s.Input == "" {
		s.Input = "input"
	}
	if s.Output == "" {
		s.Output = "output"
	}
	if s.Layout == "" {
		s.Layout = NCHW
	}
	if s.Range == nil {
		s.Range = []float32{0, 1}
	}
	if s.Mean == nil {
		s.Mean = []float32{0, 0, 0}
	}
	if s.Std == nil {
		s.Std = []float32{1, 1, 1}
	}
	if s.Tile == 0 {
		s.Tile = defaultTile
	}
	if s.MaxSide == 0 {
		s.MaxSide = defaultMaxSide
	}
	if _, ok := params["pad"]; !ok {
		s.Pad = defaultPad
	}
	if s.Channels == 0 {
		s.Channels = 1
	}
	if s.Keypoints == 0 {
		s.Keypoints = 6
	}
}

// checkFile checks the model file's name and checksum, and keeps the
// decoded checksum.
func (s *Spec) checkFile() []error {
	var errs []error
	switch {
	case s.File == "":
		errs = append(errs, errors.New("file (the model file name) is required"))
	case !filepath.IsLocal(s.File) || strings.Contains(s.File, `\`):
		errs = append(errs, fmt.Errorf("file %q must be a relative path inside the model directory", s.File))
	}
	s.File = filepath.ToSlash(s.File)
	if b, err := hex.DecodeString(s.SHA256); err != nil || len(b) != 32 {
		errs = append(errs, fmt.Errorf("sha256 %q: want the 64 hex digits of the model file's SHA-256 (a model is never run unchecked)", s.SHA256))
	} else {
		s.sum = b
	}
	return errs
}

// checkKind checks what the spec's kind needs.
func (s *Spec) checkKind() []error {
	var errs []error
	switch s.Kind {
	case KindImage, KindMatte:
	case KindUpscale:
		if s.Scale < 2 || s.Scale > 8 {
			errs = append(errs, fmt.Errorf("scale %d: an upscale model needs its factor, 2 to 8", s.Scale))
		}
		if s.Size != nil {
			errs = append(errs, errors.New("an upscale model runs on tiles: it must take any input size (no size)"))
		}
	case KindFaceDetector:
		if len(s.Anchors) == 0 || len(s.Scores) != len(s.Anchors) || len(s.Boxes) != len(s.Anchors) {
			errs = append(errs, errors.New("a face detector needs anchors, and one scores and one boxes output per anchor scale"))
		}
		for _, a := range s.Anchors {
			if a[0] < 1 || a[1] < 1 {
				errs = append(errs, fmt.Errorf("anchors %v: want [cells per side, anchors per cell], both positive", a))
			}
		}
		if len(s.Size) != 2 {
			errs = append(errs, errors.New("a face detector needs its fixed input size [height, width]"))
		}
	default:
		errs = append(errs, fmt.Errorf("kind %q: want %s, %s, %s or %s", s.Kind, KindImage, KindMatte, KindUpscale, KindFaceDetector))
	}
	return errs
}

// checkTensors checks the image tensors' layout, size and value mapping,
// and the tiling.
func (s *Spec) checkTensors() []error {
	var errs []error
	if s.Layout != NCHW && s.Layout != NHWC {
		errs = append(errs, fmt.Errorf("layout %q: want NCHW or NHWC", s.Layout))
	}
	if s.Size != nil && (len(s.Size) != 2 || s.Size[0] < 1 || s.Size[1] < 1 || s.Size[0]*s.Size[1] > 1<<24) {
		errs = append(errs, fmt.Errorf("size %v: want [height, width], positive", s.Size))
	}
	if s.Kind == KindMatte && s.Size == nil {
		errs = append(errs, errors.New("a matte model needs its input size [height, width]"))
	}
	if len(s.Range) != 2 || !(s.Range[1] > s.Range[0]) {
		errs = append(errs, fmt.Errorf("range %v: want [low, high] with low < high, e.g. [0,1], [-1,1] or [0,255]", s.Range))
	}
	for name, v := range map[string][]float32{"mean": s.Mean, "std": s.Std} {
		if len(v) != 3 {
			errs = append(errs, fmt.Errorf("%s: want 3 numbers (R, G, B)", name))
		}
	}
	for i, v := range s.Std {
		if v == 0 {
			errs = append(errs, fmt.Errorf("std[%d] must not be 0", i))
		}
	}
	if s.Tile < 1 {
		errs = append(errs, fmt.Errorf("tile %d must be at least 1", s.Tile))
	}
	if s.Pad < 0 {
		errs = append(errs, fmt.Errorf("pad %d must not be negative", s.Pad))
	}
	if s.MaxSide < 1 {
		errs = append(errs, fmt.Errorf("maxSide %d must be at least 1", s.MaxSide))
	}
	if s.Channel < 0 || s.Channel >= s.Channels {
		errs = append(errs, fmt.Errorf("channel %d must be within 0..channels-1 (%d)", s.Channel, s.Channels-1))
	}
	return errs
}

// key identifies the file a spec loads: specs naming the same file,
// checksum and tensors share one session.
func (s Spec) key() string { return s.File + "@" + s.SHA256 }

// fixed reports whether the model takes one input size only.
func (s Spec) fixed() bool { return len(s.Size) == 2 }

// normalise maps v in [0,1] of channel c to the model's input value.
func (s Spec) normalise(c int, v float32) float32 {
	return s.Range[0] + (s.Range[1]-s.Range[0])*(v-s.Mean[c])/s.Std[c]
}

// denormalise maps an image model's output value back to [0,1].
func (s Spec) denormalise(y float32) float32 {
	return (y - s.Range[0]) / (s.Range[1] - s.Range[0])
}
