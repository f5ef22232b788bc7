// Package mkmodel builds the small ONNX model the onnx backend is tested and
// benchmarked with, and computes the same network in pure Go so tests can
// check ONNX Runtime's output pixel by pixel.
//
// The model is written with infra/onnxpb (protowire, no generated onnx.proto
// types).
package mkmodel

import (
	"errors"
	"fmt"
	"math"

	"github.com/tigerstudio/studio/infra/onnxpb"
)

// Opset is the ai.onnx operator set the model imports.
const Opset = onnxpb.Opset

// Conv is one 2-D convolution with stride 1 and "same" zero padding
// ((K-1)/2 on each side, K odd), followed by an optional activation.
type Conv struct {
	In, Out, K int
	Weight     []float32 // [Out][In][K][K], row-major
	Bias       []float32 // [Out]
	Activation string    // "", "Relu" or "Sigmoid"
}

// Model is a stack of convolutions from "input" [1,In,H,W] to "output"
// [1,Out,H,W], with H and W dynamic unless Size fixes them. With Layout
// "NHWC" the model takes and gives [1,H,W,C], transposing inside, as many
// TensorFlow-born models do.
type Model struct {
	Name   string
	Layers []Conv
	Layout string // "NCHW" (the default) or "NHWC"
	Size   [2]int // fixed [H, W]; zero for dynamic
}

// Default is the test model: Conv 3->8 3x3 + Relu, Conv 8->3 3x3 + Sigmoid,
// with fixed pseudo-random weights (a fixed LCG, so the bytes and hence the
// checksum never change between Go versions).
func Default() Model {
	seed := uint32(20240601)
	next := func() float32 {
		seed = seed*1664525 + 1013904223
		return float32(seed>>8)/float32(1<<24) - 0.5 // [-0.5, 0.5)
	}
	layer := func(in, out, k int, act string, scale float32) Conv {
		c := Conv{In: in, Out: out, K: k, Activation: act,
			Weight: make([]float32, out*in*k*k), Bias: make([]float32, out)}
		for i := range c.Weight {
			c.Weight[i] = next() * scale
		}
		for i := range c.Bias {
			c.Bias[i] = next() * 0.2
		}
		return c
	}
	return Model{Name: "tigerstudio-test-conv", Layers: []Conv{
		layer(3, 8, 3, "Relu", 0.8),
		layer(8, 3, 3, "Sigmoid", 1.2),
	}}
}

// Halo is how many pixels of context on each side an output pixel depends
// on: a tile needs at least this much padding to match the whole image.
func (m Model) Halo() int {
	h := 0
	for _, l := range m.Layers {
		h += (l.K - 1) / 2
	}
	return h
}

func (m Model) check() error {
	if len(m.Layers) == 0 {
		return errors.New("mkmodel: no layers")
	}
	for i, l := range m.Layers {
		switch {
		case l.In <= 0 || l.Out <= 0 || l.K <= 0 || l.K%2 == 0:
			return fmt.Errorf("mkmodel: layer %d: need In, Out > 0 and odd K", i)
		case len(l.Weight) != l.Out*l.In*l.K*l.K || len(l.Bias) != l.Out:
			return fmt.Errorf("mkmodel: layer %d: weight or bias has the wrong length", i)
		case i > 0 && l.In != m.Layers[i-1].Out:
			return fmt.Errorf("mkmodel: layer %d takes %d channels, layer %d gives %d", i, l.In, i-1, m.Layers[i-1].Out)
		}
		switch l.Activation {
		case "", "Relu", "Sigmoid":
		default:
			return fmt.Errorf("mkmodel: layer %d: unknown activation %q", i, l.Activation)
		}
	}
	return nil
}

// ONNX encodes the model as an ONNX ModelProto.
func (m Model) ONNX() ([]byte, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	var g onnxpb.Graph
	prev, final := "input", "output"
	if m.Layout == "NHWC" {
		g.Node("to_nchw", "Transpose", []string{"input"}, "input_nchw", onnxpb.IntsAttr("perm", 0, 3, 1, 2))
		prev, final = "input_nchw", "output_nchw"
	}
	for i, l := range m.Layers {
		w, b := fmt.Sprintf("conv%d.weight", i), fmt.Sprintf("conv%d.bias", i)
		g.Initializer(w, []int64{int64(l.Out), int64(l.In), int64(l.K), int64(l.K)}, l.Weight)
		g.Initializer(b, []int64{int64(l.Out)}, l.Bias)
		out := fmt.Sprintf("conv%d", i)
		if i == len(m.Layers)-1 && l.Activation == "" {
			out = final
		}
		p := int64((l.K - 1) / 2)
		g.Node(fmt.Sprintf("conv%d", i), "Conv", []string{prev, w, b}, out,
			onnxpb.IntsAttr("kernel_shape", int64(l.K), int64(l.K)),
			onnxpb.IntsAttr("pads", p, p, p, p),
			onnxpb.IntsAttr("strides", 1, 1),
			onnxpb.IntsAttr("dilations", 1, 1))
		prev = out
		if l.Activation != "" {
			out = fmt.Sprintf("act%d", i)
			if i == len(m.Layers)-1 {
				out = final
			}
			g.Node(out+"_"+l.Activation, l.Activation, []string{prev}, out)
			prev = out
		}
	}
	if m.Layout == "NHWC" {
		g.Node("to_nhwc", "Transpose", []string{final}, "output", onnxpb.IntsAttr("perm", 0, 2, 3, 1))
	}
	g.Input("input", m.dims(m.Layers[0].In)...)
	g.Output("output", m.dims(m.Layers[len(m.Layers)-1].Out)...)
	return g.Model(m.Name, "tigerstudio-mkmodel"), nil
}

// dims is the shape of a float tensor [1, channels, H, W] (or [1, H, W,
// channels]) with symbolic H and W, so the model takes any tile size,
// unless m.Size fixes them.
func (m Model) dims(channels int) []onnxpb.Dim {
	hd, wd := onnxpb.Dim{Param: "H"}, onnxpb.Dim{Param: "W"}
	if m.Size[0] > 0 {
		hd, wd = onnxpb.Dim{Value: int64(m.Size[0])}, onnxpb.Dim{Value: int64(m.Size[1])}
	}
	if m.Layout == "NHWC" {
		return []onnxpb.Dim{{Value: 1}, hd, wd, {Value: int64(channels)}}
	}
	return []onnxpb.Dim{{Value: 1}, {Value: int64(channels)}, hd, wd}
}

// Apply runs the model in pure Go on a CHW image (len(x) == In*h*w) with
// zero padding at the image border, accumulating in float64. It is the
// reference the ONNX Runtime output is compared with.
func (m Model) Apply(x []float32, h, w int) ([]float32, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	if len(x) != m.Layers[0].In*h*w {
		return nil, fmt.Errorf("mkmodel: input has %d values, want %d", len(x), m.Layers[0].In*h*w)
	}
	for _, l := range m.Layers {
		y := make([]float32, l.Out*h*w)
		r := (l.K - 1) / 2
		for o := 0; o < l.Out; o++ {
			for py := 0; py < h; py++ {
				for px := 0; px < w; px++ {
					s := float64(l.Bias[o])
					for i := 0; i < l.In; i++ {
						for ky := 0; ky < l.K; ky++ {
							sy := py + ky - r
							if sy < 0 || sy >= h {
								continue
							}
							for kx := 0; kx < l.K; kx++ {
								sx := px + kx - r
								if sx < 0 || sx >= w {
									continue
								}
								s += float64(l.Weight[((o*l.In+i)*l.K+ky)*l.K+kx]) * float64(x[(i*h+sy)*w+sx])
							}
						}
					}
					switch l.Activation {
					case "Relu":
						s = math.Max(s, 0)
					case "Sigmoid":
						s = 1 / (1 + math.Exp(-s))
					}
					y[(o*h+py)*w+px] = float32(s)
				}
			}
		}
		x = y
	}
	return x, nil
}
