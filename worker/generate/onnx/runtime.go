// Package onnx runs neural networks in-process with ONNX Runtime (through
// github.com/yalue/onnxruntime_go, which loads libonnxruntime.so at run time;
// see FindLibrary) and provides the pipeline steps built on them:
// detect-face, matte and the generic image-to-image model step.
//
// A Runtime loads each model file once per process (checked against its
// SHA-256), shares its session between every step and slot that uses it,
// and runs it once on a blank input when it is loaded, so a broken model
// fails the worker at start and the first job pays no warm-up.
//
// The ONNX Runtime environment is process-wide state inside the binding.
// Runtimes share it and count themselves: NewRuntime creates it when no
// Runtime holds it, and the Close of the last Runtime destroys it, so one
// Runtime closing never frees what another still uses.
package onnx

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/tigerstudio/studio/worker/generate"
)

// Device values for Config.Device.
const (
	DeviceCPU  = "cpu"
	DeviceCUDA = "cuda"
)

// Config says where ONNX Runtime and the models are.
type Config struct {
	// LibraryPath is the libonnxruntime.so to load (see FindLibrary). It is
	// only used by the NewRuntime call that initialises the process's ONNX
	// Runtime environment; later calls share that environment.
	LibraryPath string
	// Device is "cpu" (the default) or "cuda". With "cuda" loading fails
	// unless the library has the CUDA execution provider and a GPU is usable.
	Device string
	// DeviceID is the CUDA device ordinal (default 0).
	DeviceID int
	// Threads caps ONNX Runtime's intra-op threads per session; 0 lets it
	// use one per core.
	Threads int
	// ModelDir holds the model files: a local directory, or gs://bucket/prefix
	// read through Fetch.
	ModelDir string
	// Fetch reads one object from Cloud Storage; required when ModelDir is a
	// gs:// URL. Injected so this package does not depend on a Storage client.
	Fetch func(ctx context.Context, bucket, object string) ([]byte, error)
}

// Runtime owns the sessions of the models a worker runs. It is safe for
// concurrent use: ONNX Runtime sessions may run concurrently.
type Runtime struct {
	cfg  Config
	opts *ort.SessionOptions

	mu     sync.RWMutex // held for reading while a model runs, for writing by Close and Load
	closed bool
	models map[string]*Model // by file, checksum and tensor names
}

// NewRuntime starts ONNX Runtime when no other Runtime holds it. Close
// every Runtime it returns: the last Close stops ONNX Runtime.
func NewRuntime(cfg Config) (*Runtime, error) {
	switch cfg.Device {
	case "", DeviceCPU, DeviceCUDA:
	default:
		return nil, fmt.Errorf("onnx.NewRuntime: device %q: want %q or %q", cfg.Device, DeviceCPU, DeviceCUDA)
	}
	if cfg.ModelDir == "" {
		return nil, errors.New("onnx.NewRuntime: no model directory configured (MODEL_DIR)")
	}
	if err := acquireEnvironment(cfg.LibraryPath); err != nil {
		return nil, fmt.Errorf("onnx.NewRuntime: %w", err)
	}
	opts, err := sessionOptions(cfg)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("onnx.NewRuntime: %w", err), releaseEnvironment())
	}
	return &Runtime{cfg: cfg, opts: opts, models: make(map[string]*Model)}, nil
}

// environment counts the Runtimes holding the process's ONNX Runtime
// environment. The binding keeps the environment (and the loaded library)
// in globals of its own, so this count is necessarily process-wide too; the
// mutex also orders two first NewRuntime calls, which the binding cannot.
var environment struct {
	mu   sync.Mutex
	refs int
}

// acquireEnvironment creates the environment when no Runtime holds it, and
// counts one more holder.
func acquireEnvironment(library string) error {
	environment.mu.Lock()
	defer environment.mu.Unlock()
	if environment.refs > 0 {
		environment.refs++
		return nil
	}
	if library == "" {
		return fmt.Errorf("no ONNX Runtime library configured: %s", InstallHint)
	}
	if _, err := os.Stat(library); err != nil {
		return fmt.Errorf("ONNX Runtime library: %w; %s", err, InstallHint)
	}
	ort.SetSharedLibraryPath(library)
	if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
		return fmt.Errorf("starting ONNX Runtime from %s (this build needs ONNX Runtime %s): %w", library, ORTVersion, err)
	}
	environment.refs = 1
	return nil
}

// releaseEnvironment counts one holder less and destroys the environment
// when it was the last.
func releaseEnvironment() error {
	environment.mu.Lock()
	defer environment.mu.Unlock()
	if environment.refs == 0 {
		return errors.New("ONNX Runtime environment released more often than acquired")
	}
	environment.refs--
	if environment.refs > 0 {
		return nil
	}
	if err := ort.DestroyEnvironment(); err != nil {
		return fmt.Errorf("destroying the ONNX Runtime environment: %w", err)
	}
	return nil
}

func sessionOptions(cfg Config) (_ *ort.SessionOptions, err error) {
	opts, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("session options: %w", err)
	}
	defer func() {
		if err != nil {
			_ = opts.Destroy()
		}
	}()
	if cfg.Threads > 0 {
		if err := opts.SetIntraOpNumThreads(cfg.Threads); err != nil {
			return nil, fmt.Errorf("session options: threads: %w", err)
		}
	}
	if cfg.Device != DeviceCUDA {
		return opts, nil
	}
	cuda, err := ort.NewCUDAProviderOptions()
	if err != nil {
		return nil, fmt.Errorf("CUDA provider options: %w", err)
	}
	defer func() { _ = cuda.Destroy() }()
	// Tiles at the image border have other sizes than inner ones, and every
	// new input shape would trigger cuDNN's default exhaustive algorithm
	// search; the heuristic choice avoids that per-shape stall.
	if err := cuda.Update(map[string]string{
		"device_id":              strconv.Itoa(cfg.DeviceID),
		"cudnn_conv_algo_search": "HEURISTIC",
	}); err != nil {
		return nil, fmt.Errorf("CUDA provider options: %w", err)
	}
	if err := opts.AppendExecutionProviderCUDA(cuda); err != nil {
		return nil, fmt.Errorf("CUDA execution provider unavailable (this ONNX Runtime library may be CPU-only, or no GPU is visible): %w", err)
	}
	return opts, nil
}

// Model is one loaded network. Steps that use it keep their own Spec: two
// catalogue entries may feed the same file differently.
type Model struct {
	rt      *Runtime
	file    string
	session *ort.DynamicAdvancedSession

	warmMu sync.Mutex
	warmed map[string]error // by the using spec
}

// Load returns the model of spec, reading and checking it the first time;
// inputs and outputs name the tensors the caller will pass to Run.
func (r *Runtime) Load(ctx context.Context, spec Spec, inputs, outputs []string) (*Model, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, errClosed
	}
	key := fmt.Sprintf("%s %q %q", spec.key(), inputs, outputs)
	if m, ok := r.models[key]; ok {
		return m, nil
	}
	data, where, err := r.read(ctx, spec.File)
	if err != nil {
		return nil, err
	}
	if sum := sha256.Sum256(data); !bytes.Equal(sum[:], spec.sum) {
		return nil, fmt.Errorf("model %s: sha256 is %x, the catalogue says %s: refusing to run a model other than the one reviewed", where, sum, spec.SHA256)
	}
	s, err := ort.NewDynamicAdvancedSessionWithONNXData(data, inputs, outputs, r.opts)
	if err != nil {
		return nil, fmt.Errorf("model %s (inputs %q, outputs %q): %w", where, inputs, outputs, err)
	}
	m := &Model{rt: r, file: spec.File, session: s, warmed: make(map[string]error)}
	r.models[key] = m
	return m, nil
}

// Warm runs trial once per model and spec: the first step to use a model
// a given way checks it against its tensor shapes and takes the first-run
// cost (allocation, CUDA kernel selection) out of the first job.
func (m *Model) Warm(spec Spec, trial func() error) error {
	key := fmt.Sprintf("%+v", spec)
	m.warmMu.Lock()
	defer m.warmMu.Unlock()
	err, done := m.warmed[key]
	if !done {
		err = trial()
		m.warmed[key] = err
	}
	if err != nil {
		return fmt.Errorf("model %s: trial run: %w", m.file, err)
	}
	return nil
}

func (r *Runtime) read(ctx context.Context, file string) (data []byte, where string, err error) {
	if rest, ok := strings.CutPrefix(r.cfg.ModelDir, "gs://"); ok {
		bucket, prefix, _ := strings.Cut(rest, "/")
		if bucket == "" {
			return nil, r.cfg.ModelDir, fmt.Errorf("model directory %q: no bucket", r.cfg.ModelDir)
		}
		object := path.Join(prefix, file)
		where = "gs://" + bucket + "/" + object
		if r.cfg.Fetch == nil {
			return nil, where, fmt.Errorf("model %s: no Fetch configured to read gs:// model directories", where)
		}
		if data, err = r.cfg.Fetch(ctx, bucket, object); err != nil {
			return nil, where, fmt.Errorf("model %s: %w", where, err)
		}
		return data, where, nil
	}
	where = filepath.Join(r.cfg.ModelDir, filepath.FromSlash(file))
	if data, err = os.ReadFile(where); err != nil {
		return nil, where, fmt.Errorf("model: %w", err)
	}
	return data, where, nil
}

var errClosed = errors.New("onnx runtime closed")

// Run runs the model once, in a turn of the job's device (see
// generate.Device): the turn covers this session run and nothing else, so
// the job's other steps overlap the next job's model run.
func (m *Model) Run(ctx context.Context, inputs, outputs []ort.Value) error {
	return generate.OnDevice(ctx, func(ctx context.Context) error {
		return m.run(ctx, inputs, outputs)
	})
}

// run runs the session. ONNX Runtime cannot watch ctx, but a RunOptions'
// terminate flag stops a Run in progress: it is set as soon as ctx is done,
// so a long Run (a matte on CPU) does not delay shutdown or preemption.
func (m *Model) run(ctx context.Context, inputs, outputs []ort.Value) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.rt.mu.RLock()
	defer m.rt.mu.RUnlock()
	if m.rt.closed {
		return errClosed
	}
	ro, err := ort.NewRunOptions()
	if err != nil {
		return fmt.Errorf("run options: %w", err)
	}
	var roMu sync.Mutex // Terminate must not race Destroy
	stop := context.AfterFunc(ctx, func() {
		roMu.Lock()
		defer roMu.Unlock()
		if ro != nil {
			_ = ro.Terminate()
		}
	})
	defer func() {
		stop()
		roMu.Lock()
		defer roMu.Unlock()
		_ = ro.Destroy()
		ro = nil
	}()
	if err := m.session.RunWithOptions(inputs, outputs, ro); err != nil {
		if ctx.Err() != nil {
			return ctx.Err() // the Run was terminated for ctx
		}
		return err
	}
	return nil
}

// runFloat wraps float32 slices in tensors for one Run; the outputs are
// written in place.
func (m *Model) runFloat(ctx context.Context, in []tensor, out []tensor) error {
	vals := make([]ort.Value, 0, len(in)+len(out))
	defer func() {
		for _, v := range vals {
			_ = v.Destroy()
		}
	}()
	wrap := func(ts []tensor) ([]ort.Value, error) {
		var vs []ort.Value
		for _, t := range ts {
			v, err := ort.NewTensor(ort.NewShape(t.shape...), t.data)
			if err != nil {
				return nil, fmt.Errorf("tensor %v: %w", t.shape, err)
			}
			vals = append(vals, v)
			vs = append(vs, v)
		}
		return vs, nil
	}
	iv, err := wrap(in)
	if err != nil {
		return err
	}
	ov, err := wrap(out)
	if err != nil {
		return err
	}
	return m.Run(ctx, iv, ov)
}

// tensor is a float32 buffer and its shape.
type tensor struct {
	shape []int64
	data  []float32
}

// Close releases the Runtime's sessions, waiting for runs in progress;
// steps fail afterwards. The Close of the last open Runtime in the process
// also destroys the ONNX Runtime environment. Safe to call twice.
func (r *Runtime) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	var errs []error
	for _, m := range r.models {
		if err := m.session.Destroy(); err != nil {
			errs = append(errs, err)
		}
	}
	r.models = nil
	if err := r.opts.Destroy(); err != nil {
		errs = append(errs, err)
	}
	if err := releaseEnvironment(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("onnx.Close: %w", err)
	}
	return nil
}
