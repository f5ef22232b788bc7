package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/tigerstudio/studio/infra/jobs"
	"github.com/tigerstudio/studio/infra/store"
	"github.com/tigerstudio/studio/infra/testenv"
)

func TestWorkerWriterAttempts(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	w := store.NewWorkerWriter(s.Firestore(t))
	ctx := testenv.Ctx(t)
	id := testenv.Unique("job")
	now := time.Now()

	for want := 1; want <= 2; want++ {
		got, err := w.Begin(ctx, id, now)
		if err != nil || got != want {
			t.Fatalf("Begin = %d, %v; want attempt %d", got, err, want)
		}
	}
	if err := w.Succeed(ctx, id, jobs.Response{Attempt: 1}); !errors.Is(err, store.ErrSuperseded) {
		t.Errorf("stale attempt's Succeed = %v, want ErrSuperseded", err)
	}
	if err := w.Succeed(ctx, id, jobs.Response{Attempt: 2, Backend: "builtin"}); err != nil {
		t.Fatalf("Succeed: %v", err)
	}
	if err := w.Succeed(ctx, id, jobs.Response{Attempt: 2}); !errors.Is(err, store.ErrFinished) {
		t.Errorf("second Succeed = %v, want ErrFinished", err)
	}
	if _, err := w.Begin(ctx, id, now); !errors.Is(err, store.ErrFinished) {
		t.Errorf("Begin after success = %v, want ErrFinished", err)
	}

	failed := testenv.Unique("job")
	if _, err := w.Begin(ctx, failed, now); err != nil {
		t.Fatal(err)
	}
	if err := w.Fail(ctx, failed, jobs.Failure{Code: "first"}); err != nil {
		t.Fatalf("Fail: %v", err)
	}
	if err := w.Fail(ctx, failed, jobs.Failure{Code: "second"}); !errors.Is(err, store.ErrFinished) {
		t.Errorf("second Fail = %v, want ErrFinished", err)
	}
	snap, err := s.Firestore(t).Collection(store.Errors).Doc(failed).Get(ctx)
	if err != nil || snap.Data()["code"] != "first" {
		t.Errorf("error document %v (%v), want the first failure kept", snap.Data(), err)
	}
	if _, err := w.Begin(ctx, failed, now); !errors.Is(err, store.ErrFinished) {
		t.Errorf("Begin after Fail = %v, want ErrFinished", err)
	}
	// A superseded attempt must not mark a succeeded job failed.
	if err := w.Fail(ctx, id, jobs.Failure{Code: "late"}); !errors.Is(err, store.ErrFinished) {
		t.Errorf("Fail after success = %v, want ErrFinished", err)
	}

	// A job handed back at shutdown gets its attempt back.
	back := testenv.Unique("job")
	for range 2 {
		if _, err := w.Begin(ctx, back, now); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Abandon(ctx, back, 1); err != nil { // not the latest attempt: no-op
		t.Fatal(err)
	}
	if err := w.Abandon(ctx, back, 2); err != nil {
		t.Fatal(err)
	}
	if got, err := w.Begin(ctx, back, now); err != nil || got != 2 {
		t.Errorf("Begin after Abandon = %d, %v; want attempt 2 again", got, err)
	}
}
