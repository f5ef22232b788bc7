package tfjs2onnx

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/tigerstudio/studio/infra/onnxpb"
)

// Producer is written into the ONNX model's producer_name.
const Producer = "tigerstudio-tfjs2onnx"

// Supported names the layer classes Convert knows; any other is refused.
const Supported = "InputLayer, Conv2D, Activation, Concatenate, Add, UpSampling2D, MultiplyBeta, PixelShuffle<N>x"

// MultiplyBetaFactor is what UpscalerJS's custom MultiplyBeta layer (its
// ESRGAN RRDN models, e.g. esrgan-thick) multiplies by: the constant BETA of
// its JavaScript source (packages/shared/src/esrgan/esrgan.ts), which the
// model.json does not record.
const MultiplyBetaFactor = 0.2

var pixelShuffle = regexp.MustCompile(`^PixelShuffle([1-9][0-9]?)x$`)

// tensorInfo is what the converter knows of a layer's output: its ONNX
// value name and channel count (0 when unknown).
type tensorInfo struct {
	value    string
	channels int
}

// Convert writes m as an ONNX model ("input" [N,C,H,W] -> "output"
// [N,C',H',W']). Mapping, with the Keras data in channels_last:
//
//	InputLayer    the graph input (rank 4, channels known)
//	Conv2D        Conv (kernel [kh,kw,in,out] -> [out,in,kh,kw]; "same" as
//	              auto_pad SAME_UPPER, TensorFlow's rule; groups 1), then its
//	              activation
//	Activation    linear (none), relu, sigmoid, tanh
//	Concatenate   Concat (the channel axis becomes 1)
//	Add           Add (two inputs) or Sum
//	UpSampling2D  Resize nearest, asymmetric coordinates, floor: out[i] =
//	              in[floor(i/s)], tf.image.resizeNearestNeighbor without
//	              align_corners or half-pixel centres, as tfjs-layers calls it
//	MultiplyBeta  Mul by MultiplyBetaFactor (UpscalerJS's custom layer)
//	PixelShuffleNx  DepthToSpace blocksize N, mode DCR: tf.depthToSpace in
//	              NHWC orders the channels the same way (UpscalerJS's layer)
//
// Any other layer, activation or option (bilinear up-sampling,
// channels_first, grouped convolution) is refused naming the layer.
func Convert(m *Model) ([]byte, error) {
	if len(m.Inputs) != 1 || len(m.Outputs) != 1 {
		return nil, fmt.Errorf("tfjs2onnx.Convert: the model has %d inputs and %d outputs, want one of each (an image in, an image out)", len(m.Inputs), len(m.Outputs))
	}
	c := converter{m: m, out: make(map[string]tensorInfo)}
	for _, l := range m.Layers {
		// Layers name their ONNX values; these two are the graph's own.
		if l.Class != "InputLayer" && (l.Name == "input" || l.Name == "output") {
			return nil, fmt.Errorf("tfjs2onnx.Convert: layer %q (%s): the names input and output are the graph's own", l.Name, l.Class)
		}
		if err := c.layer(l); err != nil {
			return nil, fmt.Errorf("tfjs2onnx.Convert: layer %q (%s): %w", l.Name, l.Class, err)
		}
	}
	last, ok := c.out[m.Outputs[0]]
	if !ok {
		return nil, fmt.Errorf("tfjs2onnx.Convert: output layer %q is not among the layers", m.Outputs[0])
	}
	if _, ok := c.out[m.Inputs[0]]; !ok {
		return nil, fmt.Errorf("tfjs2onnx.Convert: input layer %q is not among the layers", m.Inputs[0])
	}
	if unused := c.unusedWeights(); len(unused) > 0 {
		return nil, fmt.Errorf("tfjs2onnx.Convert: weights no layer used: %s (a layer this converter does not understand?)", strings.Join(unused, ", "))
	}
	c.g.Node("output", "Identity", []string{last.value}, "output")
	c.g.Output("output", onnxpb.Dim{Param: "N"}, channelDim(last.channels), onnxpb.Dim{Param: "H_out"}, onnxpb.Dim{Param: "W_out"})
	name := m.Name
	if name == "" {
		name = "tfjs"
	}
	return c.g.Model(name, Producer), nil
}

type converter struct {
	m    *Model
	g    onnxpb.Graph
	out  map[string]tensorInfo // by layer name
	used []string              // weight names read
}

func channelDim(c int) onnxpb.Dim {
	if c > 0 {
		return onnxpb.Dim{Value: int64(c)}
	}
	return onnxpb.Dim{Param: "C"}
}

func (c *converter) inputs(l Layer, n int) ([]tensorInfo, error) {
	if n > 0 && len(l.Inbound) != n {
		return nil, fmt.Errorf("takes %d inputs, want %d", len(l.Inbound), n)
	}
	if len(l.Inbound) == 0 {
		return nil, errors.New("has no inputs")
	}
	var ins []tensorInfo
	for _, name := range l.Inbound {
		t, ok := c.out[name]
		if !ok {
			return nil, fmt.Errorf("input %q is not an earlier layer", name)
		}
		ins = append(ins, t)
	}
	return ins, nil
}

// configured decodes l's config into cfg (see config) and returns its n
// inputs (see inputs).
func (c *converter) configured(l Layer, cfg any, n int) ([]tensorInfo, error) {
	if err := config(l, cfg); err != nil {
		return nil, err
	}
	return c.inputs(l, n)
}

func (c *converter) weight(name string) (Weight, error) {
	w, ok := c.m.Weights[name]
	if !ok {
		return Weight{}, fmt.Errorf("weight %q is not in the weights manifest", name)
	}
	c.used = append(c.used, name)
	return w, nil
}

func (c *converter) unusedWeights() []string {
	var unused []string
	for name := range c.m.Weights {
		if !slices.Contains(c.used, name) {
			unused = append(unused, name)
		}
	}
	slices.Sort(unused)
	return unused
}

// config decodes a layer's config, refusing channels_first.
func config(l Layer, dst any) error {
	if err := json.Unmarshal(l.Config, dst); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	var df struct {
		DataFormat string `json:"data_format"`
	}
	_ = json.Unmarshal(l.Config, &df)
	if df.DataFormat != "" && df.DataFormat != "channels_last" {
		return fmt.Errorf("data_format %q: only channels_last is supported", df.DataFormat)
	}
	return nil
}

// layerClasses converts each layer class of Supported but PixelShuffle<N>x,
// a family matched by pixelShuffle.
var layerClasses = map[string]func(*converter, Layer) error{
	"InputLayer":   (*converter).inputLayer,
	"Conv2D":       (*converter).conv2D,
	"Activation":   (*converter).activationLayer,
	"Concatenate":  (*converter).concatenate,
	"Add":          (*converter).add,
	"UpSampling2D": (*converter).upSampling,
	"MultiplyBeta": (*converter).multiplyBeta,
}

func (c *converter) layer(l Layer) error {
	if convert, ok := layerClasses[l.Class]; ok {
		return convert(c, l)
	}
	if m := pixelShuffle.FindStringSubmatch(l.Class); m != nil {
		n, _ := strconv.Atoi(m[1])
		return c.depthToSpace(l, n)
	}
	return fmt.Errorf("layer class %s is not supported (the converter knows %s)", l.Class, Supported)
}

// activationLayer is a Keras Activation layer: its activation alone.
func (c *converter) activationLayer(l Layer) error {
	var cfg struct {
		Activation string `json:"activation"`
	}
	ins, err := c.configured(l, &cfg, 1)
	if err != nil {
		return err
	}
	return c.activation(l.Name, cfg.Activation, ins[0])
}

// add sums two or more inputs (Add for two, Sum for more).
func (c *converter) add(l Layer) error {
	ins, err := c.inputs(l, 0)
	if err != nil {
		return err
	}
	if len(ins) < 2 {
		return errors.New("needs at least two inputs")
	}
	op := "Sum"
	if len(ins) == 2 {
		op = "Add"
	}
	var vals []string
	for _, t := range ins {
		vals = append(vals, t.value)
	}
	c.g.Node(l.Name, op, vals, l.Name)
	c.out[l.Name] = tensorInfo{l.Name, ins[0].channels}
	return nil
}

// multiplyBeta scales its input by the ESRGAN residual factor
// (MultiplyBetaFactor).
func (c *converter) multiplyBeta(l Layer) error {
	ins, err := c.inputs(l, 1)
	if err != nil {
		return err
	}
	k := l.Name + "/beta"
	c.g.Initializer(k, nil, []float32{MultiplyBetaFactor})
	c.g.Node(l.Name, "Mul", []string{ins[0].value, k}, l.Name)
	c.out[l.Name] = tensorInfo{l.Name, ins[0].channels}
	return nil
}

// depthToSpace is a PixelShuffle layer: n x n channel groups become n x n
// pixel blocks.
func (c *converter) depthToSpace(l Layer, n int) error {
	ins, err := c.inputs(l, 1)
	if err != nil {
		return err
	}
	ch := ins[0].channels
	if ch > 0 && ch%(n*n) != 0 {
		return fmt.Errorf("%d channels cannot be shuffled into %dx%d blocks", ch, n, n)
	}
	c.g.Node(l.Name, "DepthToSpace", []string{ins[0].value}, l.Name, onnxpb.IntAttr("blocksize", int64(n)), onnxpb.StringAttr("mode", "DCR"))
	c.out[l.Name] = tensorInfo{l.Name, ch / (n * n)}
	return nil
}

func (c *converter) inputLayer(l Layer) error {
	var cfg struct {
		Shape []*int `json:"batch_input_shape"`
	}
	if err := config(l, &cfg); err != nil {
		return err
	}
	if len(c.out) > 0 || l.Name != c.m.Inputs[0] {
		return errors.New("only one input layer, the model's input, is supported")
	}
	if len(cfg.Shape) != 4 || cfg.Shape[3] == nil {
		return fmt.Errorf("batch_input_shape %v: want [batch, height, width, channels] with the channels known", cfg.Shape)
	}
	ch := *cfg.Shape[3]
	d := []onnxpb.Dim{{Param: "N"}, {Value: int64(ch)}, {Param: "H"}, {Param: "W"}}
	// Batch, height and width keep a fixed size where the model has one.
	for j, pos := range [3]int{0, 2, 3} {
		if cfg.Shape[j] != nil {
			d[pos] = onnxpb.Dim{Value: int64(*cfg.Shape[j])}
		}
	}
	c.g.Input("input", d...)
	c.out[l.Name] = tensorInfo{"input", ch}
	return nil
}

func (c *converter) conv2D(l Layer) error {
	var cfg conv2DConfig
	ins, err := c.configured(l, &cfg, 1)
	if err != nil {
		return err
	}
	if err := cfg.check(); err != nil {
		return err
	}
	k, err := c.weight(l.Name + "/kernel")
	if err != nil {
		return err
	}
	kh, kw := cfg.Kernel[0], cfg.Kernel[1]
	if len(k.Shape) != 4 || k.Shape[0] != kh || k.Shape[1] != kw || k.Shape[3] != cfg.Filters {
		return fmt.Errorf("kernel shape %v does not match kernel_size %v and %d filters", k.Shape, cfg.Kernel, cfg.Filters)
	}
	in, out := k.Shape[2], k.Shape[3]
	if ins[0].channels > 0 && ins[0].channels != in {
		return fmt.Errorf("kernel takes %d channels, its input has %d", in, ins[0].channels)
	}
	wName := l.Name + "/kernel"
	c.g.Initializer(wName, []int64{int64(out), int64(in), int64(kh), int64(kw)}, kernelOIHW(k.Data, kh, kw, in, out))
	inputs := []string{ins[0].value, wName}
	if cfg.UseBias == nil || *cfg.UseBias {
		b, err := c.weight(l.Name + "/bias")
		if err != nil {
			return err
		}
		if len(b.Data) != out {
			return fmt.Errorf("bias has %d values, want %d", len(b.Data), out)
		}
		c.g.Initializer(l.Name+"/bias", []int64{int64(out)}, b.Data)
		inputs = append(inputs, l.Name+"/bias")
	}
	attrs, err := cfg.attrs()
	if err != nil {
		return err
	}
	conv := l.Name
	if act := cfg.Activation; act != "" && act != "linear" {
		conv = l.Name + "/conv"
	}
	c.g.Node(conv, "Conv", inputs, conv, attrs...)
	t := tensorInfo{conv, out}
	if conv == l.Name {
		c.out[l.Name] = t
		return nil
	}
	return c.activation(l.Name, cfg.Activation, t)
}

// conv2DConfig is what a Keras Conv2D layer's config says.
type conv2DConfig struct {
	Filters    int    `json:"filters"`
	Kernel     []int  `json:"kernel_size"`
	Strides    []int  `json:"strides"`
	Padding    string `json:"padding"`
	Dilation   []int  `json:"dilation_rate"`
	Groups     *int   `json:"groups"`
	Activation string `json:"activation"`
	UseBias    *bool  `json:"use_bias"`
}

// check fills in the defaults and refuses what the converter cannot
// express.
func (cfg *conv2DConfig) check() error {
	if cfg.Groups != nil && *cfg.Groups != 1 {
		return fmt.Errorf("groups %d: only ungrouped convolutions are supported", *cfg.Groups)
	}
	if cfg.Strides == nil {
		cfg.Strides = []int{1, 1}
	}
	if cfg.Dilation == nil {
		cfg.Dilation = []int{1, 1}
	}
	if len(cfg.Kernel) != 2 || len(cfg.Strides) != 2 || len(cfg.Dilation) != 2 {
		return fmt.Errorf("kernel_size %v, strides %v, dilation_rate %v: want two numbers each", cfg.Kernel, cfg.Strides, cfg.Dilation)
	}
	return nil
}

// attrs are the ONNX Conv node's attributes for the layer.
func (cfg conv2DConfig) attrs() ([]onnxpb.Attr, error) {
	attrs := []onnxpb.Attr{
		onnxpb.IntsAttr("kernel_shape", int64(cfg.Kernel[0]), int64(cfg.Kernel[1])),
		onnxpb.IntsAttr("strides", int64(cfg.Strides[0]), int64(cfg.Strides[1])),
		onnxpb.IntsAttr("dilations", int64(cfg.Dilation[0]), int64(cfg.Dilation[1])),
	}
	switch cfg.Padding {
	case "same":
		// TensorFlow pads (total)/2 before and the rest after: SAME_UPPER.
		return append(attrs, onnxpb.StringAttr("auto_pad", "SAME_UPPER")), nil
	case "valid":
		return append(attrs, onnxpb.IntsAttr("pads", 0, 0, 0, 0)), nil
	default:
		return nil, fmt.Errorf("padding %q: want same or valid", cfg.Padding)
	}
}

// kernelOIHW reorders a TF.js kernel, [kh][kw][in][out], into ONNX's
// [out][in][kh][kw].
func kernelOIHW(k []float32, kh, kw, in, out int) []float32 {
	w := make([]float32, len(k))
	for y := range kh {
		for x := range kw {
			for i := range in {
				for o := range out {
					w[((o*in+i)*kh+y)*kw+x] = k[((y*kw+x)*in+i)*out+o]
				}
			}
		}
	}
	return w
}

// activation adds the node of a Keras activation, named name.
func (c *converter) activation(name, act string, in tensorInfo) error {
	op := map[string]string{"linear": "Identity", "relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh"}[act]
	if op == "" {
		return fmt.Errorf("activation %q is not supported (want linear, relu, sigmoid or tanh)", act)
	}
	c.g.Node(name, op, []string{in.value}, name)
	c.out[name] = tensorInfo{name, in.channels}
	return nil
}

func (c *converter) concatenate(l Layer) error {
	var cfg struct {
		Axis *int `json:"axis"`
	}
	ins, err := c.configured(l, &cfg, 0)
	if err != nil {
		return err
	}
	axis := -1
	if cfg.Axis != nil {
		axis = *cfg.Axis
	}
	// NHWC axis -> NCHW axis.
	nchw, ok := map[int]int{-1: 1, 3: 1, 1: 2, -3: 2, 2: 3, -2: 3}[axis]
	if !ok {
		return fmt.Errorf("axis %d: only the height, width or channel axis of a rank-4 tensor is supported", axis)
	}
	var vals []string
	ch := 0
	for _, t := range ins {
		vals = append(vals, t.value)
		if t.channels == 0 {
			ch = -1
		} else if ch >= 0 {
			ch += t.channels
		}
	}
	if nchw != 1 {
		ch = ins[0].channels
	}
	c.g.Node(l.Name, "Concat", vals, l.Name, onnxpb.IntAttr("axis", int64(nchw)))
	c.out[l.Name] = tensorInfo{l.Name, max(ch, 0)}
	return nil
}

func (c *converter) upSampling(l Layer) error {
	var cfg struct {
		Size          []int  `json:"size"`
		Interpolation string `json:"interpolation"`
	}
	ins, err := c.configured(l, &cfg, 1)
	if err != nil {
		return err
	}
	if cfg.Interpolation != "" && cfg.Interpolation != "nearest" {
		return fmt.Errorf("interpolation %q: only nearest is supported", cfg.Interpolation)
	}
	if len(cfg.Size) != 2 || cfg.Size[0] < 1 || cfg.Size[1] < 1 {
		return fmt.Errorf("size %v: want two positive factors", cfg.Size)
	}
	scales := l.Name + "/scales"
	c.g.Initializer(scales, []int64{4}, []float32{1, 1, float32(cfg.Size[0]), float32(cfg.Size[1])})
	c.g.Node(l.Name, "Resize", []string{ins[0].value, "", scales}, l.Name,
		onnxpb.StringAttr("mode", "nearest"),
		onnxpb.StringAttr("coordinate_transformation_mode", "asymmetric"),
		onnxpb.StringAttr("nearest_mode", "floor"))
	c.out[l.Name] = tensorInfo{l.Name, ins[0].channels}
	return nil
}
