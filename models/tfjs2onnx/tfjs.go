// Package tfjs2onnx converts TensorFlow.js layers models (model.json and its
// weight shards, as tensorflowjs_converter writes them from Keras) into
// ONNX, so ONNX Runtime can run networks that are published on npm only in
// TF.js form (the UpscalerJS ESRGAN super-resolution models).
//
// It converts the layers those models use and refuses every other layer by
// name: an unknown layer is an error, never a silent approximation. See
// Convert for the list and for how each is mapped.
//
// The ONNX graph takes and gives NCHW ("input" [N,C,H,W] -> "output"), the
// layout the worker's model step feeds; Keras's channels_last kernels are
// transposed at conversion, so no Transpose runs at inference. Height and
// width stay symbolic, so the model takes any tile size.
package tfjs2onnx

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
)

// Model is a parsed TF.js layers model with its weights.
type Model struct {
	Name    string
	Layers  []Layer
	Inputs  []string // layer names of the model's inputs
	Outputs []string // layer names of the model's outputs
	Weights map[string]Weight
}

// Layer is one Keras layer of a functional model.
type Layer struct {
	Class  string
	Name   string
	Config json.RawMessage
	// Inbound names the layers whose outputs this layer takes, in order.
	Inbound []string
}

// Weight is one float32 weight tensor.
type Weight struct {
	Shape []int
	Data  []float32
}

// modelJSON is the model.json of a TF.js layers model.
type modelJSON struct {
	Format          string          `json:"format"`
	ModelTopology   json.RawMessage `json:"modelTopology"`
	WeightsManifest []struct {
		Paths   []string `json:"paths"`
		Weights []struct {
			Name         string          `json:"name"`
			Shape        []int           `json:"shape"`
			DType        string          `json:"dtype"`
			Quantization json.RawMessage `json:"quantization"`
		} `json:"weights"`
	} `json:"weightsManifest"`
}

// kerasModel is a Keras model's JSON config.
type kerasModel struct {
	ClassName string `json:"class_name"`
	Config    struct {
		Name   string `json:"name"`
		Layers []struct {
			ClassName    string          `json:"class_name"`
			Name         string          `json:"name"`
			Config       json.RawMessage `json:"config"`
			InboundNodes json.RawMessage `json:"inbound_nodes"`
		} `json:"layers"`
		InputLayers  [][]any `json:"input_layers"`
		OutputLayers [][]any `json:"output_layers"`
	} `json:"config"`
}

// Load reads model.json and the weight shards it names, which lie beside it.
func Load(modelJSONPath string) (*Model, error) {
	data, err := os.ReadFile(modelJSONPath)
	if err != nil {
		return nil, fmt.Errorf("tfjs2onnx.Load: %w", err)
	}
	dir := filepath.Dir(modelJSONPath)
	m, err := Parse(data, func(path string) ([]byte, error) {
		if !filepath.IsLocal(path) {
			return nil, fmt.Errorf("weight shard %q is outside the model's folder", path)
		}
		return os.ReadFile(filepath.Join(dir, path))
	})
	if err != nil {
		return nil, fmt.Errorf("tfjs2onnx.Load %s: %w", modelJSONPath, err)
	}
	return m, nil
}

// Parse reads a model.json; shard returns the bytes of a weight shard named
// in its weightsManifest.
func Parse(data []byte, shard func(path string) ([]byte, error)) (*Model, error) {
	var mj modelJSON
	if err := json.Unmarshal(data, &mj); err != nil {
		return nil, fmt.Errorf("model.json: %w", err)
	}
	if mj.Format != "" && mj.Format != "layers-model" {
		return nil, fmt.Errorf("model.json format %q: only layers-model is supported (graph models are not Keras layers)", mj.Format)
	}
	topo, err := kerasTopology(mj.ModelTopology)
	if err != nil {
		return nil, err
	}
	m := &Model{Name: topo.Config.Name, Weights: make(map[string]Weight)}
	if topo.ClassName != "Model" && topo.ClassName != "Functional" {
		return nil, fmt.Errorf("model class %q: only functional models (Model, Functional) are supported", topo.ClassName)
	}
	for _, l := range topo.Config.Layers {
		in, err := inbound(l.InboundNodes)
		if err != nil {
			return nil, fmt.Errorf("layer %q: %w", l.Name, err)
		}
		m.Layers = append(m.Layers, Layer{Class: l.ClassName, Name: l.Name, Config: l.Config, Inbound: in})
	}
	for _, ref := range topo.Config.InputLayers {
		name, err := layerRef(ref)
		if err != nil {
			return nil, fmt.Errorf("input_layers: %w", err)
		}
		m.Inputs = append(m.Inputs, name)
	}
	for _, ref := range topo.Config.OutputLayers {
		name, err := layerRef(ref)
		if err != nil {
			return nil, fmt.Errorf("output_layers: %w", err)
		}
		m.Outputs = append(m.Outputs, name)
	}
	if err := readWeights(mj, m, shard); err != nil {
		return nil, err
	}
	return m, nil
}

// kerasTopology accepts both forms tensorflowjs_converter writes: the Keras
// model config itself, or wrapped in {"model_config": ..., "keras_version"}.
func kerasTopology(raw json.RawMessage) (kerasModel, error) {
	var wrapped struct {
		ModelConfig json.RawMessage `json:"model_config"`
	}
	if err := json.Unmarshal(raw, &wrapped); err != nil {
		return kerasModel{}, fmt.Errorf("modelTopology: %w", err)
	}
	if wrapped.ModelConfig != nil {
		raw = wrapped.ModelConfig
	}
	var k kerasModel
	if err := json.Unmarshal(raw, &k); err != nil {
		return kerasModel{}, fmt.Errorf("modelTopology: %w", err)
	}
	if len(k.Config.Layers) == 0 {
		return kerasModel{}, errors.New("modelTopology has no layers")
	}
	return k, nil
}

// inbound reads Keras 2's inbound_nodes, [[[layer, node, tensor, kwargs], ...]]:
// one call of the layer whose inputs are the first output of other layers.
func inbound(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	var calls [][][]any
	if err := json.Unmarshal(raw, &calls); err != nil {
		return nil, fmt.Errorf("inbound_nodes: want Keras 2's [[[layer, node, tensor, kwargs]]]: %w", err)
	}
	switch len(calls) {
	case 0:
		return nil, nil
	case 1:
	default:
		return nil, fmt.Errorf("the layer is called %d times (shared layers are not supported)", len(calls))
	}
	var names []string
	for _, ref := range calls[0] {
		name, err := layerRef(ref)
		if err != nil {
			return nil, fmt.Errorf("inbound_nodes: %w", err)
		}
		names = append(names, name)
	}
	return names, nil
}

// layerRef reads [layer name, node index, tensor index, ...], accepting only
// the first call's first output (the only one a single-call layer has).
func layerRef(ref []any) (string, error) {
	if len(ref) < 3 {
		return "", fmt.Errorf("reference %v: want [layer, node, tensor]", ref)
	}
	name, ok := ref[0].(string)
	node, ok2 := ref[1].(float64)
	tensor, ok3 := ref[2].(float64)
	if !ok || !ok2 || !ok3 {
		return "", fmt.Errorf("reference %v: want [layer, node, tensor]", ref)
	}
	if node != 0 || tensor != 0 {
		return "", fmt.Errorf("reference %v: only a layer's first call and output are supported", ref)
	}
	return name, nil
}

// readWeights reads each group's shards, concatenated in order, and slices
// the weights out of them in manifest order.
func readWeights(mj modelJSON, m *Model, shard func(string) ([]byte, error)) error {
	for gi, g := range mj.WeightsManifest {
		var buf []byte
		for _, p := range g.Paths {
			b, err := shard(p)
			if err != nil {
				return fmt.Errorf("weights group %d: %w", gi, err)
			}
			buf = append(buf, b...)
		}
		off := 0
		for _, w := range g.Weights {
			if w.Quantization != nil && string(w.Quantization) != "null" {
				return fmt.Errorf("weight %q is quantized: only float32 weights are supported", w.Name)
			}
			if w.DType != "float32" {
				return fmt.Errorf("weight %q has dtype %q: only float32 is supported", w.Name, w.DType)
			}
			n := 1
			for _, d := range w.Shape {
				if d < 0 {
					return fmt.Errorf("weight %q has shape %v", w.Name, w.Shape)
				}
				n *= d
			}
			if off+4*n > len(buf) {
				return fmt.Errorf("weight %q (%v) reaches past the end of group %d's %d bytes", w.Name, w.Shape, gi, len(buf))
			}
			data := make([]float32, n)
			for i := range data {
				data[i] = math.Float32frombits(binary.LittleEndian.Uint32(buf[off+4*i:]))
			}
			off += 4 * n
			if _, dup := m.Weights[w.Name]; dup {
				return fmt.Errorf("weight %q is listed twice", w.Name)
			}
			m.Weights[w.Name] = Weight{Shape: w.Shape, Data: data}
		}
		if off != len(buf) {
			return fmt.Errorf("weights group %d: %d bytes in the shards, the manifest accounts for %d", gi, len(buf), off)
		}
	}
	return nil
}
