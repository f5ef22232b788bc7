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

func TestNotifyWriterLease(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	w := store.NewNotifyWriter(s.Firestore(t))
	ctx := testenv.Ctx(t)
	id := testenv.Unique("job")
	now := time.Now()
	lease := time.Minute

	first, err := w.Claim(ctx, id, now, lease)
	if err != nil || len(first.Sent) != 0 || first.Token == "" {
		t.Fatalf("first Claim = %+v, %v", first, err)
	}
	if _, err := w.Claim(ctx, id, now, lease); !errors.Is(err, store.ErrClaimed) {
		t.Errorf("second Claim = %v, want ErrClaimed", err)
	}
	if err := w.MarkSent(ctx, id, first.Token, "email"); err != nil {
		t.Fatal(err)
	}
	// The holder stalled: once the lease is over, another delivery takes it
	// and learns what was already sent; the stalled one can no longer write.
	second, err := w.Claim(ctx, id, now.Add(2*lease), lease)
	if err != nil || len(second.Sent) != 1 || second.Sent[0] != "email" {
		t.Fatalf("Claim after the lease = %+v, %v; want [email] sent", second, err)
	}
	for name, write := range map[string]func() error{
		"MarkSent": func() error { return w.MarkSent(ctx, id, first.Token, "push") },
		"Complete": func() error { return w.Complete(ctx, id, first.Token, now) },
		"Release":  func() error { return w.Release(ctx, id, first.Token) },
	} {
		if err := write(); !errors.Is(err, store.ErrClaimLost) {
			t.Errorf("%s by the stale holder = %v, want ErrClaimLost", name, err)
		}
	}
	if err := w.Release(ctx, id, second.Token); err != nil {
		t.Fatal(err)
	}
	third, err := w.Claim(ctx, id, now, lease)
	if err != nil {
		t.Fatalf("Claim after Release: %v", err)
	}
	if err := w.Complete(ctx, id, third.Token, now); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Claim(ctx, id, now.Add(time.Hour), lease); !errors.Is(err, store.ErrAlreadySent) {
		t.Errorf("Claim after Complete = %v, want ErrAlreadySent", err)
	}
}
