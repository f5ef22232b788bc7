// Package onnx is the generation backend that runs a style's ONNX model
// in-process with ONNX Runtime (through github.com/yalue/onnxruntime_go, which
// loads libonnxruntime.so at run time; see FindLibrary).
//
// A style selects it with "backend": "onnx" and describes its model in
// params (see params.go): the file under Config.ModelDir, its SHA-256, and
// how to tile and normalise. Every model has one input "input" [1,3,H,W] and
// one output "output" [1,3,H,W], float32 RGB, with H and W dynamic: the
// image is cut into overlapping tiles so memory stays bounded whatever the
// photo size, and the tiles are stitched back without seams.
//
// The ONNX Runtime environment is process-wide state inside the binding. New
// creates it when it does not exist yet and later Generators share it; Close
// releases only the Generator's own sessions, because another Generator may
// still be using the environment. Call Shutdown once at process exit, after
// every Generator is closed, to destroy it.
package onnx

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/tigerstudio/studio/infra/styles"
	"github.com/tigerstudio/studio/worker/generate"
)

// Backend is the catalogue's name for this backend.
const Backend = "onnx"

// Device values for Config.Device.
const (
	DeviceCPU  = "cpu"
	DeviceCUDA = "cuda"
)

// Config says where ONNX Runtime and the models are.
type Config struct {
	// LibraryPath is the libonnxruntime.so to load (see FindLibrary). It is
	// only used by the New call that initialises the process's ONNX
	// Runtime environment; later calls share that environment.
	LibraryPath string
	// Device is "cpu" (the default) or "cuda". With "cuda" New fails unless
	// the library has the CUDA execution provider and a GPU is usable.
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

// Generator runs the onnx styles of a catalogue. It is safe for concurrent
// use: ONNX Runtime sessions may run concurrently.
type Generator struct {
	mu       sync.RWMutex // held for reading while a tile runs, for writing by Close
	closed   bool
	styles   map[string]*model // by style ID
	sessions []*ort.DynamicAdvancedSession
}

// model is one loaded model and the params of the style that uses it.
type model struct {
	params  params
	session *ort.DynamicAdvancedSession
}

// warmSide is the side of the blank image New runs every model on once: it
// checks the model has the expected input and output at start rather than at
// the first job, and takes the first-run cost (allocation, CUDA kernel
// selection) out of the first job. 32 suits models that downsample by up to 32.
const warmSide = 32

// New starts ONNX Runtime when needed and loads the model of every style of
// the catalogue whose backend is "onnx", each once, checking its SHA-256. It
// refuses to start on any problem, naming the style.
func New(ctx context.Context, cfg Config, catalogue []styles.Style) (*Generator, error) {
	g, err := newGenerator(ctx, cfg, catalogue)
	if err != nil {
		return nil, fmt.Errorf("onnx.New: %w", err)
	}
	return g, nil
}

func newGenerator(ctx context.Context, cfg Config, catalogue []styles.Style) (_ *Generator, err error) {
	switch cfg.Device {
	case "", DeviceCPU, DeviceCUDA:
	default:
		return nil, fmt.Errorf("device %q: want %q or %q", cfg.Device, DeviceCPU, DeviceCUDA)
	}
	if cfg.ModelDir == "" {
		return nil, errors.New("no model directory configured")
	}
	if err := initEnvironment(cfg.LibraryPath); err != nil {
		return nil, err
	}
	opts, err := sessionOptions(cfg)
	if err != nil {
		return nil, err
	}
	defer func() { _ = opts.Destroy() }()

	g := &Generator{styles: make(map[string]*model)}
	defer func() {
		if err != nil {
			g.Close()
		}
	}()
	loaded := make(map[string]*ort.DynamicAdvancedSession) // by file and checksum: styles may share a model
	for _, st := range catalogue {
		if st.Backend != Backend {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		p, err := parseParams(st.Params)
		if err != nil {
			return nil, fmt.Errorf("style %q: %w", st.ID, err)
		}
		key := p.file + "@" + hex.EncodeToString(p.sha256)
		s, ok := loaded[key]
		if !ok {
			if s, err = loadModel(ctx, cfg, p, opts); err != nil {
				return nil, fmt.Errorf("style %q: %w", st.ID, err)
			}
			loaded[key] = s
			g.sessions = append(g.sessions, s)
		}
		g.styles[st.ID] = &model{params: p, session: s}
	}
	return g, nil
}

// initEnvironment creates the process's ONNX Runtime environment unless an
// earlier New did. Two first calls of New racing each other is not
// supported (the binding's global is not synchronised); the worker calls New
// once at start.
func initEnvironment(library string) error {
	if ort.IsInitialized() {
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
	return nil
}

// Shutdown destroys the process's ONNX Runtime environment. Call it once
// at exit, after Close on every Generator; it is a no-op when there is none.
func Shutdown() error {
	if !ort.IsInitialized() {
		return nil
	}
	if err := ort.DestroyEnvironment(); err != nil {
		return fmt.Errorf("onnx.Shutdown: %w", err)
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

// loadModel reads the model file, checks its SHA-256, creates its session
// and runs it once on a blank image.
func loadModel(ctx context.Context, cfg Config, p params, opts *ort.SessionOptions) (*ort.DynamicAdvancedSession, error) {
	data, where, err := readModel(ctx, cfg, p.file)
	if err != nil {
		return nil, err
	}
	if sum := sha256.Sum256(data); !bytes.Equal(sum[:], p.sha256) {
		return nil, fmt.Errorf("model %s: sha256 is %x, the catalogue says %x: refusing to run a model other than the one reviewed", where, sum, p.sha256)
	}
	s, err := ort.NewDynamicAdvancedSessionWithONNXData(data, []string{"input"}, []string{"output"}, opts)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", where, err)
	}
	m := &model{params: p, session: s}
	blank := make([]float32, 3*warmSide*warmSide)
	if err := m.run(nil, blank, warmSide, warmSide, make([]float32, len(blank))); err != nil {
		_ = s.Destroy()
		return nil, fmt.Errorf("model %s: trial run on a %dx%d image (want input \"input\" and output \"output\", float32 [1,3,H,W], dynamic H and W): %w", where, warmSide, warmSide, err)
	}
	return s, nil
}

func readModel(ctx context.Context, cfg Config, file string) (data []byte, where string, err error) {
	if rest, ok := strings.CutPrefix(cfg.ModelDir, "gs://"); ok {
		bucket, prefix, _ := strings.Cut(rest, "/")
		if bucket == "" {
			return nil, cfg.ModelDir, fmt.Errorf("model directory %q: no bucket", cfg.ModelDir)
		}
		object := path.Join(prefix, file)
		where = "gs://" + bucket + "/" + object
		if cfg.Fetch == nil {
			return nil, where, fmt.Errorf("model %s: no Fetch configured to read gs:// model directories", where)
		}
		if data, err = cfg.Fetch(ctx, bucket, object); err != nil {
			return nil, where, fmt.Errorf("model %s: %w", where, err)
		}
		return data, where, nil
	}
	where = filepath.Join(cfg.ModelDir, filepath.FromSlash(file))
	if data, err = os.ReadFile(where); err != nil {
		return nil, where, fmt.Errorf("model: %w", err)
	}
	return data, where, nil
}

// run runs the model on one CHW crop. ro may be nil.
func (m *model) run(ro *ort.RunOptions, in []float32, h, w int, out []float32) error {
	shape := ort.NewShape(1, 3, int64(h), int64(w))
	it, err := ort.NewTensor(shape, in)
	if err != nil {
		return err
	}
	defer func() { _ = it.Destroy() }()
	// The output tensor wraps out, so ONNX Runtime writes the result in
	// place, and a model whose output is not [1,3,h,w] fails here.
	ot, err := ort.NewTensor(shape, out)
	if err != nil {
		return err
	}
	defer func() { _ = ot.Destroy() }()
	return m.session.RunWithOptions([]ort.Value{it}, []ort.Value{ot}, ro)
}

// Generate runs the style's model on in and returns one image, the size of
// in scaled down to the style's maxSide.
func (g *Generator) Generate(ctx context.Context, style styles.Style, in image.Image) ([]image.Image, error) {
	out, err := g.generate(ctx, style, in)
	if err != nil {
		return nil, fmt.Errorf("onnx.Generate: style %q: %w", style.ID, err)
	}
	return out, nil
}

var errClosed = errors.New("generator closed")

func (g *Generator) generate(ctx context.Context, style styles.Style, in image.Image) ([]image.Image, error) {
	m, ok := g.styles[style.ID]
	if !ok {
		return nil, fmt.Errorf("%w: no onnx model was loaded for this style (backend %q)", generate.ErrInvalidInput, style.Backend)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	src, alpha, err := prepare(in, m.params)
	if err != nil {
		return nil, err
	}

	// ONNX Runtime cannot watch ctx, but a RunOptions' terminate flag stops
	// a Run in progress: set it as soon as ctx is done, so a long tile (big
	// tiles on CPU) does not delay shutdown.
	g.mu.RLock()
	if g.closed {
		g.mu.RUnlock()
		return nil, errClosed
	}
	ro, err := ort.NewRunOptions()
	g.mu.RUnlock()
	if err != nil {
		return nil, fmt.Errorf("run options: %w", err)
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

	dst, err := runTiled(ctx, src, m.params.tile, m.params.pad, func(ctx context.Context, in []float32, h, w int, out []float32) error {
		g.mu.RLock()
		defer g.mu.RUnlock()
		if g.closed {
			return errClosed
		}
		if err := m.run(ro, in, h, w, out); err != nil {
			if ctx.Err() != nil {
				return ctx.Err() // the Run was terminated for ctx
			}
			return fmt.Errorf("running the model on a %dx%d tile: %w", w, h, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return []image.Image{finish(dst, alpha)}, nil
}

// Close releases the Generator's sessions, waiting for tiles being computed;
// Generate fails afterwards. It leaves the process's ONNX Runtime
// environment up for other Generators: see Shutdown. Safe to call twice.
func (g *Generator) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil
	}
	g.closed = true
	var errs []error
	for _, s := range g.sessions {
		if err := s.Destroy(); err != nil {
			errs = append(errs, err)
		}
	}
	g.sessions = nil
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("onnx.Close: %w", err)
	}
	return nil
}
