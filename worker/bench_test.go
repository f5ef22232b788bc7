package worker_test

import (
	"context"
	"fmt"
	"image"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tigerstudio/studio/functions/gateway/client"
	"github.com/tigerstudio/studio/infra/jobs"
	"github.com/tigerstudio/studio/infra/queue"
	"github.com/tigerstudio/studio/infra/samples"
	"github.com/tigerstudio/studio/infra/store"
	"github.com/tigerstudio/studio/infra/styles"
	"github.com/tigerstudio/studio/infra/testenv"
	"github.com/tigerstudio/studio/worker/generate"
	"github.com/tigerstudio/studio/worker/imaging"
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

// submitMany posts n jobs through the Gateway with 8 clients.
func submitMany(b *testing.B, h *harness, user testenv.User, n int, style string, photo []byte) []string {
	ids := make([]string, n)
	var wg sync.WaitGroup
	next := make(chan int)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				ids[i] = h.submitPhoto(b, user, style, jobs.Online, photo)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
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
	h.startWorker(b, workerOpts{generator: gen, wrap: wrap, slots: 1})
	for _, id := range ids {
		h.waitStatus(b, id, jobs.Succeeded)
	}
	b.StopTimer()
	mu.Lock()
	defer mu.Unlock()
	b.ReportMetric(percentile(overheads, 0.5), "overhead-p50-ms")
	b.ReportMetric(percentile(overheads, 0.99), "overhead-p99-ms")
}

// BenchmarkWorkerThroughput: jobs per second with the builtin generator at 1
// and 2 slots, on a 512x512 photo (the studio style).
func BenchmarkWorkerThroughput(b *testing.B) {
	for _, slots := range []int{1, 2} {
		b.Run(fmt.Sprintf("slots=%d", slots), func(b *testing.B) {
			h := newHarness(b)
			user := h.stack.NewUser(b, testenv.UserOpts{})
			n := max(b.N, 40)
			ids := submitMany(b, h, user, n, "studio", portrait(b, 512, 512))
			b.ResetTimer()
			start := time.Now()
			h.startWorker(b, workerOpts{slots: slots})
			for _, id := range ids {
				h.waitStatus(b, id, jobs.Succeeded)
			}
			b.ReportMetric(float64(n)/time.Since(start).Seconds(), "jobs/s")
		})
	}
}

// BenchmarkBoothWait: with a 1000-job online backlog, how long a booth job
// waits, in units of one generation time. Without preemption the floor is 1:
// it can only wait for the job in flight; with preemption that job is handed
// back and the wait is the worker's overhead. Generation here is the builtin
// style plus 250 ms standing in for a GPU model, so the unit is not drowned
// by the local stack's own latency.
func BenchmarkBoothWait(b *testing.B) {
	for _, preempt := range []bool{false, true} {
		b.Run(fmt.Sprintf("preempt=%v", preempt), func(b *testing.B) {
			h := newHarness(b)
			user := h.stack.NewUser(b, testenv.UserOpts{})
			staff := h.stack.NewUser(b, testenv.UserOpts{Staff: true})
			photo := portrait(b, 512, 512)
			submitMany(b, h, user, 1000, "watercolour", photo)
			gen := &counting{next: filters(b), hook: func(ctx context.Context, _ int) error {
				select {
				case <-time.After(gpuTime):
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			}}
			started := make(chan struct{})
			var once sync.Once
			wrap := func(next queue.Handler) queue.Handler {
				return queue.HandlerFunc(func(ctx context.Context, m queue.Message) error {
					once.Do(func() { close(started) })
					return next.Handle(ctx, m)
				})
			}
			b.ResetTimer()
			h.startWorker(b, workerOpts{generator: gen, wrap: wrap, slots: 1, preempt: preempt})
			<-started
			booth := h.submitPhoto(b, staff, "watercolour", jobs.Booth, photo)
			var j store.Job
			eventually(b, "booth job started", func() bool {
				j = h.job(b, booth)
				return j.Response != nil
			})
			// From the Gateway's acceptance of the request to the worker's start.
			wait := j.Response.StartedAt.Sub(j.Request.CreatedAt)
			unit := generationTime(b, h, "watercolour", photo) + gpuTime
			b.ReportMetric(float64(wait)/float64(unit), "booth-wait-generations")
			b.ReportMetric(float64(wait.Microseconds())/1000, "booth-wait-ms")
			b.ReportMetric(float64(unit.Microseconds())/1000, "generation-ms")
		})
	}
}

// gpuTime stands in for a GPU model's generation in BenchmarkBoothWait.
const gpuTime = 250 * time.Millisecond

// generationTime is the median time of generating style from photo, the
// unit booth waits are measured in.
func generationTime(b *testing.B, h *harness, style string, photo []byte) time.Duration {
	img, err := imaging.Decode(photo)
	if err != nil {
		b.Fatal(err)
	}
	st, _ := h.catalogue.Lookup(style)
	var ds []time.Duration
	for range 5 {
		t0 := time.Now()
		if _, err := filters(b).Generate(context.Background(), st, img); err != nil {
			b.Fatal(err)
		}
		ds = append(ds, time.Since(t0))
	}
	slices.Sort(ds)
	return ds[len(ds)/2]
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
	c := &client.Client{BaseURL: s.GatewayURL, Token: user.Token}
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
