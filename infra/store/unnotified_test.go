package store_test

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/tigerstudio/studio/infra/jobs"
	"github.com/tigerstudio/studio/infra/store"
	"github.com/tigerstudio/studio/infra/testenv"
)

// TestUnnotifiedPages: the jobs without a notification are found past the
// first page of notified ones (a busy event), oldest first, and a job with
// an error document counts as failed only.
func TestUnnotifiedPages(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	fs := s.Firestore(t)
	ctx := testenv.Ctx(t)
	// A window of its own: the collections are shared with every test.
	base := time.Now().Add(time.Duration(2_000_000+rand.IntN(1_000_000)) * time.Hour).Truncate(time.Second)
	at := func(i int) time.Time { return base.Add(time.Duration(i) * time.Second) }
	respond := func(id string, i int) {
		t.Helper()
		r := jobs.Response{State: jobs.StateSucceeded, Attempt: 1, StartedAt: at(i), CompletedAt: at(i)}
		if _, err := fs.Collection(store.Responses).Doc(id).Set(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	fail := func(id string, i int) {
		t.Helper()
		if _, err := fs.Collection(store.Errors).Doc(id).Set(ctx, jobs.Failure{Code: jobs.CodeInternal, FailedAt: at(i)}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 7 { // more than two pages of 3, all notified
		id := testenv.Unique("notified")
		respond(id, i)
		if _, err := fs.Collection(store.Notifications).Doc(id).Set(ctx, store.Notification{SentAt: at(i)}); err != nil {
			t.Fatal(err)
		}
	}
	lostA, lostB, errored, both := testenv.Unique("lost-a"), testenv.Unique("lost-b"), testenv.Unique("errored"), testenv.Unique("both")
	respond(lostB, 11)
	respond(lostA, 10)
	fail(errored, 5)
	respond(both, 8)
	fail(both, 9)

	succeeded, failed, err := store.NewReader(fs).Unnotified(ctx, at(-3600), at(3600), 3)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{lostA, lostB}; !slices.Equal(succeeded, want) {
		t.Errorf("succeeded = %v, want %v (past the notified pages, oldest first)", succeeded, want)
	}
	if want := []string{errored, both}; !slices.Equal(failed, want) {
		t.Errorf("failed = %v, want %v", failed, want)
	}
	// The limit holds: one of each kind.
	succeeded, failed, err = store.NewReader(fs).Unnotified(ctx, at(-3600), at(3600), 1)
	if err != nil || !slices.Equal(succeeded, []string{lostA}) || !slices.Equal(failed, []string{errored}) {
		t.Errorf("limit 1: %v, %v, %v; want [%s] [%s]", succeeded, failed, err, lostA, errored)
	}
}
