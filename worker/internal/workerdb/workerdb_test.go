package workerdb_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/tigerstudio/studio/infra/jobs"
	"github.com/tigerstudio/studio/infra/store"
	"github.com/tigerstudio/studio/infra/testenv"
	"github.com/tigerstudio/studio/worker/internal/workerdb"
)

// TestWriteScope pins the worker's writer to the writes DESIGN.md allows
// it: a new write method is a deliberate change here.
func TestWriteScope(t *testing.T) {
	want := []string{"Abandon", "Begin", "Fail", "Succeed"}
	if got := testenv.Methods(&workerdb.Writer{}); !slices.Equal(got, want) {
		t.Errorf("workerdb.Writer methods = %v, want %v", got, want)
	}
}

// TestWriteScopeOnEmulator runs every write method on a database of the
// test's own and reads the whole database back after each: each touches
// only the job's response or error document.
func TestWriteScopeOnEmulator(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	fs := s.OwnFirestore(t)
	ctx := testenv.Ctx(t)
	w := workerdb.NewWriter(fs)
	now := time.Now()
	var attempt int
	begin := func(id string) func() error {
		return func() (err error) {
			attempt, err = w.Begin(ctx, id, jobs.Request{}, now)
			return err
		}
	}
	for _, step := range []struct {
		name  string
		write func() error
		want  []string
	}{
		{"Begin", begin("job"), []string{"responses/job"}},
		{"Abandon", func() error { return w.Abandon(ctx, "job", attempt) }, []string{"responses/job"}},
		{"Begin again", begin("job"), []string{"responses/job"}},
		{"Succeed", func() error { return w.Succeed(ctx, "job", jobs.Response{Attempt: attempt}) }, []string{"responses/job"}},
		{"Begin another", begin("failing"), []string{"responses/failing"}},
		{"Fail", func() error { return w.Fail(ctx, "failing", jobs.Failure{Code: "x"}) }, []string{"errors/failing"}},
	} {
		if got := testenv.Touched(t, fs, step.write); !slices.Equal(got, step.want) {
			t.Errorf("%s touched %v, want %v", step.name, got, step.want)
		}
	}
}

func TestAttempts(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	w := workerdb.NewWriter(s.Firestore(t))
	ctx := testenv.Ctx(t)
	id := testenv.Unique("job")
	now := time.Now()

	for want := 1; want <= 2; want++ {
		got, err := w.Begin(ctx, id, jobs.Request{}, now)
		if err != nil || got != want {
			t.Fatalf("Begin = %d, %v; want attempt %d", got, err, want)
		}
	}
	if err := w.Succeed(ctx, id, jobs.Response{Attempt: 1}); !errors.Is(err, workerdb.ErrSuperseded) {
		t.Errorf("stale attempt's Succeed = %v, want ErrSuperseded", err)
	}
	if err := w.Succeed(ctx, id, jobs.Response{Attempt: 2, Backend: "builtin"}); err != nil {
		t.Fatalf("Succeed: %v", err)
	}
	if err := w.Succeed(ctx, id, jobs.Response{Attempt: 2}); !errors.Is(err, workerdb.ErrFinished) {
		t.Errorf("second Succeed = %v, want ErrFinished", err)
	}
	if _, err := w.Begin(ctx, id, jobs.Request{}, now); !errors.Is(err, workerdb.ErrFinished) {
		t.Errorf("Begin after success = %v, want ErrFinished", err)
	}

	failed := testenv.Unique("job")
	if _, err := w.Begin(ctx, failed, jobs.Request{}, now); err != nil {
		t.Fatal(err)
	}
	if err := w.Fail(ctx, failed, jobs.Failure{Code: "first"}); err != nil {
		t.Fatalf("Fail: %v", err)
	}
	if err := w.Fail(ctx, failed, jobs.Failure{Code: "second"}); !errors.Is(err, workerdb.ErrFinished) {
		t.Errorf("second Fail = %v, want ErrFinished", err)
	}
	snap, err := s.Firestore(t).Collection(store.Errors).Doc(failed).Get(ctx)
	if err != nil || snap.Data()["code"] != "first" {
		t.Errorf("error document %v (%v), want the first failure kept", snap.Data(), err)
	}
	if _, err := w.Begin(ctx, failed, jobs.Request{}, now); !errors.Is(err, workerdb.ErrFinished) {
		t.Errorf("Begin after Fail = %v, want ErrFinished", err)
	}
	// A superseded attempt must not mark a succeeded job failed.
	if err := w.Fail(ctx, id, jobs.Failure{Code: "late"}); !errors.Is(err, workerdb.ErrFinished) {
		t.Errorf("Fail after success = %v, want ErrFinished", err)
	}

	// A job handed back at shutdown gets its attempt back.
	back := testenv.Unique("job")
	for range 2 {
		if _, err := w.Begin(ctx, back, jobs.Request{}, now); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Abandon(ctx, back, 1); err != nil { // not the latest attempt: no-op
		t.Fatal(err)
	}
	if err := w.Abandon(ctx, back, 2); err != nil {
		t.Fatal(err)
	}
	if got, err := w.Begin(ctx, back, jobs.Request{}, now); err != nil || got != 2 {
		t.Errorf("Begin after Abandon = %d, %v; want attempt 2 again", got, err)
	}
}

// TestBeginRepeatsTheQueueKeys: a started job's response carries its
// request's event, priority and enqueuedAt, which the Gateway's queue
// position counts by; when the worker took the message before the
// Gateway's mark landed, the start stands in for it (a response without one
// would keep the job "ahead" in the queue forever).
func TestBeginRepeatsTheQueueKeys(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	fs := s.Firestore(t)
	ctx := testenv.Ctx(t)
	at := time.Now().UTC().Truncate(time.Millisecond)
	started := at.Add(time.Second)
	for _, c := range []struct {
		name     string
		enqueued *time.Time
		want     time.Time
	}{
		{"marked", &at, at},
		{"not marked yet", nil, started},
	} {
		t.Run(c.name, func(t *testing.T) {
			id := testenv.Unique("job")
			req := jobs.Request{Event: "gala", Priority: jobs.Booth, EnqueuedAt: c.enqueued}
			if _, err := workerdb.NewWriter(fs).Begin(ctx, id, req, started); err != nil {
				t.Fatal(err)
			}
			snap, err := fs.Collection(store.Responses).Doc(id).Get(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var got jobs.Response
			if err := snap.DataTo(&got); err != nil {
				t.Fatal(err)
			}
			if got.Event != "gala" || got.Priority != jobs.Booth || got.EnqueuedAt == nil || !got.EnqueuedAt.Equal(c.want) {
				t.Errorf("response %+v, want the request's event, priority and enqueuedAt %v", got, c.want)
			}
		})
	}
}
