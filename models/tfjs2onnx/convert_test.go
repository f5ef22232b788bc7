package tfjs2onnx

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strings"
	"sync"
	"testing"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/tigerstudio/studio/infra/testenv"
	"github.com/tigerstudio/studio/worker/generate/onnx"
)

// repoRoot is where onnx.FindLibrary looks for the ONNX Runtime library.
const repoRoot = "../.."

var ortOnce struct {
	sync.Once
	err error
}

// TestMain destroys the ONNX Runtime environment the tests started.
func TestMain(m *testing.M) {
	code := m.Run()
	if ort.IsInitialized() {
		if err := ort.DestroyEnvironment(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

// startORT starts ONNX Runtime once for the test binary, skipping (failing
// under TIGER_REQUIRE_STACK=1) when the library is not installed.
func startORT(t testing.TB) {
	t.Helper()
	lib, err := onnx.FindLibrary(repoRoot)
	testenv.Require(t, err)
	ortOnce.Do(func() {
		ort.SetSharedLibraryPath(lib)
		ortOnce.err = ort.InitializeEnvironment(ort.WithLogLevelError())
	})
	if ortOnce.err != nil {
		t.Fatal(ortOnce.err)
	}
}

// runONNX runs a converted model on one NHWC image and returns the output
// in NHWC, as the Keras model would give it.
func runONNX(t testing.TB, model []byte, x []float32, h, w, c int) (y []float32, oh, ow, oc int) {
	t.Helper()
	startORT(t)
	s, err := ort.NewDynamicAdvancedSessionWithONNXData(model, []string{"input"}, []string{"output"}, nil)
	if err != nil {
		t.Fatalf("ONNX Runtime refused the converted model: %v", err)
	}
	defer func() { _ = s.Destroy() }()
	in, err := ort.NewTensor(ort.NewShape(1, int64(c), int64(h), int64(w)), toNCHW(x, h, w, c))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = in.Destroy() }()
	outs := []ort.Value{nil}
	if err := s.Run([]ort.Value{in}, outs); err != nil {
		t.Fatalf("running the converted model: %v", err)
	}
	defer func() { _ = outs[0].Destroy() }()
	out := outs[0].(*ort.Tensor[float32])
	sh := out.GetShape()
	oc, oh, ow = int(sh[1]), int(sh[2]), int(sh[3])
	return toNHWC(out.GetData(), oh, ow, oc), oh, ow, oc
}

func toNCHW(x []float32, h, w, c int) []float32 {
	out := make([]float32, len(x))
	for i := range h * w {
		for ch := range c {
			out[ch*h*w+i] = x[i*c+ch]
		}
	}
	return out
}

func toNHWC(x []float32, h, w, c int) []float32 {
	out := make([]float32, len(x))
	for i := range h * w {
		for ch := range c {
			out[i*c+ch] = x[ch*h*w+i]
		}
	}
	return out
}

// nhwc is an image in the Keras layout, the reference's working type.
type nhwc struct {
	h, w, c int
	v       []float32
}

func (a nhwc) at(y, x, c int) float32 { return a.v[(y*a.w+x)*a.c+c] }

// refConv is TensorFlow's Conv2D: kernel [kh][kw][in][out], "same" padding
// of (total)/2 before and the rest after, in float64.
func refConv(a nhwc, k Weight, bias []float32, stride int, same bool) nhwc {
	kh, kw, out := k.Shape[0], k.Shape[1], k.Shape[3]
	var oh, ow, pt, pl int
	if same {
		oh, ow = (a.h+stride-1)/stride, (a.w+stride-1)/stride
		pt = max((oh-1)*stride+kh-a.h, 0) / 2
		pl = max((ow-1)*stride+kw-a.w, 0) / 2
	} else {
		oh, ow = (a.h-kh)/stride+1, (a.w-kw)/stride+1
	}
	r := nhwc{oh, ow, out, make([]float32, oh*ow*out)}
	for y := range oh {
		for x := range ow {
			for o := range out {
				s := 0.0
				if bias != nil {
					s = float64(bias[o])
				}
				for ky := range kh {
					for kx := range kw {
						sy, sx := y*stride+ky-pt, x*stride+kx-pl
						if sy < 0 || sy >= a.h || sx < 0 || sx >= a.w {
							continue
						}
						for i := range a.c {
							s += float64(a.at(sy, sx, i)) * float64(k.Data[((ky*kw+kx)*a.c+i)*out+o])
						}
					}
				}
				r.v[(y*ow+x)*out+o] = float32(s)
			}
		}
	}
	return r
}

func refMap(a nhwc, f func(float64) float64) nhwc {
	r := nhwc{a.h, a.w, a.c, make([]float32, len(a.v))}
	for i, v := range a.v {
		r.v[i] = float32(f(float64(v)))
	}
	return r
}

func relu(v float64) float64    { return math.Max(v, 0) }
func sigmoid(v float64) float64 { return 1 / (1 + math.Exp(-v)) }

func refConcat(as ...nhwc) nhwc {
	c := 0
	for _, a := range as {
		c += a.c
	}
	r := nhwc{as[0].h, as[0].w, c, nil}
	for i := range r.h * r.w {
		for _, a := range as {
			r.v = append(r.v, a.v[i*a.c:(i+1)*a.c]...)
		}
	}
	return r
}

func refAdd(as ...nhwc) nhwc {
	r := nhwc{as[0].h, as[0].w, as[0].c, make([]float32, len(as[0].v))}
	for i := range r.v {
		for _, a := range as {
			r.v[i] += a.v[i]
		}
	}
	return r
}

func refUpsample(a nhwc, sh, sw int) nhwc {
	r := nhwc{a.h * sh, a.w * sw, a.c, make([]float32, 0, len(a.v)*sh*sw)}
	for y := range r.h {
		for x := range r.w {
			for c := range a.c {
				r.v = append(r.v, a.at(y/sh, x/sw, c))
			}
		}
	}
	return r
}

// refDepthToSpace is tf.depthToSpace(x, n, 'NHWC').
func refDepthToSpace(a nhwc, n int) nhwc {
	oc := a.c / (n * n)
	r := nhwc{a.h * n, a.w * n, oc, make([]float32, len(a.v))}
	for y := range r.h {
		for x := range r.w {
			for c := range oc {
				r.v[(y*r.w+x)*oc+c] = a.at(y/n, x/n, ((y%n)*n+x%n)*oc+c)
			}
		}
	}
	return r
}

// fixture builds a TF.js layers model: its model.json and one weight shard.
type fixture struct {
	layers  []map[string]any
	weights []weightEntry
	seed    uint32
}

type weightEntry struct {
	name  string
	shape []int
	data  []float32
}

// next is a fixed LCG, so a fixture's numbers never change.
func (f *fixture) next() float32 {
	f.seed = f.seed*1664525 + 1013904223
	return float32(f.seed>>8)/float32(1<<24) - 0.5
}

func (f *fixture) random(n int, scale float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = f.next() * scale
	}
	return v
}

func (f *fixture) add(class, name string, cfg map[string]any, inputs ...string) {
	if cfg == nil {
		cfg = map[string]any{}
	}
	cfg["name"] = name
	var refs []any
	for _, in := range inputs {
		refs = append(refs, []any{in, 0, 0, map[string]any{}})
	}
	l := map[string]any{"class_name": class, "name": name, "config": cfg, "inbound_nodes": []any{}}
	if len(refs) > 0 {
		l["inbound_nodes"] = []any{refs}
	}
	f.layers = append(f.layers, l)
}

func (f *fixture) input(c int) {
	f.add("InputLayer", "in", map[string]any{"batch_input_shape": []any{nil, nil, nil, c}, "dtype": "float32"})
}

// conv adds a Conv2D with random weights and returns its kernel and bias.
func (f *fixture) conv(name, input string, in, out, k, stride int, padding, act string, bias bool) (Weight, []float32) {
	f.add("Conv2D", name, map[string]any{
		"filters": out, "kernel_size": []int{k, k}, "strides": []int{stride, stride}, "padding": padding,
		"data_format": "channels_last", "dilation_rate": []int{1, 1}, "groups": 1, "activation": act, "use_bias": bias,
	}, input)
	kernel := Weight{Shape: []int{k, k, in, out}, Data: f.random(k*k*in*out, 1)}
	f.weights = append(f.weights, weightEntry{name + "/kernel", kernel.Shape, kernel.Data})
	if !bias {
		return kernel, nil
	}
	b := f.random(out, 0.4)
	f.weights = append(f.weights, weightEntry{name + "/bias", []int{out}, b})
	return kernel, b
}

// json returns model.json and its shard as tensorflowjs_converter writes them.
func (f *fixture) json(t testing.TB, output string) ([]byte, []byte) {
	t.Helper()
	var shard []byte
	var specs []map[string]any
	for _, w := range f.weights {
		specs = append(specs, map[string]any{"name": w.name, "shape": w.shape, "dtype": "float32"})
		for _, v := range w.data {
			shard = binary.LittleEndian.AppendUint32(shard, math.Float32bits(v))
		}
	}
	mj := map[string]any{
		"format": "layers-model", "generatedBy": "keras v2.10.0", "convertedBy": "TensorFlow.js Converter v1.2.6",
		"modelTopology": map[string]any{"keras_version": "2.10.0", "backend": "tensorflow", "model_config": map[string]any{
			"class_name": "Functional",
			"config": map[string]any{
				"name": "fixture", "layers": f.layers,
				"input_layers":  []any{[]any{"in", 0, 0}},
				"output_layers": []any{[]any{output, 0, 0}},
			},
		}},
		"weightsManifest": []any{map[string]any{"paths": []string{"group1-shard1of1.bin"}, "weights": specs}},
	}
	data, err := json.Marshal(mj)
	if err != nil {
		t.Fatal(err)
	}
	return data, shard
}

func (f *fixture) convert(t testing.TB, output string) ([]byte, error) {
	t.Helper()
	data, shard := f.json(t, output)
	m, err := Parse(data, func(path string) ([]byte, error) {
		if path != "group1-shard1of1.bin" {
			return nil, fmt.Errorf("no shard %q", path)
		}
		return shard, nil
	})
	if err != nil {
		return nil, err
	}
	return Convert(m)
}

// Each layer converts to ONNX that ONNX Runtime runs to the Keras result,
// computed here in float64 from TensorFlow's definitions.
func TestLayers(t *testing.T) {
	const h, w = 7, 6 // odd and even sides: "same" padding differs between them at stride 2
	tests := []struct {
		name  string
		build func(f *fixture, x nhwc) (output string, want nhwc)
	}{
		{"Conv2D 3x3 same with relu", func(f *fixture, x nhwc) (string, nhwc) {
			k, b := f.conv("c", "in", 3, 4, 3, 1, "same", "relu", true)
			return "c", refMap(refConv(x, k, b, 1, true), relu)
		}},
		{"Conv2D 1x1 valid without bias", func(f *fixture, x nhwc) (string, nhwc) {
			k, _ := f.conv("c", "in", 3, 5, 1, 1, "valid", "linear", false)
			return "c", refConv(x, k, nil, 1, false)
		}},
		{"Conv2D 5x5 same", func(f *fixture, x nhwc) (string, nhwc) {
			k, b := f.conv("c", "in", 3, 2, 5, 1, "same", "linear", true)
			return "c", refConv(x, k, b, 1, true)
		}},
		{"Conv2D 4x4 same stride 2 (TensorFlow's uneven padding)", func(f *fixture, x nhwc) (string, nhwc) {
			k, b := f.conv("c", "in", 3, 2, 4, 2, "same", "sigmoid", true)
			return "c", refMap(refConv(x, k, b, 2, true), sigmoid)
		}},
		{"Conv2D 3x3 valid with tanh", func(f *fixture, x nhwc) (string, nhwc) {
			k, b := f.conv("c", "in", 3, 3, 3, 1, "valid", "tanh", true)
			return "c", refMap(refConv(x, k, b, 1, false), math.Tanh)
		}},
		{"Activation relu, sigmoid, tanh, linear", func(f *fixture, x nhwc) (string, nhwc) {
			f.add("Activation", "a1", map[string]any{"activation": "relu"}, "in")
			f.add("Activation", "a2", map[string]any{"activation": "sigmoid"}, "a1")
			f.add("Activation", "a3", map[string]any{"activation": "tanh"}, "a2")
			f.add("Activation", "a4", map[string]any{"activation": "linear"}, "a3")
			return "a4", refMap(x, func(v float64) float64 { return math.Tanh(sigmoid(relu(v))) })
		}},
		{"Concatenate on channels", func(f *fixture, x nhwc) (string, nhwc) {
			k, b := f.conv("c", "in", 3, 2, 3, 1, "same", "linear", true)
			f.add("Concatenate", "cat", map[string]any{"axis": 3}, "in", "c", "in")
			return "cat", refConcat(x, refConv(x, k, b, 1, true), x)
		}},
		{"Concatenate on axis -1", func(f *fixture, x nhwc) (string, nhwc) {
			f.add("Concatenate", "cat", map[string]any{"axis": -1}, "in", "in")
			return "cat", refConcat(x, x)
		}},
		{"Add of two and Sum of three", func(f *fixture, x nhwc) (string, nhwc) {
			k, b := f.conv("c", "in", 3, 3, 3, 1, "same", "linear", true)
			f.add("Add", "add", nil, "c", "in")
			f.add("Add", "sum", nil, "add", "in", "c")
			c := refConv(x, k, b, 1, true)
			return "sum", refAdd(refAdd(c, x), x, c)
		}},
		{"UpSampling2D nearest 3x2", func(f *fixture, x nhwc) (string, nhwc) {
			f.add("UpSampling2D", "up", map[string]any{"size": []int{3, 2}, "interpolation": "nearest", "data_format": "channels_last"}, "in")
			return "up", refUpsample(x, 3, 2)
		}},
		{"MultiplyBeta", func(f *fixture, x nhwc) (string, nhwc) {
			f.add("MultiplyBeta", "beta", nil, "in")
			return "beta", refMap(x, func(v float64) float64 { return float64(float32(v) * float32(MultiplyBetaFactor)) })
		}},
		{"PixelShuffle2x", func(f *fixture, x nhwc) (string, nhwc) {
			k, b := f.conv("c", "in", 3, 12, 3, 1, "same", "linear", true)
			f.add("PixelShuffle2x", "shuffle", nil, "c")
			return "shuffle", refDepthToSpace(refConv(x, k, b, 1, true), 2)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fixture{seed: 7}
			f.input(3)
			x := nhwc{h, w, 3, f.random(h*w*3, 4)}
			output, want := tc.build(f, x)
			model, err := f.convert(t, output)
			if err != nil {
				t.Fatal(err)
			}
			got, oh, ow, oc := runONNX(t, model, x.v, h, w, 3)
			if oh != want.h || ow != want.w || oc != want.c {
				t.Fatalf("output %dx%dx%d, want %dx%dx%d", oh, ow, oc, want.h, want.w, want.c)
			}
			for i := range got {
				if d := math.Abs(float64(got[i] - want.v[i])); d > 1e-4*math.Max(1, math.Abs(float64(want.v[i]))) {
					t.Fatalf("value %d (y %d, x %d, c %d): ONNX Runtime gives %g, Keras %g", i, i/oc/ow, i/oc%ow, i%oc, got[i], want.v[i])
				}
			}
		})
	}
}

// Anything the converter does not know is refused, naming the layer, rather
// than converted to something else.
func TestRefuses(t *testing.T) {
	tests := []struct {
		name  string
		build func(f *fixture) string
		want  string
	}{
		{"an unknown layer", func(f *fixture) string {
			f.add("BatchNormalization", "bn", nil, "in")
			return "bn"
		}, `layer "bn" (BatchNormalization): layer class BatchNormalization is not supported`},
		{"bilinear up-sampling", func(f *fixture) string {
			f.add("UpSampling2D", "up", map[string]any{"size": []int{2, 2}, "interpolation": "bilinear"}, "in")
			return "up"
		}, `layer "up" (UpSampling2D): interpolation "bilinear"`},
		{"an unknown activation", func(f *fixture) string {
			f.add("Activation", "act", map[string]any{"activation": "elu"}, "in")
			return "act"
		}, `layer "act" (Activation): activation "elu" is not supported`},
		{"an unknown activation inside Conv2D", func(f *fixture) string {
			f.conv("c", "in", 3, 2, 3, 1, "same", "swish", true)
			return "c"
		}, `layer "c" (Conv2D): activation "swish"`},
		{"channels_first", func(f *fixture) string {
			f.add("UpSampling2D", "up", map[string]any{"size": []int{2, 2}, "data_format": "channels_first"}, "in")
			return "up"
		}, `data_format "channels_first"`},
		{"a grouped convolution", func(f *fixture) string {
			f.conv("c", "in", 3, 3, 3, 1, "same", "linear", true)
			f.layers[len(f.layers)-1]["config"].(map[string]any)["groups"] = 3
			return "c"
		}, `layer "c" (Conv2D): groups 3`},
		{"a weight no layer uses", func(f *fixture) string {
			f.add("Activation", "act", map[string]any{"activation": "relu"}, "in")
			f.weights = append(f.weights, weightEntry{"stray/gamma", []int{3}, []float32{1, 2, 3}})
			return "act"
		}, `weights no layer used: stray/gamma`},
		{"a layer named like the graph's output", func(f *fixture) string {
			f.add("Activation", "output", map[string]any{"activation": "relu"}, "in")
			return "output"
		}, `the names input and output are the graph's own`},
		{"a layer reading a missing input", func(f *fixture) string {
			f.add("Add", "add", nil, "in", "nowhere")
			return "add"
		}, `input "nowhere" is not an earlier layer`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fixture{seed: 3}
			f.input(3)
			output := tc.build(f)
			_, err := f.convert(t, output)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// A model.json the converter cannot read is refused with what is wrong.
func TestParseRefuses(t *testing.T) {
	f := &fixture{seed: 1}
	f.input(3)
	f.conv("c", "in", 3, 2, 3, 1, "same", "linear", true)
	good, shard := f.json(t, "c")
	edit := func(change func(mj map[string]any)) []byte {
		var mj map[string]any
		if err := json.Unmarshal(good, &mj); err != nil {
			t.Fatal(err)
		}
		change(mj)
		b, err := json.Marshal(mj)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	weights := func(mj map[string]any) []any {
		return mj["weightsManifest"].([]any)[0].(map[string]any)["weights"].([]any)
	}
	tests := []struct {
		name  string
		data  []byte
		shard []byte
		want  string
	}{
		{"a graph model", edit(func(mj map[string]any) { mj["format"] = "graph-model" }), shard, `format "graph-model"`},
		{"quantized weights", edit(func(mj map[string]any) {
			weights(mj)[0].(map[string]any)["quantization"] = map[string]any{"dtype": "uint8", "scale": 0.1, "min": 0}
		}), shard, `is quantized`},
		{"a short shard", good, shard[:len(shard)-4], `reaches past the end`},
		{"a long shard", good, append(append([]byte{}, shard...), 0, 0, 0, 0), `the manifest accounts for`},
		{"a shared layer", edit(func(mj map[string]any) {
			layers := mj["modelTopology"].(map[string]any)["model_config"].(map[string]any)["config"].(map[string]any)["layers"].([]any)
			l := layers[1].(map[string]any)
			l["inbound_nodes"] = []any{l["inbound_nodes"].([]any)[0], l["inbound_nodes"].([]any)[0]}
		}), shard, `called 2 times`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.data, func(string) ([]byte, error) { return tc.shard, nil })
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// The same model converts to the same bytes: install.sh checks the result
// against a checksum.
func TestDeterministic(t *testing.T) {
	build := func() []byte {
		f := &fixture{seed: 9}
		f.input(3)
		f.conv("a", "in", 3, 4, 3, 1, "same", "relu", true)
		f.conv("b", "a", 4, 4, 1, 1, "valid", "linear", true)
		f.add("Concatenate", "cat", map[string]any{"axis": 3}, "a", "b")
		m, err := f.convert(t, "cat")
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	a, b := build(), build()
	if string(a) != string(b) {
		t.Fatal("two conversions of one model differ")
	}
}
