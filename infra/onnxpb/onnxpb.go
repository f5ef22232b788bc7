// Package onnxpb writes ONNX models: the few messages of onnx.proto the
// project needs (ModelProto, GraphProto, NodeProto, AttributeProto,
// TensorProto, ValueInfoProto), encoded with protowire rather than
// generated onnx.proto types, which would bring a large dependency for a
// page of code. Field numbers follow onnx/onnx.proto. Used by the TF.js
// converter (models/tfjs2onnx) and the worker's test model
// (worker/generate/onnx/internal/mkmodel).
package onnxpb

import (
	"encoding/binary"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// Opset is the ai.onnx operator set the models import: 13 has every
// operator used (Resize with a scales input, DepthToSpace's DCR mode).
const Opset = 13

// irVersion 7 is what opset 13 models are written with (ONNX 1.8); every
// ONNX Runtime since 1.6 reads it.
const irVersion = 7

// ONNX TensorProto.DataType and AttributeProto.AttributeType values.
const (
	dtypeFloat = 1

	attrInt    = 2
	attrString = 3
	attrInts   = 7
)

// Graph collects a GraphProto's parts in the order they are added, so the
// same model encodes to the same bytes every time (converted models are
// checksummed).
type Graph struct {
	nodes, inits, inputs, outputs [][]byte
}

func appendString(b []byte, field protowire.Number, s string) []byte {
	b = protowire.AppendTag(b, field, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendMessage(b []byte, field protowire.Number, m []byte) []byte {
	b = protowire.AppendTag(b, field, protowire.BytesType)
	return protowire.AppendBytes(b, m)
}

func appendVarint(b []byte, field protowire.Number, v uint64) []byte {
	b = protowire.AppendTag(b, field, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

// Node adds a NodeProto with one output; attrs come from IntsAttr and its
// siblings.
func (g *Graph) Node(name, op string, inputs []string, output string, attrs ...Attr) {
	var b []byte
	for _, in := range inputs {
		b = appendString(b, 1, in) // input
	}
	b = appendString(b, 2, output) // output
	b = appendString(b, 3, name)   // name
	b = appendString(b, 4, op)     // op_type
	for _, a := range attrs {
		b = appendMessage(b, 5, a) // attribute
	}
	g.nodes = append(g.nodes, b)
}

// Initializer adds a float32 TensorProto with its data in raw_data
// (little-endian IEEE 754, as the spec requires).
func (g *Graph) Initializer(name string, dims []int64, data []float32) {
	var b []byte
	for _, d := range dims {
		b = appendVarint(b, 1, uint64(d)) // dims
	}
	b = appendVarint(b, 2, dtypeFloat) // data_type
	b = appendString(b, 8, name)       // name
	raw := make([]byte, 4*len(data))
	for i, f := range data {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(f))
	}
	b = protowire.AppendTag(b, 9, protowire.BytesType) // raw_data
	b = protowire.AppendBytes(b, raw)
	g.inits = append(g.inits, b)
}

// Dim is one dimension of a shape: a fixed size, or symbolic when Param is
// set.
type Dim struct {
	Value int64
	Param string
}

// Input declares a float tensor input of the graph.
func (g *Graph) Input(name string, dims ...Dim) { g.inputs = append(g.inputs, valueInfo(name, dims)) }

// Output declares a float tensor output of the graph.
func (g *Graph) Output(name string, dims ...Dim) {
	g.outputs = append(g.outputs, valueInfo(name, dims))
}

// valueInfo encodes a ValueInfoProto of a float tensor.
func valueInfo(name string, dims []Dim) []byte {
	var shape []byte
	for _, d := range dims {
		var db []byte
		if d.Param != "" {
			db = appendString(db, 2, d.Param) // Dimension.dim_param
		} else {
			db = appendVarint(db, 1, uint64(d.Value)) // Dimension.dim_value
		}
		shape = appendMessage(shape, 1, db) // TensorShapeProto.dim
	}
	tt := appendVarint(nil, 1, dtypeFloat) // TypeProto.Tensor.elem_type
	tt = appendMessage(tt, 2, shape)       // TypeProto.Tensor.shape
	typ := appendMessage(nil, 1, tt)       // TypeProto.tensor_type
	b := appendString(nil, 1, name)        // ValueInfoProto.name
	return appendMessage(b, 2, typ)        // ValueInfoProto.type
}

// Attr is an encoded AttributeProto.
type Attr []byte

// IntsAttr is an attribute of type INTS (unpacked, as proto2 onnx.proto
// declares them; parsers accept either form).
func IntsAttr(name string, v ...int64) Attr {
	b := appendString(nil, 1, name)
	for _, x := range v {
		b = appendVarint(b, 8, uint64(x)) // ints
	}
	return appendVarint(b, 20, attrInts) // type
}

// IntAttr is an attribute of type INT.
func IntAttr(name string, v int64) Attr {
	b := appendString(nil, 1, name)
	b = appendVarint(b, 3, uint64(v))   // i
	return appendVarint(b, 20, attrInt) // type
}

// StringAttr is an attribute of type STRING.
func StringAttr(name, v string) Attr {
	b := appendString(nil, 1, name)
	b = appendString(b, 4, v)              // s
	return appendVarint(b, 20, attrString) // type
}

// Model encodes the ModelProto around the graph.
func (g *Graph) Model(name, producer string) []byte {
	var gb []byte
	for _, n := range g.nodes {
		gb = appendMessage(gb, 1, n) // GraphProto.node
	}
	gb = appendString(gb, 2, name) // GraphProto.name
	for _, t := range g.inits {
		gb = appendMessage(gb, 5, t) // GraphProto.initializer
	}
	for _, v := range g.inputs {
		gb = appendMessage(gb, 11, v) // GraphProto.input
	}
	for _, v := range g.outputs {
		gb = appendMessage(gb, 12, v) // GraphProto.output
	}
	opset := appendVarint(nil, 2, Opset) // OperatorSetIdProto.version (domain "" = ai.onnx)

	var m []byte
	m = appendVarint(m, 1, irVersion) // ModelProto.ir_version
	m = appendString(m, 2, producer)  // ModelProto.producer_name
	m = appendMessage(m, 7, gb)       // ModelProto.graph
	return appendMessage(m, 8, opset) // ModelProto.opset_import
}
