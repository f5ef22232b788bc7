package gateway_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"cloud.google.com/go/firestore"

	"github.com/tigerstudio/studio/functions/gateway"
	"github.com/tigerstudio/studio/functions/gateway/internal/gatewaydb"
	"github.com/tigerstudio/studio/infra/jobs"
	"github.com/tigerstudio/studio/infra/queue"
	"github.com/tigerstudio/studio/infra/store"
	"github.com/tigerstudio/studio/infra/testenv"
)

func (f *fixture) putInput(t *testing.T, name string) {
	t.Helper()
	ow := f.gcs.Bucket(f.bucket).Object(name).NewWriter(testenv.Ctx(t))
	_, _ = ow.Write(jpegBytes(t, 64, 48))
	if err := ow.Close(); err != nil {
		t.Fatalf("put input: %v", err)
	}
}

func crashedRequest(t *testing.T, f *fixture, w *gatewaydb.Writer, withInput bool) (string, jobs.Request) {
	t.Helper()
	id := testenv.Unique("job")
	req := jobs.Request{UID: "u-" + id, Event: f.cfg.Event, Style: "sketch", Priority: jobs.Online,
		Input: id + "/input-aaaaaaaa.jpg", ContentType: "image/jpeg", Width: 64, Height: 48, CreatedAt: time.Now().UTC()}
	if withInput {
		f.putInput(t, req.Input)
	}
	if err := w.CreateRequest(testenv.Ctx(t), id, req); err != nil {
		t.Fatal(err)
	}
	return id, req
}

// TestReconcile puts the stack in the state a Gateway killed at each step
// of a request leaves, and checks that one pass of the reconciler, once the
// state is older than PendingGrace, finishes or removes each, and touches
// nothing younger.
func TestReconcile(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	w := gatewaydb.NewWriter(f.fs)
	ctx := testenv.Ctx(t)
	pub := queue.NewPublisher(f.stack.AMQPURL, f.topo)
	t.Cleanup(func() { _ = pub.Close() })

	// After the object: an input no request names.
	orphan := testenv.Unique("job") + "/input-bbbbbbbb.jpg"
	f.putInput(t, orphan)
	// After the document: never published.
	unpublished, _ := crashedRequest(t, f, w, true)
	// After the publish: the message is in the queue, the mark is missing.
	published, _ := crashedRequest(t, f, w, true)
	if err := pub.Publish(ctx, jobs.Message{JobID: published, Event: f.cfg.Event, Priority: jobs.Online}); err != nil {
		t.Fatal(err)
	}
	// An undo that removed the input but not the document.
	inputless, _ := crashedRequest(t, f, w, false)
	// A worker already started it: only the mark is missing.
	started, _ := crashedRequest(t, f, w, true)
	if _, err := f.fs.Collection("responses").Doc(started).Set(ctx, map[string]any{"state": "running", "attempt": 1}); err != nil {
		t.Fatal(err)
	}

	// Younger than PendingGrace, all of it may belong to a live request.
	rep, err := f.later(t, 0).Reconcile(ctx)
	if err != nil || rep != (gateway.ReconcileReport{}) {
		t.Fatalf("reconcile of fresh state = %+v, %v; want nothing done", rep, err)
	}

	rep, err = f.later(t, 5*time.Minute).Reconcile(ctx)
	if err != nil {
		t.Fatalf("reconcile: %v", err)
	}
	// The queue is shared with the fixture's other state only.
	if rep.Published < 2 || rep.Marked < 1 || rep.Removed < 1 || rep.Orphans < 1 {
		t.Errorf("report %+v, want >= 2 published, 1 marked, 1 removed, 1 orphan", rep)
	}
	for _, id := range []string{unpublished, published, started} {
		j, err := store.NewReader(f.fs).Job(ctx, id)
		if err != nil || !j.Request.Enqueued() {
			t.Errorf("job %s: enqueued=%v err=%v, want marked enqueued", id, j.Request.Enqueued(), err)
		}
	}
	if snap, err := f.fs.Collection("requests").Doc(inputless).Get(ctx); err == nil && snap.Exists() {
		t.Errorf("a request without its input was left")
	}
	objs := testenv.Objects(t, f.gcs, f.bucket)
	if slices.Contains(objs, orphan) {
		t.Errorf("orphan input %s was left", orphan)
	}
	if len(objs) != 3 {
		t.Errorf("input objects %v, want the three named by requests", objs)
	}
	// One message per job, plus the second copy of the one published
	// before the crash (the worker acks a copy of a finished job unseen).
	got := map[string]int{}
	for {
		d, ok := f.stack.GetMessage(t, f.topo.Queue())
		if !ok {
			break
		}
		got[d.MessageId]++
	}
	want := map[string]int{unpublished: 1, published: 2}
	for id, n := range want {
		if got[id] != n {
			t.Errorf("messages of %s = %d, want %d (all: %v)", id, got[id], n, got)
		}
	}
	if got[started] != 0 || got[inputless] != 0 {
		t.Errorf("messages for a started or removed job: %v", got)
	}

	// A second pass finds nothing left to do.
	if rep, err := f.later(t, 5*time.Minute).Reconcile(ctx); err != nil || rep != (gateway.ReconcileReport{}) {
		t.Errorf("second pass = %+v, %v; want nothing", rep, err)
	}
}

// TestRetryFinishesDeadRequest: a request with an Idempotency-Key whose
// Gateway died after the document never blocks its key: a retry within
// PendingGrace is asked to wait (409), one after it finishes the job.
func TestRetryFinishesDeadRequest(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	user := f.stack.NewUser(t, testenv.UserOpts{})
	key := map[string]string{"Idempotency-Key": testenv.Unique("k")}
	first := f.submit(t, user.Token, validForm(t), key)
	if first.status != 202 {
		t.Fatalf("first: %d %v", first.status, first.body)
	}
	// Roll it back to "document written, never published".
	id := first.jobID()
	if _, err := f.fs.Collection("requests").Doc(id).Update(testenv.Ctx(t), []firestore.Update{{Path: "enqueuedAt", Value: nil}}); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.stack.GetMessage(t, f.topo.Queue()); !ok {
		t.Fatal("no message to take back")
	}

	if r := f.submit(t, user.Token, validForm(t), key); r.status != http.StatusConflict {
		t.Fatalf("retry within the grace: %d %v, want 409", r.status, r.body)
	}
	late := httptest.NewServer(f.later(t, 5*time.Minute))
	t.Cleanup(late.Close)
	lf := *f
	lf.url = late.URL
	r := lf.submit(t, user.Token, validForm(t), key)
	if r.status != 202 || r.jobID() != id || r.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry after the grace: %d %v, want the first job replayed", r.status, r.body)
	}
	if n := f.stack.QueueDepth(t, f.topo.Queue()); n != 1 {
		t.Errorf("%d messages, want 1", n)
	}
	j, err := store.NewReader(f.fs).Job(context.Background(), id)
	if err != nil || !j.Request.Enqueued() {
		t.Errorf("job not marked enqueued: %v", err)
	}
	if ids := f.requestsOf(t, user.UID); len(ids) != 1 {
		t.Errorf("request documents %v, want 1", ids)
	}
}
