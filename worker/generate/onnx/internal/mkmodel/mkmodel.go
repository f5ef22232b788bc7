// Package mkmodel builds the small ONNX model the onnx backend is tested and
// benchmarked with, and computes the same network in pure Go so tests can
// check ONNX Runtime's output pixel by pixel.
//
// The model is written by hand with protowire rather than generated onnx.proto
// types: the handful of messages needed (ModelProto, GraphProto, NodeProto,
// AttributeProto, TensorProto, ValueInfoProto) fit in a page, and this keeps a
// large generated-protobuf dependency out of the module. Field numbers follow
// onnx/onnx.proto.
package mkmodel

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// Opset is the ai.onnx operator set the model imports.
const Opset = 13

// irVersion 7 is what opset 13 models are written with (ONNX 1.8); every
// ONNX Runtime since 1.6 reads it.
const irVersion = 7

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
	var graph []byte
	var inits [][]byte
	prev, final := "input", "output"
	if m.Layout == "NHWC" {
		graph = protowire.AppendTag(graph, 1, protowire.BytesType)
		graph = protowire.AppendBytes(graph, node("to_nchw", "Transpose", []string{"input"}, "input_nchw", intsAttr("perm", 0, 3, 1, 2)))
		prev, final = "input_nchw", "output_nchw"
	}
	for i, l := range m.Layers {
		w, b := fmt.Sprintf("conv%d.weight", i), fmt.Sprintf("conv%d.bias", i)
		inits = append(inits,
			tensor(w, []int64{int64(l.Out), int64(l.In), int64(l.K), int64(l.K)}, l.Weight),
			tensor(b, []int64{int64(l.Out)}, l.Bias))
		out := fmt.Sprintf("conv%d", i)
		if i == len(m.Layers)-1 && l.Activation == "" {
			out = final
		}
		p := int64((l.K - 1) / 2)
		graph = protowire.AppendTag(graph, 1, protowire.BytesType) // GraphProto.node
		graph = protowire.AppendBytes(graph, node(fmt.Sprintf("conv%d", i), "Conv", []string{prev, w, b}, out,
			intsAttr("kernel_shape", int64(l.K), int64(l.K)),
			intsAttr("pads", p, p, p, p),
			intsAttr("strides", 1, 1),
			intsAttr("dilations", 1, 1)))
		prev = out
		if l.Activation != "" {
			out = fmt.Sprintf("act%d", i)
			if i == len(m.Layers)-1 {
				out = final
			}
			graph = protowire.AppendTag(graph, 1, protowire.BytesType)
			graph = protowire.AppendBytes(graph, node(out+"_"+l.Activation, l.Activation, []string{prev}, out))
			prev = out
		}
	}
	if m.Layout == "NHWC" {
		graph = protowire.AppendTag(graph, 1, protowire.BytesType)
		graph = protowire.AppendBytes(graph, node("to_nhwc", "Transpose", []string{final}, "output", intsAttr("perm", 0, 2, 3, 1)))
	}
	graph = appendString(graph, 2, m.Name) // GraphProto.name
	for _, t := range inits {
		graph = protowire.AppendTag(graph, 5, protowire.BytesType) // GraphProto.initializer
		graph = protowire.AppendBytes(graph, t)
	}
	graph = protowire.AppendTag(graph, 11, protowire.BytesType) // GraphProto.input
	graph = protowire.AppendBytes(graph, m.valueInfo("input", m.Layers[0].In))
	graph = protowire.AppendTag(graph, 12, protowire.BytesType) // GraphProto.output
	graph = protowire.AppendBytes(graph, m.valueInfo("output", m.Layers[len(m.Layers)-1].Out))

	var opset []byte
	opset = protowire.AppendTag(opset, 2, protowire.VarintType) // OperatorSetIdProto.version (domain "" = ai.onnx)
	opset = protowire.AppendVarint(opset, Opset)

	var model []byte
	model = protowire.AppendTag(model, 1, protowire.VarintType) // ModelProto.ir_version
	model = protowire.AppendVarint(model, irVersion)
	model = appendString(model, 2, "tigerstudio-mkmodel")      // ModelProto.producer_name
	model = protowire.AppendTag(model, 7, protowire.BytesType) // ModelProto.graph
	model = protowire.AppendBytes(model, graph)
	model = protowire.AppendTag(model, 8, protowire.BytesType) // ModelProto.opset_import
	model = protowire.AppendBytes(model, opset)
	return model, nil
}

func appendString(b []byte, field protowire.Number, s string) []byte {
	b = protowire.AppendTag(b, field, protowire.BytesType)
	return protowire.AppendString(b, s)
}

// node encodes a NodeProto.
func node(name, op string, inputs []string, output string, attrs ...[]byte) []byte {
	var b []byte
	for _, in := range inputs {
		b = appendString(b, 1, in) // input
	}
	b = appendString(b, 2, output) // output
	b = appendString(b, 3, name)   // name
	b = appendString(b, 4, op)     // op_type
	for _, a := range attrs {
		b = protowire.AppendTag(b, 5, protowire.BytesType) // attribute
		b = protowire.AppendBytes(b, a)
	}
	return b
}

// intsAttr encodes an AttributeProto of type INTS. The ints are written
// unpacked, as onnx.proto (proto2, no [packed=true]) declares them; parsers
// accept either form.
func intsAttr(name string, v ...int64) []byte {
	b := appendString(nil, 1, name) // name
	for _, x := range v {
		b = protowire.AppendTag(b, 8, protowire.VarintType) // ints
		b = protowire.AppendVarint(b, uint64(x))
	}
	b = protowire.AppendTag(b, 20, protowire.VarintType) // type
	return protowire.AppendVarint(b, 7)                  // AttributeType.INTS
}

// tensor encodes a float32 TensorProto with its data in raw_data
// (little-endian IEEE 754, as the spec requires).
func tensor(name string, dims []int64, data []float32) []byte {
	var b []byte
	for _, d := range dims {
		b = protowire.AppendTag(b, 1, protowire.VarintType) // dims
		b = protowire.AppendVarint(b, uint64(d))
	}
	b = protowire.AppendTag(b, 2, protowire.VarintType) // data_type
	b = protowire.AppendVarint(b, 1)                    // FLOAT
	b = appendString(b, 8, name)                        // name
	raw := make([]byte, 4*len(data))
	for i, f := range data {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(f))
	}
	b = protowire.AppendTag(b, 9, protowire.BytesType) // raw_data
	return protowire.AppendBytes(b, raw)
}

// valueInfo encodes a ValueInfoProto for a float tensor [1, channels, H, W]
// (or [1, H, W, channels]) with symbolic H and W, so the model takes any
// tile size, unless m.Size fixes them.
func (m Model) valueInfo(name string, channels int) []byte {
	dim := func(value int64, param string) []byte {
		var d []byte
		if param != "" {
			d = appendString(d, 2, param) // Dimension.dim_param
		} else {
			d = protowire.AppendTag(d, 1, protowire.VarintType) // Dimension.dim_value
			d = protowire.AppendVarint(d, uint64(value))
		}
		return d
	}
	var shape []byte
	hd, wd := dim(0, "H"), dim(0, "W")
	if m.Size[0] > 0 {
		hd, wd = dim(int64(m.Size[0]), ""), dim(int64(m.Size[1]), "")
	}
	dims := [][]byte{dim(1, ""), dim(int64(channels), ""), hd, wd}
	if m.Layout == "NHWC" {
		dims = [][]byte{dim(1, ""), hd, wd, dim(int64(channels), "")}
	}
	for _, d := range dims {
		shape = protowire.AppendTag(shape, 1, protowire.BytesType) // TensorShapeProto.dim
		shape = protowire.AppendBytes(shape, d)
	}
	var tt []byte
	tt = protowire.AppendTag(tt, 1, protowire.VarintType) // TypeProto.Tensor.elem_type
	tt = protowire.AppendVarint(tt, 1)                    // FLOAT
	tt = protowire.AppendTag(tt, 2, protowire.BytesType)  // TypeProto.Tensor.shape
	tt = protowire.AppendBytes(tt, shape)
	var typ []byte
	typ = protowire.AppendTag(typ, 1, protowire.BytesType) // TypeProto.tensor_type
	typ = protowire.AppendBytes(typ, tt)

	b := appendString(nil, 1, name)                    // ValueInfoProto.name
	b = protowire.AppendTag(b, 2, protowire.BytesType) // ValueInfoProto.type
	return protowire.AppendBytes(b, typ)
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
