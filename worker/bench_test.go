package worker_test

import (
	"cloud.google.com/go/firestore"
	"context"
	"fmt"
	"image"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tigerstudio/studio/functions/gateway/client"
	"github.com/tigerstudio/studio/infra/blob"
	"github.com/tigerstudio/studio/infra/jobs"
	"github.com/tigerstudio/studio/infra/queue"
	"github.com/tigerstudio/studio/infra/samples"
	"github.com/tigerstudio/studio/infra/store"
	"github.com/tigerstudio/studio/infra/styles"
	"github.com/tigerstudio/studio/infra/testenv"
	"github.com/tigerstudio/studio/worker"
	"github.com/tigerstudio/studio/worker/generate"
	"github.com/tigerstudio/studio/worker/imaging"
	"github.com/tigerstudio/studio/worker/internal/workerdb"
)

// timedGenerator records how long each generation took.
type timedGenerator struct {
	next generate.Generator
	mu   sync.Mutex
	last time.Duration
}

func (g *timedGenerator) Generate(ctx context.Context, s styles.Style, in image.Image) (generate.Result, error) {
	t0 := time.Now()
	out, err := g.next.Generate(ctx, s, in)
	g.mu.Lock()
	g.last = time.Since(t0)
	g.mu.Unlock()
	return out, err
}

// submitMany posts n jobs through the Gateway with 8 clients; the first
// failure fails the benchmark and stops the others.
func submitMany(b *testing.B, h *harness, user testenv.User, n int, style string, photo []byte) []string {
	ids := make([]string, n)
	c := h.client(user)
	// One account has at most UPLOADS_PER_USER (2) uploads in flight.
	testenv.Load(b, 2, n, func(i int) error {
		job, err := c.Submit(testenv.Ctx(b), client.Submission{Photo: photo, Style: style, Priority: string(jobs.Online)})
		ids[i] = job.ID
		return err
	})
	if b.Failed() {
		b.FailNow()
	}
	return ids
}

func percentile(ds []time.Duration, p float64) float64 {
	s := slices.Clone(ds)
	slices.Sort(s)
	return float64(s[int(p*float64(len(s)-1))].Microseconds()) / 1000
}

// BenchmarkWorkerOverhead: the time a job spends in the worker apart from
// generation (read request, durable attempt, download, decode, encode,
// upload, commit, ack), per job.
func BenchmarkWorkerOverhead(b *testing.B) {
	h := newHarness(b)
	user := h.stack.NewUser(b, testenv.UserOpts{})
	ids := submitMany(b, h, user, max(b.N, 20), "studio", portrait(b, 512, 512))
	gen := &timedGenerator{next: filters(b)}
	var mu sync.Mutex
	var overheads []time.Duration
	wrap := func(next queue.Handler) queue.Handler {
		return queue.HandlerFunc(func(ctx context.Context, m queue.Message) error {
			t0 := time.Now()
			err := next.Handle(ctx, m)
			d := time.Since(t0)
			gen.mu.Lock()
			d -= gen.last // one slot: the generation just before belongs to this job
			gen.mu.Unlock()
			mu.Lock()
			overheads = append(overheads, d)
			mu.Unlock()
			return err
		})
	}
	b.ResetTimer()
	h.startWorker(b, workerOpts{generator: gen, wrap: wrap, config: func(c *worker.Config) { c.Slots = 1 }})
	for _, id := range ids {
		h.waitStatus(b, id, jobs.Succeeded)
	}
	b.StopTimer()
	mu.Lock()
	defer mu.Unlock()
	b.ReportMetric(percentile(overheads, 0.5), "overhead-p50-ms")
	b.ReportMetric(percentile(overheads, 0.99), "overhead-p99-ms")
}

// BenchmarkWorkerThroughput: jobs per second with the builtin generator on a
// 512x512 photo (the studio style): one slot, two slots generating at once,
// and the defaults (two slots, one generation).
func BenchmarkWorkerThroughput(b *testing.B) {
	for _, tc := range []struct {
		name   string
		config func(*worker.Config)
	}{
		{"slots=1", func(c *worker.Config) { c.Slots, c.Generations = 1, 1 }},
		{"slots=2,generations=2", func(c *worker.Config) { c.Slots, c.Generations = 2, 2 }},
		{"defaults", nil},
	} {
		b.Run(tc.name, func(b *testing.B) {
			h := newHarness(b)
			user := h.stack.NewUser(b, testenv.UserOpts{})
			n := max(b.N, 40)
			ids := submitMany(b, h, user, n, "studio", portrait(b, 512, 512))
			b.ResetTimer()
			start := time.Now()
			h.startWorker(b, workerOpts{config: tc.config})
			for _, id := range ids {
				h.waitStatus(b, id, jobs.Succeeded)
			}
			b.ReportMetric(float64(n)/time.Since(start).Seconds(), "jobs/s")
		})
	}
}

// BenchmarkBoothWait: a worker built with the service's defaults works
// through a 1000-job online backlog, first alone, then while booth jobs
// arrive one at a time, each at a different point of an online generation.
//
// A booth job's wait runs from the broker's confirm of its publish to the
// worker's start of it (Begin: booth-wait) and to the start of its model
// run (booth-gpu-wait), in units of one generation time measured on the
// idle worker before the run. gpu-busy is the share of the wall time spent
// inside model runs over backlogWindow model runs of the backlog alone;
// gpu-busy-booth and gpu-wasted-booth are the same share, and the share
// spent on model runs stopped for a booth job, while the booth jobs arrive
// (far more often than at an event). Generation is a stand-in model run of
// gpuTime (a stand-in GPU, not CUDA) plus the builtin style's CPU steps,
// which run outside the GPU's turn, so the unit is not drowned by the
// local stack's own latency.
//
// Each b.N iteration measures one backlog window and boothSamples booth
// jobs, on the same backlog.
func BenchmarkBoothWait(b *testing.B) {
	for _, preempt := range []bool{true, false} {
		b.Run(fmt.Sprintf("preempt=%v", preempt), func(b *testing.B) {
			h := newHarness(b)
			photo := portrait(b, 512, 512)
			unit := generationTime(b, h, boothStyle, photo) + gpuTime
			user := h.stack.NewUser(b, testenv.UserOpts{})
			submitMany(b, h, user, backlog, boothStyle, photo)
			desk := newBoothDesk(b, h, photo)
			gpu := &gpuProbe{next: filters(b), changed: make(chan struct{}), starts: map[string]time.Time{}}
			begun := &beginClock{at: map[string]time.Time{}}
			h.startWorker(b, workerOpts{generator: gpu, wrap: tagJob, config: func(c *worker.Config) { c.Preempt = preempt },
				results: begun.wrap(workerdb.NewWriter(h.fs))})
			gpu.waitGenerations(b, 1)

			var waits, gpuWaits []time.Duration
			var backlogBusy, boothBusy share
			b.ResetTimer()
			for range b.N {
				from := gpu.waitGenerations(b, gpu.generations()+1)
				to := gpu.waitGenerations(b, gpu.generations()+backlogWindow)
				backlogBusy.add(gpu, from, to)

				from = time.Now()
				for i := range boothSamples {
					// Arrive at a point spread evenly over an online
					// generation: a schedule of the experiment, not a wait
					// for a condition.
					gpu.waitGenerations(b, gpu.generations()+1)
					<-time.After(time.Duration((float64(i) + 0.5) / boothSamples * float64(unit)))
					id, confirmed := desk.submit(b, boothStyle)
					generating := gpu.waitStart(b, id)
					waits = append(waits, begun.of(b, id).Sub(confirmed))
					gpuWaits = append(gpuWaits, generating.Sub(confirmed))
				}
				boothBusy.add(gpu, from, time.Now())
			}
			b.StopTimer()
			inUnits := func(ds []time.Duration, p float64) float64 {
				s := slices.Clone(ds)
				slices.Sort(s)
				return float64(s[int(p*float64(len(s)-1))]) / float64(unit)
			}
			b.ReportMetric(inUnits(waits, 0.5), "booth-wait-p50-gen")
			b.ReportMetric(inUnits(waits, 1), "booth-wait-max-gen")
			b.ReportMetric(inUnits(gpuWaits, 0.5), "booth-gpu-wait-p50-gen")
			b.ReportMetric(inUnits(gpuWaits, 1), "booth-gpu-wait-max-gen")
			b.ReportMetric(backlogBusy.percent(backlogBusy.held), "gpu-busy-%")
			b.ReportMetric(boothBusy.percent(boothBusy.held), "gpu-busy-booth-%")
			b.ReportMetric(boothBusy.percent(boothBusy.lost), "gpu-wasted-booth-%")
			b.ReportMetric(float64(unit.Microseconds())/1000, "generation-ms")
			b.ReportMetric(float64(h.stack.QueueDepth(b, h.topo.Queue())), "backlog-left")
		})
	}
}

// share sums the GPU's generating time over windows of wall time.
type share struct{ held, lost, wall time.Duration }

func (s *share) add(g *gpuProbe, from, to time.Time) {
	held, lost := g.busy(from, to)
	s.held += held
	s.lost += lost
	s.wall += to.Sub(from)
}

func (s *share) percent(d time.Duration) float64 { return 100 * float64(d) / float64(s.wall) }

const (
	// gpuTime stands in for a GPU model's generation in BenchmarkBoothWait.
	gpuTime = 250 * time.Millisecond
	// backlog is BenchmarkBoothWait's online backlog; it outlasts the run.
	backlog = 1000
	// boothSamples is how many booth jobs each iteration measures.
	boothSamples = 10
	// backlogWindow is how many generations of the backlog alone each
	// iteration measures the GPU's busy share over.
	backlogWindow = 10
	boothStyle    = "watercolour"
)

// generationTime is the median time of generating style from photo, the
// unit booth waits are measured in; the caller runs it while nothing else
// in the process is busy.
func generationTime(b *testing.B, h *harness, style string, photo []byte) time.Duration {
	img, err := imaging.Decode(photo)
	if err != nil {
		b.Fatal(err)
	}
	st, _ := h.catalogue.Lookup(style)
	gen := filters(b)
	var ds []time.Duration
	for i := range 6 {
		t0 := time.Now()
		if _, err := gen.Generate(context.Background(), st, img); err != nil {
			b.Fatal(err)
		}
		if i > 0 { // the first run warms up
			ds = append(ds, time.Since(t0))
		}
	}
	slices.Sort(ds)
	return ds[len(ds)/2]
}

// gpuProbe is BenchmarkBoothWait's generator: a stand-in model run of
// gpuTime (the stand-in GPU, in the job's device turn) and the builtin
// style's CPU steps. It records when the GPU is busy (inside model runs)
// and when each job's first model run starts, and lets the benchmark wait
// for those events. One model run holds the GPU at a time (one GPU turn).
type gpuProbe struct {
	next generate.Generator

	mu      sync.Mutex
	changed chan struct{} // closed, and replaced, at every generation start
	count   int
	last    time.Time            // the latest generation start
	running bool                 // a generation is running since last
	starts  map[string]time.Time // each job's first generation start
	spans   []genSpan            // finished generations
}

// genSpan is one model run; stopped ones (a booth job took the GPU) did
// no useful work.
type genSpan struct {
	start, end time.Time
	stopped    bool
}

// Generate runs the stand-in model run in a turn of the job's device, as
// a model step's session run does, then the builtin style's CPU steps
// outside it.
func (g *gpuProbe) Generate(ctx context.Context, s styles.Style, in image.Image) (generate.Result, error) {
	if err := generate.OnDevice(ctx, g.modelRun); err != nil {
		return generate.Result{}, err
	}
	return g.next.Generate(ctx, s, in)
}

// modelRun is the stand-in GPU: a model run of gpuTime, not CUDA. It
// records the GPU's busy spans and each job's first run.
func (g *gpuProbe) modelRun(ctx context.Context) error {
	start := time.Now()
	id, _ := ctx.Value(jobKey{}).(string)
	g.mu.Lock()
	g.count++
	g.last, g.running = start, true
	if _, ok := g.starts[id]; !ok {
		g.starts[id] = start
	}
	close(g.changed)
	g.changed = make(chan struct{})
	g.mu.Unlock()
	var err error
	select {
	case <-time.After(gpuTime):
	case <-ctx.Done():
		err = ctx.Err()
	}
	g.mu.Lock()
	g.spans = append(g.spans, genSpan{start: start, end: time.Now(), stopped: err != nil})
	g.running = false
	g.mu.Unlock()
	return err
}

func (g *gpuProbe) generations() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.count
}

// waitGenerations waits until n generations have started and returns when
// the latest did.
func (g *gpuProbe) waitGenerations(b *testing.B, n int) time.Time {
	b.Helper()
	return g.wait(b, fmt.Sprintf("generation %d", n), func() (time.Time, bool) {
		return g.last, g.count >= n
	})
}

// waitStart waits for job id's generation to start and returns when it did.
func (g *gpuProbe) waitStart(b *testing.B, id string) time.Time {
	b.Helper()
	return g.wait(b, "generation of "+id, func() (time.Time, bool) {
		t, ok := g.starts[id]
		return t, ok
	})
}

// wait checks cond (under the lock) at every generation start.
func (g *gpuProbe) wait(b *testing.B, what string, cond func() (time.Time, bool)) time.Time {
	b.Helper()
	deadline := time.After(60 * time.Second)
	for {
		g.mu.Lock()
		t, ok := cond()
		changed := g.changed
		g.mu.Unlock()
		if ok {
			return t
		}
		select {
		case <-changed:
		case <-deadline:
			b.Fatalf("timed out waiting for %s", what)
		}
	}
}

// busy is how long, within [from, to], generations ran, and how much of
// that went to generations that were stopped.
func (g *gpuProbe) busy(from, to time.Time) (held, lost time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	spans := g.spans
	if g.running {
		spans = append(slices.Clone(spans), genSpan{start: g.last, end: to})
	}
	for _, s := range spans {
		start, end := s.start, s.end
		if start.Before(from) {
			start = from
		}
		if end.After(to) {
			end = to
		}
		if end.After(start) {
			held += end.Sub(start)
			if s.stopped {
				lost += end.Sub(start)
			}
		}
	}
	return held, lost
}

// beginClock records when the worker started each job (its Begin).
type beginClock struct {
	mu sync.Mutex
	at map[string]time.Time
}

func (c *beginClock) wrap(next worker.Results) worker.Results {
	return &clockedResults{Results: next, clock: c}
}

// of returns when job id was first begun; the job has started generating,
// so it has been.
func (c *beginClock) of(b *testing.B, id string) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.at[id]
	if !ok {
		b.Fatalf("job %s generated without a Begin", id)
	}
	return t
}

type clockedResults struct {
	worker.Results
	clock *beginClock
}

func (r *clockedResults) Begin(ctx context.Context, id string, req jobs.Request, now time.Time) (int, error) {
	r.clock.mu.Lock()
	if _, ok := r.clock.at[id]; !ok {
		r.clock.at[id] = time.Now()
	}
	r.clock.mu.Unlock()
	return r.Results.Begin(ctx, id, req, now)
}

// boothDesk enqueues booth jobs as the Gateway does (input object, request
// document, confirmed publish, then the preemption signal), so the
// benchmark knows the instant the broker confirmed each one.
type boothDesk struct {
	inputs *blob.Writer
	// requests writes requests/ directly, as only the Gateway's own
	// writer (internal to it) may in production.
	requests *firestore.CollectionRef
	pub      *queue.Publisher
	photo    []byte
}

func newBoothDesk(b *testing.B, h *harness, photo []byte) *boothDesk {
	pub := queue.NewPublisher(h.stack.AMQPURL, h.topo)
	b.Cleanup(func() { _ = pub.Close() })
	return &boothDesk{inputs: blob.NewWriter(h.gcs, h.in), requests: h.fs.Collection(store.Requests), pub: pub, photo: photo}
}

// submit enqueues one booth job and returns its id and when the broker
// confirmed it.
func (d *boothDesk) submit(b *testing.B, style string) (string, time.Time) {
	return d.enqueue(b, style, jobs.Booth)
}

// enqueue enqueues one job of priority; a booth job's preemption signal
// follows the confirm.
func (d *boothDesk) enqueue(b *testing.B, style string, priority jobs.Priority) (string, time.Time) {
	b.Helper()
	ctx := testenv.Ctx(b)
	id := testenv.Unique(string(priority))
	req := jobs.Request{
		UID: "booth-desk", Event: "test", Style: style, Priority: priority,
		Input: id + "/input.jpg", ContentType: "image/jpeg", Width: 512, Height: 512, CreatedAt: time.Now().UTC(),
	}
	if err := d.inputs.Create(ctx, req.Input, req.ContentType, d.photo); err != nil {
		b.Fatal(err)
	}
	if _, err := d.requests.Doc(id).Create(ctx, req); err != nil {
		b.Fatal(err)
	}
	msg := jobs.Message{JobID: id, Event: req.Event, Priority: priority}
	if err := d.pub.Publish(ctx, msg); err != nil {
		b.Fatal(err)
	}
	confirmed := time.Now()
	if priority == jobs.Booth {
		if err := d.pub.Signal(ctx, id); err != nil {
			b.Fatal(err)
		}
	}
	return id, confirmed
}

// BenchmarkStackPhotoToResult is the user's wait: p50 and p90 from posting
// the astronaut to the stack's Gateway to its finished result, per AI style,
// through the stack's own worker and its real models (one job at a time).
func BenchmarkStackPhotoToResult(b *testing.B) {
	s := testenv.Get(b)
	if s.GatewayURL == "" {
		b.Fatal("GATEWAY_URL must be set by the stack")
	}
	user := s.NewUser(b, testenv.UserOpts{EmailVerified: true})
	c := &client.Client{BaseURL: s.GatewayURL, Token: user.Token, AppCheck: s.AppCheckToken(b)}
	for _, style := range []string{"headshot", "bokeh", "sketch", "watercolour"} {
		b.Run(style, func(b *testing.B) {
			var ds []time.Duration
			for b.Loop() {
				t0 := time.Now()
				job, err := c.Submit(b.Context(), client.Submission{Photo: samples.Astronaut(), ContentType: "image/png", Style: style})
				if err != nil {
					b.Fatal(err)
				}
				done, err := c.Wait(b.Context(), job.ID, 20*time.Millisecond, nil)
				if err != nil || done.Status != "succeeded" {
					b.Fatalf("job %s: %s %v", job.ID, done.Status, err)
				}
				ds = append(ds, time.Since(t0))
			}
			slices.Sort(ds)
			b.ReportMetric(float64(ds[len(ds)/2].Milliseconds()), "p50-ms")
			b.ReportMetric(float64(ds[len(ds)*9/10].Milliseconds()), "p90-ms")
		})
	}
}
