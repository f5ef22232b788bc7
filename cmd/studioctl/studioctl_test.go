package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/firestore"
	"cloud.google.com/go/storage"
	amqp "github.com/rabbitmq/amqp091-go"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tigerstudio/studio/infra/config"
	"github.com/tigerstudio/studio/infra/jobs"
	"github.com/tigerstudio/studio/infra/queue"
	"github.com/tigerstudio/studio/infra/store"
	"github.com/tigerstudio/studio/infra/testenv"
)

// fixture is one test's slice of the stack: its own event, buckets and
// queue topology.
type fixture struct {
	stack  testenv.Stack
	fs     *firestore.Client
	gcs    *storage.Client
	event  string
	input  string
	output string
	topo   queue.Topology
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	s := testenv.Get(t)
	f := &fixture{stack: s, fs: s.Firestore(t), gcs: s.Storage(t), event: testenv.Unique("event"), topo: s.Topology(t)}
	f.input, f.output = s.Bucket(t, f.gcs), s.Bucket(t, f.gcs)
	return f
}

func (f *fixture) env() map[string]string {
	return map[string]string{
		"GCLOUD_PROJECT": f.stack.Project, "EVENT": f.event, "INPUT_BUCKET": f.input,
		"OUTPUT_BUCKET": f.output, "AMQP_URL": f.stack.AMQPURL, "QUEUE_PREFIX": f.topo.Prefix,
	}
}

// ctl runs studioctl with the fixture's environment.
func (f *fixture) ctl(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = run(testenv.Ctx(t), args, config.FromMap(f.env()), &out, &errOut)
	return out.String(), errOut.String(), err
}

// ctlJSON runs studioctl and decodes its stdout into v.
func (f *fixture) ctlJSON(t *testing.T, v any, args ...string) {
	t.Helper()
	out, errOut, err := f.ctl(t, args...)
	if err != nil {
		t.Fatalf("studioctl %s: %v\nstderr: %s", strings.Join(args, " "), err, errOut)
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("studioctl %s: decode %q: %v", strings.Join(args, " "), out, err)
	}
}

// seed is one job to write.
type seed struct {
	status   jobs.Status
	priority jobs.Priority
	event    string        // default: the fixture's
	total    time.Duration // succeeded: timings.totalMs
	outputs  int           // succeeded: output objects
	notified bool          // notifications/{id} written
	ago      time.Duration // completed or failed this long ago
	expired  bool          // expireAt passed (default: a week ahead)
}

// seedJob writes the documents (and the input and output objects) of a job
// as the components would, and returns its id.
func (f *fixture) seedJob(t *testing.T, s seed) string {
	t.Helper()
	id := testenv.Unique("job")
	event := s.event
	if event == "" {
		event = f.event
	}
	if s.priority == "" {
		s.priority = jobs.Online
	}
	now := time.Now().UTC()
	enq := now.Add(-time.Minute)
	req := jobs.Request{
		UID: "uid-" + id, Event: event, Style: "sketch", Priority: s.priority, Input: id + "/input-1.png",
		ContentType: "image/png", Width: 512, Height: 512, Notify: jobs.Notify{Email: id + "@example.test"},
		CreatedAt: now.Add(-2 * time.Minute), EnqueuedAt: &enq, ExpireAt: now.Add(7 * 24 * time.Hour),
	}
	if s.expired {
		req.ExpireAt = now.Add(-time.Minute)
	}
	f.put(t, store.Requests, id, req)
	f.object(t, f.input, req.Input, "input of "+id)
	switch s.status {
	case jobs.Running:
		f.put(t, store.Responses, id, jobs.Response{State: jobs.StateRunning, Attempt: 1, StartedAt: now.Add(-10 * time.Second)})
	case jobs.Succeeded:
		resp := jobs.Response{State: jobs.StateSucceeded, Attempt: 1, StartedAt: now.Add(-time.Minute),
			Backend: "cpu", Model: "test", CompletedAt: now.Add(-s.ago),
			Timings: &jobs.Timings{TotalMs: s.total.Milliseconds()}}
		for i := range s.outputs {
			name := fmt.Sprintf("%s/sketch-a1-%d.jpg", id, i)
			f.object(t, f.output, name, "output "+name)
			resp.Outputs = append(resp.Outputs, jobs.Output{Name: name, ContentType: "image/jpeg", Width: 256, Height: 256})
		}
		f.put(t, store.Responses, id, resp)
	case jobs.Failed:
		f.put(t, store.Responses, id, jobs.Response{State: jobs.StateRunning, Attempt: 3, StartedAt: now.Add(-time.Minute)})
		f.put(t, store.Errors, id, jobs.Failure{Code: jobs.CodeAttemptsExhausted, Message: "the job was started 3 times without finishing",
			Retryable: true, Attempts: 3, FailedAt: now.Add(-s.ago)})
	}
	if s.notified {
		f.put(t, store.Notifications, id, store.Notification{Channels: []string{"email"}, SentAt: now})
	}
	return id
}

func (f *fixture) put(t *testing.T, collection, id string, v any) {
	t.Helper()
	if _, err := f.fs.Collection(collection).Doc(id).Set(testenv.Ctx(t), v); err != nil {
		t.Fatalf("write %s/%s: %v", collection, id, err)
	}
}

func (f *fixture) exists(t *testing.T, collection, id string) bool {
	t.Helper()
	snap, err := f.fs.Collection(collection).Doc(id).Get(testenv.Ctx(t))
	if err != nil && status.Code(err) != codes.NotFound {
		t.Fatalf("read %s/%s: %v", collection, id, err)
	}
	return snap != nil && snap.Exists()
}

func (f *fixture) object(t *testing.T, bucket, name, content string) {
	t.Helper()
	w := f.gcs.Bucket(bucket).Object(name).NewWriter(testenv.Ctx(t))
	w.ContentType = "application/octet-stream"
	if _, err := w.Write([]byte(content)); err != nil {
		t.Fatalf("write gs://%s/%s: %v", bucket, name, err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("write gs://%s/%s: %v", bucket, name, err)
	}
}

// enqueue publishes the job's message as the Gateway does.
func (f *fixture) enqueue(t *testing.T, id string, p jobs.Priority) {
	t.Helper()
	pub := queue.NewPublisher(f.stack.AMQPURL, f.topo)
	defer pub.Close()
	if err := pub.Publish(testenv.Ctx(t), jobs.Message{JobID: id, Event: f.event, Priority: p}); err != nil {
		t.Fatalf("publish %s: %v", id, err)
	}
}

// deadLetter publishes the job's message and rejects it from the job queue
// as the worker does, so it reaches the dead-letter queue with the broker's
// x-death headers.
func (f *fixture) deadLetter(t *testing.T, id string) {
	t.Helper()
	f.enqueue(t, id, jobs.Online)
	f.stack.WithChannel(t, func(ch *amqp.Channel) error {
		d, ok, err := ch.Get(f.topo.Queue(), false)
		if err != nil {
			return fmt.Errorf("get %s: %w", id, err)
		}
		if !ok {
			return fmt.Errorf("get %s: the queue is empty", id)
		}
		if d.MessageId != id {
			return fmt.Errorf("got %s, want %s", d.MessageId, id)
		}
		return d.Nack(false, false)
	})
	testenv.Eventually(t, "the letter in the dead-letter queue", func() bool {
		return f.stack.QueueDepth(t, f.topo.DeadQueue()) >= 1
	})
}

func TestHelp(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"--help"}, {"staff", "--help"}, {"status", "-h"}, {"dead", "--help"},
		{"export", "--help"}, {"purge", "--help"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			// No environment at all: help needs none.
			err := run(context.Background(), args, config.FromMap(nil), &out, &errOut)
			if !errors.Is(err, flag.ErrHelp) {
				t.Fatalf("err = %v, want flag.ErrHelp", err)
			}
			if !strings.Contains(errOut.String(), "usage: studioctl") {
				t.Errorf("help = %q, want a usage line", errOut.String())
			}
		})
	}
}

func TestBadInvocations(t *testing.T) {
	t.Parallel()
	env := map[string]string{"GCLOUD_PROJECT": "p", "AMQP_URL": "amqp://x", "INPUT_BUCKET": "a", "OUTPUT_BUCKET": "b"}
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{nil, env, "no command"},
		{[]string{"frobnicate"}, env, "unknown command"},
		{[]string{"status"}, map[string]string{}, "GCLOUD_PROJECT is required"},
		{[]string{"status"}, map[string]string{"GCLOUD_PROJECT": "p", "INPUT_BUCKET": "x", "OUTPUT_BUCKET": "x"}, "must differ"},
		{[]string{"status"}, map[string]string{"GCLOUD_PROJECT": "p"}, "AMQP_URL is required"},
		{[]string{"staff"}, env, "want grant, revoke or list"},
		{[]string{"staff", "grant"}, env, "want one EMAIL"},
		{[]string{"dead"}, env, "want list or requeue"},
		{[]string{"dead", "requeue"}, env, "name the jobs, or --all"},
		{[]string{"export"}, env, "want one DIR"},
		{[]string{"purge"}, env, "want --event NAME"},
		{[]string{"purge", "--event", "x"}, map[string]string{"GCLOUD_PROJECT": "p"}, "INPUT_BUCKET is required"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run(context.Background(), tc.args, config.FromMap(tc.env), &out, &errOut)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestPercentile(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		values []int64
		p      int
		want   int64
	}{
		{nil, 50, 0},
		{[]int64{7}, 50, 7},
		{[]int64{7}, 95, 7},
		{[]int64{1, 2}, 50, 1},
		{[]int64{1, 2}, 95, 2},
		{[]int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 50, 5},
		{[]int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 95, 10},
	} {
		if got := percentile(tc.values, tc.p); got != tc.want {
			t.Errorf("percentile(%v, %d) = %d, want %d", tc.values, tc.p, got, tc.want)
		}
	}
}

func TestSafeName(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ id, object, want string }{
		{"j1", "j1/sketch-a1-0.jpg", "j1/sketch-a1-0.jpg"},
		{"j1", "../../etc/passwd", "j1/____etc_passwd"},
		{"j1", "/abs/x.jpg", "j1/_abs_x.jpg"},
		{"j1", "other/x.jpg", "j1/other_x.jpg"},
	} {
		if got := safeName(tc.id, tc.object); got != tc.want {
			t.Errorf("safeName(%q, %q) = %q, want %q", tc.id, tc.object, got, tc.want)
		}
	}
}

func contextWithCancel(t *testing.T) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx, cancel
}

func configFromMap(m map[string]string) config.Lookuper { return config.FromMap(m) }

// syncBuffer is a buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
