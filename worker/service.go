package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/tigerstudio/studio/infra/blob"
	"github.com/tigerstudio/studio/infra/clients"
	"github.com/tigerstudio/studio/infra/queue"
	"github.com/tigerstudio/studio/infra/store"
	"github.com/tigerstudio/studio/infra/styles"
	"github.com/tigerstudio/studio/worker/generate"
	"github.com/tigerstudio/studio/worker/generate/onnx"
	"github.com/tigerstudio/studio/worker/generate/pipeline"
	"github.com/tigerstudio/studio/worker/generate/vertex"
	"github.com/tigerstudio/studio/worker/internal/par"
	"github.com/tigerstudio/studio/worker/internal/workerdb"
)

// Run is the worker service: a health endpoint on PORT for Cloud Run and the
// queue consumer, until ctx is cancelled (SIGTERM), then a graceful stop.
func Run(ctx context.Context, cfg *Config, log *slog.Logger) error {
	cat, err := styles.Load(cfg.StylesFile)
	if err != nil {
		return fmt.Errorf("worker.Run: %w", err)
	}
	c, err := clients.Open(ctx, cfg.Project)
	if err != nil {
		return fmt.Errorf("worker.Run: %w", err)
	}
	defer c.Close()
	fs, gcs := c.Firestore, c.Storage
	start := time.Now()
	gen, closeGen, err := Generator(ctx, cfg, cat, blob.NewReader(gcs))
	if err != nil {
		return fmt.Errorf("worker.Run: %w", err)
	}
	defer closeGen()
	log.Info("styles ready", "styles", len(gen), "device", cfg.Device, "ms", time.Since(start).Milliseconds())

	proc, consumer := New(cfg, Deps{
		Requests:  store.NewReader(fs),
		Results:   workerdb.NewWriter(fs),
		Inputs:    blob.NewReader(gcs),
		Outputs:   blob.NewWriter(gcs, cfg.OutputBucket),
		Generator: gen,
		Styles:    cat,
		Logger:    log,
	})
	return Serve(ctx, cfg.Port, consumer, proc, log)
}

// Deps are what the worker works with. Run connects the real ones; tests
// pass the same, some wrapped to observe them or to inject faults.
type Deps struct {
	Requests  Requests
	Results   Results
	Inputs    Inputs
	Outputs   Outputs
	Generator generate.Generator
	Styles    *styles.Catalogue
	Logger    *slog.Logger
}

// New builds the worker from cfg: the job handler and the queue consumer
// that feeds it. It is the one place where Config values become the
// worker's settings, so the service and its tests run the same worker,
// defaults included.
func New(cfg *Config, d Deps) (*Processor, *queue.Consumer) {
	proc := &Processor{
		Deps:          d,
		InputBucket:   cfg.InputBucket,
		MaxAttempts:   cfg.MaxAttempts,
		MaxSide:       cfg.MaxSide,
		MaxInputBytes: cfg.MaxInput,
		BusyRetries:   cfg.BusyRetries,
		Now:           time.Now,
		pool:          par.NewPool(0),
	}
	// Fewer GPU turns than slots: the other slots download, decode, run
	// their CPU steps, upload and commit while a model runs.
	if cfg.Generations > 0 && cfg.Generations < cfg.Slots {
		proc.gpu = newGPUGate(cfg.Generations, cfg.Preempt)
	}
	mw, signals := policies(cfg, d.Logger)
	consumer := queue.NewConsumer(queue.ConsumerConfig{
		URL:        cfg.AMQPURL,
		Topology:   cfg.Topology(),
		Slots:      cfg.Slots,
		Grace:      cfg.Grace,
		Middleware: mw,
		Signals:    signals,
		Logger:     d.Logger,
	})
	return proc, consumer
}

// policies are the worker's queue middleware, outermost first: booth
// preemption (with preemption on; its hook takes the consumer's booth
// signals), retry with backoff for a failure that may pass, and recovery
// from a panic, which then counts as such a failure (the attempts the
// processor counts durably end a job that always panics).
func policies(cfg *Config, log *slog.Logger) (mw []queue.Middleware, signals func(string)) {
	if cfg.Preempt {
		hand := newInHand(cfg.Slots, log)
		mw, signals = append(mw, hand.track), hand.signal
	}
	return append(mw, queue.Retry(queue.Backoff{First: cfg.RetryBackoff}), queue.Recoverer), signals
}

// Consumer feeds the handler from the queue.
type Consumer interface {
	Run(ctx context.Context, h queue.Handler) error
	Connected() bool
}

// Serve runs the health endpoint and the consumer until ctx ends.
func Serve(ctx context.Context, port string, consumer Consumer, h queue.Handler, log *slog.Logger) error {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("ok\n"))
	})
	// Ready only with a broker session: Cloud Run's startup probe waits for it.
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !consumer.Connected() {
			http.Error(w, "not connected to the broker", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", net.JoinHostPort("", port))
	if err != nil {
		return fmt.Errorf("worker.Serve: %w", err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("health server", "err", err)
		}
	}()
	err = consumer.Run(ctx, h)
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	return errors.Join(err, srv.Shutdown(shutdownCtx))
}

// Generator builds the pipelines of the catalogue's styles, starting ONNX
// Runtime and loading (checksummed) and warming every model once when a
// style runs one. The worker reports ready only after this, so the first
// job pays no warm-up. close releases the models.
func Generator(ctx context.Context, cfg *Config, cat *styles.Catalogue, models *blob.Reader) (_ generate.Pipelines, closeFn func(), err error) {
	var deps pipeline.Deps
	if pipeline.NeedsVertex(cat) {
		// One client per process, shared by every generated style.
		if deps.Vertex, err = vertex.NewClient(ctx, cfg.Vertex()); err != nil {
			return nil, nil, err
		}
	}
	if !pipeline.NeedsRuntime(cat) {
		ps, err := pipeline.BuildWith(ctx, cat, deps)
		return ps, func() {}, err
	}
	lib := cfg.ORTLibraryPath
	if lib == "" {
		// CUDA needs ONNX Runtime's GPU build (make setup installs it with
		// WORKER_DEVICE=cuda); the CPU build stays the default.
		find := onnx.FindLibrary
		if cfg.Device == onnx.DeviceCUDA {
			find = onnx.FindCUDALibrary
		}
		if lib, err = find("."); err != nil {
			return nil, nil, err
		}
	}
	rt, err := onnx.NewRuntime(onnx.Config{
		LibraryPath: lib,
		Device:      cfg.Device,
		ModelDir:    cfg.ModelDir,
		Fetch: func(ctx context.Context, bucket, object string) ([]byte, error) {
			return models.Read(ctx, bucket, object, maxModelBytes)
		},
	})
	if err != nil {
		return nil, nil, err
	}
	closeFn = func() { _ = rt.Close() }
	deps.Runtime = rt
	ps, err := pipeline.BuildWith(ctx, cat, deps)
	if err != nil {
		closeFn()
		return nil, nil, err
	}
	return ps, closeFn, nil
}

// maxModelBytes bounds a model download.
const maxModelBytes = 2 << 30

// The adapters Build wires satisfy the worker's interfaces.
var (
	_ Requests = (*store.Reader)(nil)
	_ Results  = (*workerdb.Writer)(nil)
	_ Inputs   = (*blob.Reader)(nil)
	_ Outputs  = (*blob.Writer)(nil)
	_ Consumer = (*queue.Consumer)(nil)
)
