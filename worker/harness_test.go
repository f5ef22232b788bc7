package worker_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/firestore"
	"cloud.google.com/go/storage"

	"github.com/tigerstudio/studio/functions/gateway"
	"github.com/tigerstudio/studio/functions/gateway/api"
	"github.com/tigerstudio/studio/functions/gateway/client"
	"github.com/tigerstudio/studio/infra/blob"
	"github.com/tigerstudio/studio/infra/config"
	"github.com/tigerstudio/studio/infra/jobs"
	"github.com/tigerstudio/studio/infra/logging"
	"github.com/tigerstudio/studio/infra/queue"
	"github.com/tigerstudio/studio/infra/store"
	"github.com/tigerstudio/studio/infra/styles"
	"github.com/tigerstudio/studio/infra/testenv"
	"github.com/tigerstudio/studio/worker"
	"github.com/tigerstudio/studio/worker/generate"
	"github.com/tigerstudio/studio/worker/generate/pipeline"
	"github.com/tigerstudio/studio/worker/internal/workerdb"
)

// harness is a Gateway and any number of workers on the real local stack,
// sharing buckets and a queue topology of the test's own.
type harness struct {
	stack     testenv.Stack
	fs        *firestore.Client
	gcs       *storage.Client
	in, out   string
	topo      queue.Topology
	url       string
	catalogue *styles.Catalogue
	styles    string             // the catalogue's file
	gen       generate.Generator // the catalogue's pipelines, when they need no model
}

// newHarness uses testenv's filter catalogue: these tests are about the
// queue and the documents, not the models.
func newHarness(t testing.TB) *harness {
	t.Helper()
	return newHarnessWithStyles(t, testenv.FilterCatalogueFile(t))
}

// newHarnessWithStyles uses the style catalogue in stylesFile for the
// Gateway and the workers.
func newHarnessWithStyles(t testing.TB, stylesFile string) *harness {
	t.Helper()
	return newHarnessForEvent(t, stylesFile, "test")
}

// newHarnessForEvent is newHarnessWithStyles whose Gateway stamps its jobs
// with event. For "local", the stack's own event, the stack's Notify mails
// the owners of the harness's jobs, so a test sees the whole path to the
// mail; other events' jobs are left alone by it.
func newHarnessForEvent(t testing.TB, stylesFile, event string) *harness {
	t.Helper()
	s := testenv.Get(t)
	h := &harness{stack: s, fs: s.Firestore(t), gcs: s.Storage(t)}
	h.in, h.out = s.Bucket(t, h.gcs), s.Bucket(t, h.gcs)
	h.topo = s.Topology(t)
	cat, err := styles.Load(stylesFile)
	if err != nil {
		t.Fatal(err)
	}
	h.catalogue, h.styles = cat, stylesFile
	if !pipeline.NeedsRuntime(cat) {
		if h.gen, err = pipeline.Build(context.Background(), cat, nil); err != nil {
			t.Fatal(err)
		}
	}
	// The Gateway with its defaults, on the harness's buckets and queues.
	cfg := &gateway.Config{}
	if err := config.Load(context.Background(), config.FromMap(map[string]string{
		"GCLOUD_PROJECT": s.Project, "EVENT": event, "INPUT_BUCKET": h.in, "OUTPUT_BUCKET": h.out,
		"AMQP_URL": s.AMQPURL, "QUEUE_PREFIX": h.topo.Prefix, "STORAGE_EMULATOR_HOST": s.StorageHost,
		"STYLES_FILE": stylesFile, "MAX_UPLOAD_BYTES": "8388608", "MIN_PHOTO_SIDE": "64", "JOBS_PER_MINUTE": "0",
	}), cfg); err != nil {
		t.Fatal(err)
	}
	srv, closeFn, err := gateway.Build(context.Background(), cfg, logging.New(io.Discard, 0))
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() { hs.Close(); _ = closeFn() })
	h.url = hs.URL
	return h
}

// workerOpts shape one in-process worker. It is built by worker.New, as
// the service builds itself, from a worker.Config loaded with the service's
// defaults; config overrides only what the test is about.
type workerOpts struct {
	config    func(*worker.Config)
	generator generate.Generator
	results   worker.Results
	// wrap, if set, wraps the processor, e.g. to time it.
	wrap func(queue.Handler) queue.Handler
	// logs, if set, gets the worker's log lines too, for tests about what
	// is logged rather than stored.
	logs *logBuffer
}

// logBuffer collects JSON log lines from concurrent writers.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// entries returns the lines logged so far, decoded.
func (b *logBuffer) entries(t testing.TB) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for line := range bytes.Lines(b.buf.Bytes()) {
		var e map[string]any
		if err := json.Unmarshal(line, &e); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		out = append(out, e)
	}
	return out
}

// runningWorker is a worker consuming in the background.
type runningWorker struct {
	consumer *queue.Consumer
	cancel   context.CancelFunc
	done     chan error
	once     sync.Once
}

// env is the worker's environment on the harness's buckets and queues, for
// the in-process worker and the binary alike.
func (h *harness) env() map[string]string {
	return map[string]string{
		"GCLOUD_PROJECT": h.stack.Project, "INPUT_BUCKET": h.in, "OUTPUT_BUCKET": h.out,
		"AMQP_URL": h.stack.AMQPURL, "QUEUE_PREFIX": h.topo.Prefix, "STYLES_FILE": h.styles,
		// Tests wait for retries: milliseconds, not the default seconds.
		"WORKER_RETRY_BACKOFF": "50ms",
	}
}

// workerConfig loads the worker's Config as cmd/worker does, defaults
// included, then applies override.
func (h *harness) workerConfig(t testing.TB, override func(*worker.Config)) *worker.Config {
	t.Helper()
	var cfg worker.Config
	if err := config.Load(context.Background(), config.FromMap(h.env()), &cfg); err != nil {
		t.Fatal(err)
	}
	if override != nil {
		override(&cfg)
		if err := cfg.Validate(); err != nil {
			t.Fatalf("worker config override: %v", err)
		}
	}
	return &cfg
}

// deps are the worker's collaborators on the harness's stack, with the
// generator and results of opts where it sets them.
func (h *harness) deps(t testing.TB, opts workerOpts) worker.Deps {
	d := worker.Deps{
		Requests: store.NewReader(h.fs), Results: opts.results,
		Inputs: blob.NewReader(h.gcs), Outputs: blob.NewWriter(h.gcs, h.out),
		Generator: opts.generator, Styles: h.catalogue,
		Logger: logging.New(testLog(t), 0),
	}
	if opts.logs != nil {
		d.Logger = logging.New(io.MultiWriter(testLog(t), opts.logs), 0)
	}
	if d.Generator == nil {
		d.Generator = h.gen
	}
	if d.Results == nil {
		d.Results = workerdb.NewWriter(h.fs)
	}
	return d
}

func (h *harness) startWorker(t testing.TB, opts workerOpts) *runningWorker {
	t.Helper()
	proc, c := worker.New(h.workerConfig(t, opts.config), h.deps(t, opts))
	ctx, cancel := context.WithCancel(context.Background())
	w := &runningWorker{consumer: c, cancel: cancel, done: make(chan error, 1)}
	var handler queue.Handler = proc
	if opts.wrap != nil {
		handler = opts.wrap(handler)
	}
	go func() { w.done <- c.Run(ctx, handler) }()
	t.Cleanup(func() { w.stop(t) })
	testenv.Eventually(t, "worker connected", c.Connected)
	return w
}

// stop is SIGTERM: stop taking messages, finish or return those in hand.
func (w *runningWorker) stop(t testing.TB) {
	t.Helper()
	w.once.Do(func() {
		w.cancel()
		select {
		case err := <-w.done:
			if err != nil {
				t.Errorf("worker: %v", err)
			}
		case <-time.After(60 * time.Second):
			t.Error("worker did not stop")
		}
	})
}

// receive waits for the next value on ch: an event, not a length of time,
// with a deadline only so a test that goes wrong fails instead of hanging.
func receive[T any](t testing.TB, what string, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(60 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// returns wraps a handler to report each message's outcome on ch, so a test
// can wait until the worker is done with a delivery.
func returns(ch chan<- error) func(queue.Handler) queue.Handler {
	return func(next queue.Handler) queue.Handler {
		return queue.HandlerFunc(func(ctx context.Context, m queue.Message) error {
			err := next.Handle(ctx, m)
			ch <- err
			return err
		})
	}
}

func portrait(t testing.TB, w, hgt int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, hgt))
	for y := 0; y < hgt; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 255 / w), uint8(y * 255 / hgt), 140, 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// submit posts a job with a small photo through the Gateway and returns its
// id.
func (h *harness) submit(t testing.TB, user testenv.User, style string, priority jobs.Priority) string {
	t.Helper()
	return h.submitPhoto(t, user, style, priority, portrait(t, 96, 128))
}

func (h *harness) submitPhoto(t testing.TB, user testenv.User, style string, priority jobs.Priority, photo []byte) string {
	t.Helper()
	job, err := h.client(user).Submit(testenv.Ctx(t), client.Submission{Photo: photo, Style: style, Priority: string(priority)})
	if err != nil {
		t.Fatalf("submit: %v", err)
	}
	return job.ID
}

// apiJob reads a job through the Gateway.
func (h *harness) apiJob(t testing.TB, user testenv.User, id string) api.Job {
	t.Helper()
	job, err := h.client(user).Job(testenv.Ctx(t), id)
	if err != nil {
		t.Fatalf("get job: %v", err)
	}
	return job
}

func (h *harness) client(user testenv.User) *client.Client {
	return &client.Client{BaseURL: h.url, Token: user.Token}
}

// job reads a job's documents.
func (h *harness) job(t testing.TB, id string) store.Job {
	t.Helper()
	j, err := store.NewReader(h.fs).Job(testenv.Ctx(t), id)
	if err != nil {
		t.Fatalf("job %s: %v", id, err)
	}
	return j
}

func (h *harness) waitStatus(t testing.TB, id string, want jobs.Status) store.Job {
	t.Helper()
	var j store.Job
	testenv.Eventually(t, "job "+id+" "+string(want), func() bool {
		j = h.job(t, id)
		return j.Status() == want
	})
	return j
}

func (h *harness) outputs(t testing.TB) []string {
	return testenv.Objects(t, h.gcs, h.out)
}

// jobKey carries the job id from the handler to the generator (tagJob).
type jobKey struct{}

// tagJob wraps a handler so the generator can tell which job it generates
// for: ctx.Value(jobKey{}).
func tagJob(next queue.Handler) queue.Handler {
	return queue.HandlerFunc(func(ctx context.Context, m queue.Message) error {
		return next.Handle(context.WithValue(ctx, jobKey{}, m.ID), m)
	})
}

// counting wraps a generator, recording the jobs it started, in order.
// Its hook stands in for a model run: it runs in a turn of the job's
// device, as a model step's session run does, and n counts those runs (a
// run stopped for a booth job runs again, with the next n).
type counting struct {
	mu    sync.Mutex
	next  generate.Generator
	calls int
	runs  int
	hook  func(ctx context.Context, n int) error
}

func (c *counting) Generate(ctx context.Context, s styles.Style, in image.Image) (generate.Result, error) {
	c.mu.Lock()
	c.calls++
	c.mu.Unlock()
	if c.hook != nil {
		err := generate.OnDevice(ctx, func(ctx context.Context) error {
			c.mu.Lock()
			c.runs++
			n := c.runs
			c.mu.Unlock()
			return c.hook(ctx, n)
		})
		if err != nil {
			return generate.Result{}, err
		}
	}
	return c.next.Generate(ctx, s, in)
}

func (c *counting) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls
}

// filters builds the pipelines of testenv.FilterCatalogue.
func filters(t testing.TB) generate.Generator {
	t.Helper()
	cat, err := styles.Parse([]byte(testenv.FilterCatalogue))
	if err != nil {
		t.Fatal(err)
	}
	ps, err := pipeline.Build(context.Background(), cat, nil)
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

// testLog is where a worker logs: the test's output (shown on failure), or
// nowhere in benchmarks, whose output is their figures.
func testLog(t testing.TB) io.Writer {
	if _, bench := t.(*testing.B); bench {
		return io.Discard
	}
	return t.Output()
}
