package worker_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/tigerstudio/studio/infra/jobs"
	"github.com/tigerstudio/studio/infra/queue"
	"github.com/tigerstudio/studio/infra/testenv"
	"github.com/tigerstudio/studio/worker"
	"github.com/tigerstudio/studio/worker/generate"
	"github.com/tigerstudio/studio/worker/internal/workerdb"
)

func TestEndToEndEachStyle(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	user := h.stack.NewUser(t, testenv.UserOpts{})
	h.startWorker(t, workerOpts{})
	for _, st := range h.catalogue.All() {
		t.Run(st.ID, func(t *testing.T) {
			id := h.submit(t, user, st.ID, "")
			j := h.waitStatus(t, id, jobs.Succeeded)
			r := j.Response
			if r.Attempt != 1 || r.Backend != st.Backend || r.Model != st.Model || r.Timings == nil || r.CompletedAt.IsZero() {
				t.Errorf("response = %+v", r)
			}
			if r.Timings != nil && (r.Timings.TotalMs < r.Timings.GenerateMs || r.Timings.QueuedMs < 0) {
				t.Errorf("timings %+v do not add up", *r.Timings)
			}
			api := h.apiJob(t, user, id)
			if api.Status != "succeeded" || len(api.Outputs) != 1 {
				t.Fatalf("api job = %+v", api)
			}
			resp, err := http.Get(api.Outputs[0].URL)
			if err != nil {
				t.Fatal(err)
			}
			data, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
			if err != nil {
				t.Fatalf("output is not a JPEG: %v", err)
			}
			if cfg.Width != api.Outputs[0].Width || cfg.Height != api.Outputs[0].Height || cfg.Width < 96 {
				t.Errorf("output %dx%d, listed as %dx%d", cfg.Width, cfg.Height, api.Outputs[0].Width, api.Outputs[0].Height)
			}
		})
	}
}

func TestRedeliveryOfFinishedJobDoesNoWork(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	user := h.stack.NewUser(t, testenv.UserOpts{})
	gen := &counting{next: filters(t)}
	handled := make(chan error, 10)
	h.startWorker(t, workerOpts{generator: gen, wrap: returns(handled)})
	id := h.submit(t, user, "sketch", "")
	if err := receive(t, "the job handled", handled); err != nil {
		t.Fatalf("first delivery: %v", err)
	}
	before := h.waitStatus(t, id, jobs.Succeeded)
	outputs := h.outputs(t)

	body := fmt.Sprintf(`{"jobId":%q,"event":"test","priority":"online"}`, id)
	h.stack.WithChannel(t, func(ch *amqp.Channel) error {
		return ch.Publish(h.topo.Exchange(), h.topo.RoutingKey(), false, false, amqp.Publishing{
			MessageId: id, ContentType: "application/json", DeliveryMode: amqp.Persistent, Body: []byte(body),
		})
	})
	// Once the redelivery's handler has returned, any wrong second run has
	// done all it would do.
	if err := receive(t, "the redelivery handled", handled); err != nil {
		t.Errorf("redelivery: %v, want it acked", err)
	}
	after := h.job(t, id)
	if gen.count() != 1 {
		t.Errorf("generated %d times, want 1", gen.count())
	}
	if after.Response.Attempt != 1 || !after.Response.CompletedAt.Equal(before.Response.CompletedAt) {
		t.Errorf("response changed: %+v -> %+v", before.Response, after.Response)
	}
	if got := h.outputs(t); strings.Join(got, ",") != strings.Join(outputs, ",") {
		t.Errorf("outputs %v, want %v", got, outputs)
	}
	if n := h.stack.QueueDepth(t, h.topo.DeadQueue()); n != 0 {
		t.Errorf("%d dead-lettered", n)
	}
}

// failingResults fails the first Succeed, as a Firestore outage would, or,
// with applied, as a commit that lands but whose answer is lost (a
// deadline): it commits through the real writer, then returns the error.
type failingResults struct {
	worker.Results
	applied bool
	mu      sync.Mutex
	failed  bool
}

func (f *failingResults) Succeed(ctx context.Context, id string, resp jobs.Response) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failed {
		return f.Results.Succeed(ctx, id, resp)
	}
	f.failed = true
	if f.applied {
		if err := f.Results.Succeed(ctx, id, resp); err != nil {
			return err
		}
		return errors.New("injected: deadline exceeded after the commit was applied")
	}
	return errors.New("injected: firestore unavailable")
}

func TestFailedResponseWriteDeletesOutputs(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	user := h.stack.NewUser(t, testenv.UserOpts{})
	results := &failingResults{Results: workerdb.NewWriter(h.fs)}
	h.startWorker(t, workerOpts{results: results})
	id := h.submit(t, user, "studio", "")
	j := h.waitStatus(t, id, jobs.Succeeded)
	if j.Response.Attempt != 2 {
		t.Errorf("attempt %d, want 2 (the first write failed)", j.Response.Attempt)
	}
	var want []string
	for _, o := range j.Response.Outputs {
		want = append(want, o.Name)
	}
	if got := h.outputs(t); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("output bucket holds %v, want only the committed outputs %v", got, want)
	}
}

// TestResponseWriteErrorReRead: the response commit returns an error. If it
// was applied all the same, the worker finds it on re-reading, keeps the
// outputs the document names and acks; if it was not, the outputs go
// (Storage and Firestore never disagree). One attempt only, so no retry can
// hide what the first one did.
func TestResponseWriteErrorReRead(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		applied     bool
		wantStatus  jobs.Status
		wantOutputs int
	}{
		{"applied then failed: kept", true, jobs.Succeeded, 1},
		{"not applied: deleted", false, jobs.Failed, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			user := h.stack.NewUser(t, testenv.UserOpts{})
			results := &failingResults{Results: workerdb.NewWriter(h.fs), applied: tc.applied}
			gen := &counting{next: filters(t)}
			handled := make(chan error, 10)
			h.startWorker(t, workerOpts{generator: gen, results: results, wrap: returns(handled),
				config: func(c *worker.Config) { c.MaxAttempts = 1 }})
			id := h.submit(t, user, "studio", "")
			err := receive(t, "the job handled", handled)
			j := h.job(t, id)
			if j.Status() != tc.wantStatus {
				t.Fatalf("status %s, want %s", j.Status(), tc.wantStatus)
			}
			got := h.outputs(t)
			if len(got) != tc.wantOutputs {
				t.Errorf("output bucket holds %v, want %d objects", got, tc.wantOutputs)
			}
			if tc.applied {
				if err != nil {
					t.Errorf("handler returned %v, want nil: the job succeeded, ack it", err)
				}
				if j.Response.Attempt != 1 || len(j.Response.Outputs) != 1 || len(got) != 1 || got[0] != j.Response.Outputs[0].Name {
					t.Errorf("response %+v with bucket %v, want attempt 1 naming the one stored output", j.Response, got)
				}
			} else if !errors.Is(err, queue.ErrDeadLetter) || j.Failure.Code != jobs.CodeInternal {
				t.Errorf("handler returned %v with error document %+v, want an internal failure, dead-lettered", err, j.Failure)
			}
			if gen.count() != 1 {
				t.Errorf("generated %d times, want 1", gen.count())
			}
		})
	}
}

func TestMalformedMessagesAreDeadLettered(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	user := h.stack.NewUser(t, testenv.UserOpts{})
	h.startWorker(t, workerOpts{})
	bad := []amqp.Publishing{
		{MessageId: "garbage", Body: []byte("this is not json")},
		{MessageId: "no-fields", Body: []byte(`{"jobId":"x"}`)},
		{MessageId: "ghost", Body: []byte(`{"jobId":"ghost-job","event":"test","priority":"online"}`)},
		// Ids Firestore refuses go at once, not as transient errors.
		{MessageId: "slash", Body: []byte(`{"jobId":"a/b","priority":"online"}`)},
		{MessageId: "reserved", Body: []byte(`{"jobId":"__x__","priority":"online"}`)},
		{MessageId: "huge", Body: []byte(`{"jobId":"` + strings.Repeat("x", 1<<20) + `","priority":"online"}`)},
	}
	h.stack.WithChannel(t, func(ch *amqp.Channel) error {
		for _, p := range bad {
			p.DeliveryMode = amqp.Persistent
			if err := ch.Publish(h.topo.Exchange(), h.topo.RoutingKey(), false, false, p); err != nil {
				return err
			}
		}
		return nil
	})
	id := h.submit(t, user, "sketch", "")
	h.waitStatus(t, id, jobs.Succeeded)
	testenv.Eventually(t, "all dead-lettered", func() bool { return h.stack.QueueDepth(t, h.topo.DeadQueue()) == len(bad) })
	got := map[string]bool{}
	for range bad {
		d, _ := h.stack.GetMessage(t, h.topo.DeadQueue())
		got[d.MessageId] = true
	}
	for _, p := range bad {
		if !got[p.MessageId] {
			t.Errorf("%s not in the dead-letter queue (got %v)", p.MessageId, got)
		}
	}
}

// TestFailures: each way a job fails ends in its error document, read by the
// owner and by whoever holds the pick-up code. Its message is written for
// the user and names nothing of ours (bucket, object, a dependency's
// error); those details are logged with the job id.
func TestFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		maxAttempts  int
		hook         func(ctx context.Context, n int) error
		deleteInput  bool
		wantCode     string
		wantAttempts int
		wantCalls    int
		wantMessage  string
		// detail is the error's text: not in the document, in the log at
		// wantLevel with the job id.
		detail    string
		wantLevel string
	}{
		{"input missing is permanent", 3, nil, true, jobs.CodeInvalidInput, 1, 0,
			worker.InvalidInputMessage, "is missing", "WARNING"},
		{"always failing ends after the limit", 2, func(context.Context, int) error {
			return errors.New("CUDA error: bucket gs://tiger-models unreachable")
		}, false, jobs.CodeInternal, 2, 2, worker.InternalMessage, "CUDA error: bucket gs://tiger-models unreachable", "ERROR"},
		// What a user can act on is named for them, at once, without retries.
		{"no face is permanent and named", 3, func(context.Context, int) error {
			return fmt.Errorf("step 0 (detect-face): %w: no face scored 0.60 or more", generate.ErrNoFace)
		}, false, jobs.CodeNoFace, 1, 1, worker.NoFaceMessage, "no face scored", ""},
		{"invalid input is permanent", 3, func(context.Context, int) error {
			return fmt.Errorf("%w: image of 4x4 is too small", generate.ErrInvalidInput)
		}, false, jobs.CodeInvalidInput, 1, 1, worker.InvalidInputMessage, "image of 4x4 is too small", "WARNING"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			user := h.stack.NewUser(t, testenv.UserOpts{})
			id := h.submit(t, user, "sketch", "")
			input := h.job(t, id).Request.Input
			if tc.deleteInput {
				if err := h.gcs.Bucket(h.in).Object(input).Delete(testenv.Ctx(t)); err != nil {
					t.Fatal(err)
				}
			}
			gen := &counting{next: filters(t), hook: tc.hook}
			logs := &logBuffer{}
			h.startWorker(t, workerOpts{generator: gen, logs: logs, config: func(c *worker.Config) { c.MaxAttempts = tc.maxAttempts }})
			j := h.waitStatus(t, id, jobs.Failed)
			if j.Failure.Code != tc.wantCode || j.Failure.Attempts != tc.wantAttempts {
				t.Errorf("error document = %+v, want code %s after %d attempts", *j.Failure, tc.wantCode, tc.wantAttempts)
			}
			if j.Failure.Message != tc.wantMessage {
				t.Errorf("%s message %q, want the one written for the user: %q", tc.wantCode, j.Failure.Message, tc.wantMessage)
			}
			for _, internal := range []string{tc.detail, input, h.in, h.out, "worker:"} {
				if strings.Contains(j.Failure.Message, internal) {
					t.Errorf("error document's message %q holds %q", j.Failure.Message, internal)
				}
			}
			testenv.Eventually(t, "dead letter", func() bool { return h.stack.QueueDepth(t, h.topo.DeadQueue()) == 1 })
			if gen.count() != tc.wantCalls {
				t.Errorf("generated %d times, want %d", gen.count(), tc.wantCalls)
			}
			if objs := h.outputs(t); len(objs) != 0 {
				t.Errorf("outputs of a failed job: %v", objs)
			}
			if api := h.apiJob(t, user, id); api.Status != "failed" || api.Error == nil || api.Error.Code != tc.wantCode || api.Error.Message != tc.wantMessage {
				t.Errorf("api job = %+v, error %+v", api, api.Error)
			}
			if tc.wantLevel == "" {
				return
			}
			logged := false
			for _, e := range logs.entries(t) {
				if e["severity"] == tc.wantLevel && e["jobId"] == id && strings.Contains(fmt.Sprint(e["err"]), tc.detail) {
					logged = true
				}
			}
			if !logged {
				t.Errorf("no %s log line with jobId %s and err holding %q", tc.wantLevel, id, tc.detail)
			}
		})
	}
}

// TestWorkerKilledMidJob: a worker dies (its connection drops, nothing is
// acked) while generating; a new worker completes the job exactly once.
func TestWorkerKilledMidJob(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	user := h.stack.NewUser(t, testenv.UserOpts{})
	proxy := testenv.NewProxy(t, h.stack.AMQPHost(t))
	generating := make(chan struct{}, 1)
	doomed := &counting{next: filters(t), hook: func(ctx context.Context, n int) error {
		generating <- struct{}{}
		<-ctx.Done()
		return ctx.Err()
	}}
	h.startWorker(t, workerOpts{generator: doomed, config: func(c *worker.Config) { c.AMQPURL = proxy.AMQPURL(t, h.stack.AMQPURL) }})
	id := h.submit(t, user, "watercolour", "")
	<-generating
	if j := h.job(t, id); j.Status() != jobs.Running {
		t.Fatalf("status %s while generating", j.Status())
	}
	proxy.Cut() // the worker is gone as far as the broker knows

	survivor := &counting{next: filters(t)}
	h.startWorker(t, workerOpts{generator: survivor})
	j := h.waitStatus(t, id, jobs.Succeeded)
	if j.Response.Attempt != 2 || survivor.count() != 1 {
		t.Errorf("attempt %d, survivor generated %d times; want attempt 2, once", j.Response.Attempt, survivor.count())
	}
	if got := h.outputs(t); len(got) != 1 || got[0] != j.Response.Outputs[0].Name {
		t.Errorf("outputs %v, want exactly the committed %s", got, j.Response.Outputs[0].Name)
	}
}

// TestCrashLoopEndsInErrorDocument: a job that kills its worker every time
// (attempts recorded, never finished) gets an error document after the limit.
func TestCrashLoopEndsInErrorDocument(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	user := h.stack.NewUser(t, testenv.UserOpts{})
	proxy := testenv.NewProxy(t, h.stack.AMQPHost(t))
	crashes := make(chan struct{}, 10)
	crashing := &counting{next: filters(t), hook: func(ctx context.Context, n int) error {
		crashes <- struct{}{}
		<-ctx.Done()
		return ctx.Err()
	}}
	h.startWorker(t, workerOpts{generator: crashing, config: func(c *worker.Config) {
		c.MaxAttempts = 2
		c.AMQPURL = proxy.AMQPURL(t, h.stack.AMQPURL)
	}})
	id := h.submit(t, user, "sketch", "")
	for range 2 {
		<-crashes
		proxy.Cut()
		proxy.Restore(t) // the "restarted" worker reconnects and gets the job again
	}
	j := h.waitStatus(t, id, jobs.Failed)
	if j.Failure.Code != jobs.CodeAttemptsExhausted || j.Failure.Attempts != 2 || j.Failure.Message != worker.InternalMessage {
		t.Errorf("error document %+v, want attempts_exhausted after 2 with the message written for the user", *j.Failure)
	}
	testenv.Eventually(t, "dead letter", func() bool { return h.stack.QueueDepth(t, h.topo.DeadQueue()) == 1 })
}

// TestShutdownDuringGeneration is SIGTERM while generating: within the grace
// period the job finishes; past it, the job returns to the queue and the next
// worker does it, once.
func TestShutdownDuringGeneration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		grace        time.Duration
		work         time.Duration
		wantFinished bool
	}{
		{"finishes within grace", 10 * time.Second, 300 * time.Millisecond, true},
		{"returned to the queue after grace", 200 * time.Millisecond, time.Hour, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			user := h.stack.NewUser(t, testenv.UserOpts{})
			started := make(chan struct{}, 1)
			slow := &counting{next: filters(t), hook: func(ctx context.Context, n int) error {
				started <- struct{}{}
				select {
				case <-time.After(tc.work):
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			}}
			w := h.startWorker(t, workerOpts{generator: slow, config: func(c *worker.Config) { c.Grace = tc.grace }})
			id := h.submit(t, user, "sketch", "")
			<-started
			w.stop(t)
			if tc.wantFinished {
				if j := h.job(t, id); j.Status() != jobs.Succeeded {
					t.Fatalf("status %s after a graceful stop, want succeeded", j.Status())
				}
				return
			}
			testenv.Eventually(t, "job back in the queue", func() bool { return h.stack.QueueDepth(t, h.topo.Queue()) == 1 })
			if j := h.job(t, id); j.Status() != jobs.Queued {
				t.Errorf("status %s after the job was handed back, want queued", j.Status())
			}
			h.startWorker(t, workerOpts{})
			// The attempt was given back: a deploy does not use up the job's
			// attempts.
			j := h.waitStatus(t, id, jobs.Succeeded)
			if j.Response.Attempt != 1 {
				t.Errorf("attempt %d, want 1", j.Response.Attempt)
			}
		})
	}
}

// TestBoothJumpsTheBacklog: 40 online jobs queued, one generating, then a
// booth job: it is the next to generate.
func TestBoothJumpsTheBacklog(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	user := h.stack.NewUser(t, testenv.UserOpts{})
	staff := h.stack.NewUser(t, testenv.UserOpts{StaffOf: "test", EmailVerified: true})
	for range 40 {
		h.submit(t, user, "studio", jobs.Online)
	}
	var mu sync.Mutex
	var order []string
	firstStarted := make(chan struct{})
	release := make(chan struct{})
	rec := &counting{next: filters(t), hook: func(ctx context.Context, n int) error {
		if n == 1 {
			close(firstStarted)
			<-release // hold the one slot until the booth job is queued
		}
		return nil
	}}
	recording := &recordingResults{Results: workerdb.NewWriter(h.fs), mu: &mu, order: &order}
	// One slot and no preemption: the booth job can only jump the queue.
	h.startWorker(t, workerOpts{generator: rec, results: recording, config: func(c *worker.Config) {
		c.Slots, c.Preempt = 1, false
	}})
	<-firstStarted
	booth := h.submit(t, staff, "studio", jobs.Booth)
	close(release)
	h.waitStatus(t, booth, jobs.Succeeded)
	mu.Lock()
	defer mu.Unlock()
	pos := -1
	for i, id := range order {
		if id == booth {
			pos = i
		}
	}
	// Position 0 is the online job that was generating; the booth job is next.
	if pos != 1 {
		t.Errorf("booth job finished at position %d of %v, want 1 (right after the job in flight)", pos, len(order))
	}
}

// recordingResults records the order in which jobs were started and, if
// begun is set, reports each start (the number of starts so far) once it is
// durable.
type recordingResults struct {
	worker.Results
	mu    *sync.Mutex
	order *[]string
	begun func(n int)
}

func (r *recordingResults) Begin(ctx context.Context, id string, req jobs.Request, now time.Time) (int, error) {
	r.mu.Lock()
	*r.order = append(*r.order, id)
	n := len(*r.order)
	r.mu.Unlock()
	attempt, err := r.Results.Begin(ctx, id, req, now)
	if r.begun != nil {
		r.begun(n)
	}
	return attempt, err
}

// TestIOOverlapsGeneration: with the default slots (two in hand, one GPU
// token), the next job is taken and started while the current one
// generates, and never two generations run at once. Each generation but
// the last holds the GPU until one more job has started: events, not a
// window of time, so a slow machine cannot make the overlap look absent.
func TestIOOverlapsGeneration(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	user := h.stack.NewUser(t, testenv.UserOpts{})
	const n = 3
	var ids []string
	for range n {
		ids = append(ids, h.submit(t, user, "sketch", jobs.Online))
	}
	var mu sync.Mutex
	var events []string
	record := func(e string) {
		mu.Lock()
		events = append(events, e)
		mu.Unlock()
	}
	// started[i] closes when the (i+1)-th job start is durable.
	started := make([]chan struct{}, n)
	for i := range started {
		started[i] = make(chan struct{})
	}
	var order []string
	results := &recordingResults{Results: workerdb.NewWriter(h.fs), mu: &mu, order: &order, begun: func(k int) {
		if k <= n {
			close(started[k-1])
		}
	}}
	generating, maxGenerating := 0, 0
	gen := &counting{next: filters(t), hook: func(ctx context.Context, k int) error {
		mu.Lock()
		generating++
		maxGenerating = max(maxGenerating, generating)
		events = append(events, "generate-start")
		mu.Unlock()
		defer func() {
			mu.Lock()
			generating--
			events = append(events, "generate-end")
			mu.Unlock()
		}()
		if k >= n {
			return nil // no job left to overlap with
		}
		select {
		case <-started[k]:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(60 * time.Second):
			return errors.New("no further job was started while this one generated")
		}
	}}
	inputs := func(next queue.Handler) queue.Handler {
		return queue.HandlerFunc(func(ctx context.Context, m queue.Message) error {
			record("take")
			return next.Handle(ctx, m)
		})
	}
	h.startWorker(t, workerOpts{generator: gen, results: results, wrap: inputs})
	for _, id := range ids {
		h.waitStatus(t, id, jobs.Succeeded)
	}
	mu.Lock()
	defer mu.Unlock()
	if maxGenerating != 1 {
		t.Errorf("%d generations at once, want 1 (one GPU token)", maxGenerating)
	}
	overlapped := false
	inGeneration := false
	for _, e := range events {
		switch e {
		case "generate-start":
			inGeneration = true
		case "generate-end":
			inGeneration = false
		case "take":
			overlapped = overlapped || inGeneration
		}
	}
	if !overlapped {
		t.Errorf("no job was taken while another generated: %v", events)
	}
}

// TestBoothPreemptsOnlineGeneration: with the one slot generating an online
// job, a booth job submitted through the Gateway makes the worker hand the
// online job back; the booth job runs at once, then the online job, on the
// same attempt: neither lost nor duplicated.
func TestBoothPreemptsOnlineGeneration(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	user := h.stack.NewUser(t, testenv.UserOpts{})
	staff := h.stack.NewUser(t, testenv.UserOpts{StaffOf: "test", EmailVerified: true})
	generating := make(chan struct{}, 1)
	var mu sync.Mutex
	var causes []error
	gen := &counting{next: filters(t), hook: func(ctx context.Context, n int) error {
		if n != 1 {
			return nil
		}
		generating <- struct{}{}
		select {
		case <-ctx.Done(): // a long online generation, cut short
			mu.Lock()
			causes = append(causes, context.Cause(ctx))
			mu.Unlock()
			return ctx.Err()
		case <-time.After(30 * time.Second):
			return nil
		}
	}}
	var order []string
	results := &recordingResults{Results: workerdb.NewWriter(h.fs), mu: &mu, order: &order}
	h.startWorker(t, workerOpts{generator: gen, results: results, config: func(c *worker.Config) {
		c.Slots, c.Preempt = 1, true
	}})
	online := h.submit(t, user, "sketch", jobs.Online)
	<-generating
	booth := h.submit(t, staff, "sketch", jobs.Booth)
	h.waitStatus(t, booth, jobs.Succeeded)
	o := h.waitStatus(t, online, jobs.Succeeded)
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(order, ",") != online+","+booth+","+online {
		t.Errorf("started %v, want online, booth, online", order)
	}
	if len(causes) != 1 || !errors.Is(causes[0], worker.ErrPreempted) {
		t.Errorf("online generation ended by %v, want a preemption", causes)
	}
	if o.Response.Attempt != 1 {
		t.Errorf("online job finished on attempt %d, want 1 (a preemption is not an attempt)", o.Response.Attempt)
	}
	if n := len(h.outputs(t)); n != 2 {
		t.Errorf("%d outputs, want one per job", n)
	}
}

// TestBoothPreemptsWithDefaults: with the default two slots and one
// generation, one online job generating and another in hand waiting for the
// GPU, a booth job makes the consumer hand the waiting job back (for the
// slot) and the worker stop the generation in progress (for the GPU): the
// booth job is the next to generate. The stopped job stays in hand and
// generates again right after, on the same attempt; every job completes
// once.
func TestBoothPreemptsWithDefaults(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	user := h.stack.NewUser(t, testenv.UserOpts{})
	staff := h.stack.NewUser(t, testenv.UserOpts{StaffOf: "test", EmailVerified: true})

	var mu sync.Mutex
	var generated []string // job ids in the order their generations started
	firstGenerating := make(chan struct{})
	firstEnded := make(chan error, 1) // the cause that ended the first generation
	gen := &counting{next: filters(t), hook: func(ctx context.Context, n int) error {
		id, _ := ctx.Value(jobKey{}).(string)
		mu.Lock()
		generated = append(generated, id)
		mu.Unlock()
		if n != 1 {
			return nil
		}
		close(firstGenerating)
		select {
		case <-ctx.Done(): // a long online generation, cut short
			firstEnded <- context.Cause(ctx)
			return ctx.Err()
		case <-time.After(60 * time.Second):
			firstEnded <- nil
			return errors.New("the generation in progress was not stopped for the booth job")
		}
	}}
	var order []string
	secondStarted := make(chan struct{})
	results := &recordingResults{Results: workerdb.NewWriter(h.fs), mu: &mu, order: &order, begun: func(k int) {
		if k == 2 {
			close(secondStarted)
		}
	}}
	type outcome struct {
		id    string
		cause error
	}
	handled := make(chan outcome, 20)
	wrap := func(next queue.Handler) queue.Handler {
		return tagJob(queue.HandlerFunc(func(ctx context.Context, m queue.Message) error {
			err := next.Handle(ctx, m)
			handled <- outcome{m.ID, context.Cause(ctx)}
			return err
		}))
	}
	h.startWorker(t, workerOpts{generator: gen, results: results, wrap: wrap})

	// Submitted one by one, so the generating job is the oldest in hand and
	// the waiting one the newest.
	generating := h.submit(t, user, "sketch", jobs.Online)
	receive(t, "the first generation", firstGenerating)
	waiting := h.submit(t, user, "sketch", jobs.Online)
	receive(t, "the second job started", secondStarted)
	queued := h.submit(t, user, "sketch", jobs.Online)
	booth := h.submit(t, staff, "sketch", jobs.Booth)

	first := receive(t, "a job handed back", handled)
	if first.id != waiting || !errors.Is(first.cause, worker.ErrPreempted) {
		t.Errorf("first handler to return: %s (cause %v), want the waiting job %s handed back", first.id, first.cause, waiting)
	}
	if cause := receive(t, "the first generation to end", firstEnded); !errors.Is(cause, worker.ErrGPUPreempted) {
		t.Errorf("the generation in progress ended by %v, want %v", cause, worker.ErrGPUPreempted)
	}
	ids := []string{generating, waiting, queued, booth}
	for _, id := range ids {
		if j := h.waitStatus(t, id, jobs.Succeeded); j.Response.Attempt != 1 {
			t.Errorf("job %s finished on attempt %d, want 1 (a preemption is not an attempt)", id, j.Response.Attempt)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(generated) < 3 || generated[0] != generating || generated[1] != booth || generated[2] != generating {
		t.Errorf("generations %v, want %s, then the booth job %s, then %s again", generated, generating, booth, generating)
	}
	for _, id := range ids {
		begun := 0
		for _, o := range order {
			if o == id {
				begun++
			}
		}
		// The stopped job kept its slot: begun once; the one handed back
		// was begun again when it came back.
		want := 1
		if id == waiting {
			want = 2
		}
		if begun != want {
			t.Errorf("job %s begun %d times, want %d", id, begun, want)
		}
	}
	if n := len(h.outputs(t)); n != len(ids) {
		t.Errorf("%d outputs, want one per job", n)
	}
}

// damagedPNG is a PNG whose structure is whole (every chunk's CRC matches,
// so the Gateway takes it) but whose compressed pixels are garbage.
func damagedPNG(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 96, 128))); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	i := bytes.Index(data, []byte("IDAT"))
	n := int(binary.BigEndian.Uint32(data[i-4:]))
	chunk := data[i : i+4+n]
	for k := 6; k < len(chunk); k++ { // past the zlib header
		chunk[k] ^= 0x5a
	}
	binary.BigEndian.PutUint32(data[i+4+n:], crc32.ChecksumIEEE(chunk))
	return data
}

// TestUnreadablePhotoFailsForTheUser: what the Gateway's structural check
// lets through and the decoder refuses ends in an invalid_input error
// document that tells the user to send another photo, without retries.
func TestUnreadablePhotoFailsForTheUser(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	user := h.stack.NewUser(t, testenv.UserOpts{})
	gen := &counting{next: filters(t)}
	h.startWorker(t, workerOpts{generator: gen})
	id := h.submitPhoto(t, user, "sketch", jobs.Online, damagedPNG(t))
	j := h.waitStatus(t, id, jobs.Failed)
	if j.Failure.Code != jobs.CodeInvalidInput || j.Failure.Message != worker.UnreadableMessage || j.Failure.Retryable || j.Failure.Attempts != 1 {
		t.Errorf("error document %+v, want invalid_input with the user's message, not retryable, one attempt", j.Failure)
	}
	if gen.count() != 0 {
		t.Errorf("generated %d times from an unreadable photo", gen.count())
	}
}
