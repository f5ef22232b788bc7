package gatewaydb_test

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tigerstudio/studio/functions/gateway/internal/gatewaydb"
	"github.com/tigerstudio/studio/infra/jobs"
	"github.com/tigerstudio/studio/infra/store"
	"github.com/tigerstudio/studio/infra/testenv"
)

// TestWriteScope pins the Gateway's writer to the writes DESIGN.md allows
// it: a new write method is a deliberate change here.
func TestWriteScope(t *testing.T) {
	want := []string{"AddDeviceToken", "CreateRequest", "DeleteRequest", "MarkEnqueued", "MoveRequests", "Reserved", "ReturnBudget", "ReturnQuota", "SetPickup", "TakeBudget", "TakeQuota"}
	if got := testenv.Methods(&gatewaydb.Writer{}); !slices.Equal(got, want) {
		t.Errorf("gatewaydb.Writer methods = %v, want %v", got, want)
	}
}

// TestWriteScopeOnEmulator runs every write method on a database of the
// test's own and reads the whole database back after each: each touches
// only the documents named here (requests, devices and quotas), wherever
// else a mistaken write might land.
func TestWriteScopeOnEmulator(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	fs := s.OwnFirestore(t)
	ctx := testenv.Ctx(t)
	w := gatewaydb.NewWriter(fs)
	now := time.Now()
	const job, enqueued, guest, account = "job", "enqueued", "guest", "account"
	for _, step := range []struct {
		name  string
		write func() error
		want  []string
	}{
		{"CreateRequest", func() error {
			return w.CreateRequest(ctx, job, jobs.Request{UID: guest, Input: "in", CreatedAt: now})
		}, []string{"requests/job"}},
		{"MoveRequests", func() error {
			if moved, err := w.MoveRequests(ctx, guest, account); err != nil || moved != 1 {
				return fmt.Errorf("MoveRequests = %d, %w", moved, err)
			}
			return nil
		}, []string{"requests/job"}},
		{"TakeQuota", func() error {
			if ok, _, err := w.TakeQuota(ctx, account, job, now, 1, time.Minute); err != nil || !ok {
				return fmt.Errorf("TakeQuota = %v, %w", ok, err)
			}
			return nil
		}, []string{"quotas/account"}},
		{"ReturnQuota", func() error { return w.ReturnQuota(ctx, account, job) }, []string{"quotas/account"}},
		{"TakeBudget", func() error {
			if ok, err := w.TakeBudget(ctx, "event", 39000, 0); err != nil || !ok {
				return fmt.Errorf("TakeBudget = %v, %w", ok, err)
			}
			return nil
		}, []string{"budgets/event"}},
		{"ReturnBudget", func() error { return w.ReturnBudget(ctx, "event", 39000) }, []string{"budgets/event"}},
		{"AddDeviceToken", func() error { return w.AddDeviceToken(ctx, account, "token", time.Now().Add(time.Hour)) }, []string{"devices/account"}},
		// Undo removes only the request whose input it names.
		{"DeleteRequest of another input", func() error { return w.DeleteRequest(ctx, job, "another input") }, nil},
		{"DeleteRequest", func() error { return w.DeleteRequest(ctx, job, "in") }, []string{"requests/job"}},
		// Undoing what is not there is no error and writes nothing.
		{"DeleteRequest again", func() error { return w.DeleteRequest(ctx, job, "in") }, nil},
		{"ReturnQuota of a user without one", func() error { return w.ReturnQuota(ctx, guest, job) }, nil},
		{"CreateRequest to enqueue", func() error {
			return w.CreateRequest(ctx, enqueued, jobs.Request{UID: account, Input: "in", CreatedAt: now})
		}, []string{"requests/enqueued"}},
		{"MarkEnqueued", func() error { return w.MarkEnqueued(ctx, enqueued, now) }, []string{"requests/enqueued"}},
		{"SetPickup", func() error { return w.SetPickup(ctx, enqueued, "hash", now.Add(time.Hour)) }, []string{"requests/enqueued"}},
		// ... and never an enqueued job's.
		{"DeleteRequest of an enqueued job", func() error { return w.DeleteRequest(ctx, enqueued, "in") }, nil},
	} {
		if got := testenv.Touched(t, fs, step.write); !slices.Equal(got, step.want) {
			t.Errorf("%s touched %v, want %v", step.name, got, step.want)
		}
	}
	if got := testenv.Collections(t, fs, job); len(got) != 0 {
		t.Errorf("the undone request is still in %v", got)
	}
}

// TestMoveRequests moves more than one page of a guest's requests, only
// theirs, and moves nothing the second time.
func TestMoveRequests(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	fs := s.Firestore(t)
	ctx := testenv.Ctx(t)
	w := gatewaydb.NewWriter(fs)
	guest, account, other := testenv.Unique("guest"), testenv.Unique("account"), testenv.Unique("other")
	const n = 205 // a page is 200
	bw := fs.BulkWriter(ctx)
	for i := 0; i < n; i++ {
		if _, err := bw.Create(fs.Collection(store.Requests).Doc(testenv.Unique("move")), jobs.Request{UID: guest, Input: "in"}); err != nil {
			t.Fatal(err)
		}
	}
	otherID := testenv.Unique("move")
	if _, err := bw.Create(fs.Collection(store.Requests).Doc(otherID), jobs.Request{UID: other, Input: "in"}); err != nil {
		t.Fatal(err)
	}
	bw.End()
	moved, err := w.MoveRequests(ctx, guest, account)
	if err != nil || moved != n {
		t.Fatalf("MoveRequests = %d, %v; want %d", moved, err, n)
	}
	count := func(uid string) int {
		snaps, err := fs.Collection(store.Requests).Where("uid", "==", uid).Documents(ctx).GetAll()
		if err != nil {
			t.Fatal(err)
		}
		return len(snaps)
	}
	if got := count(guest); got != 0 {
		t.Errorf("%d requests left with the guest", got)
	}
	if got := count(account); got != n {
		t.Errorf("the account has %d requests, want %d", got, n)
	}
	if got := count(other); got != 1 {
		t.Errorf("another user's request moved")
	}
	if moved, err := w.MoveRequests(ctx, guest, account); err != nil || moved != 0 {
		t.Errorf("second MoveRequests = %d, %v; want 0", moved, err)
	}
}

// TestBudgetEdge submits more generated jobs at once than the budget holds:
// exactly as many pass as fit, the reserved spend is theirs, a refused one
// counts nothing, and a returned reservation makes room for one more.
func TestBudgetEdge(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	w := gatewaydb.NewWriter(s.Firestore(t))
	ctx := testenv.Ctx(t)
	event := testenv.Unique("budget")
	const price, fit, tries = 39000, 3, 12
	limit := int64(fit*price + price/2) // room for 3.5 images: the 4th must not pass
	var passed atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, tries)
	for range tries {
		wg.Go(func() {
			ok, err := w.TakeBudget(ctx, event, price, limit)
			if err != nil {
				errs <- err
			}
			if ok {
				passed.Add(1)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := passed.Load(); got != fit {
		t.Fatalf("%d of %d concurrent submissions passed a budget of %d, want %d", got, tries, limit, fit)
	}
	if got, err := w.Reserved(ctx, event); err != nil || got != fit*price {
		t.Fatalf("Reserved = %d, %v; want %d", got, err, fit*price)
	}
	if err := w.ReturnBudget(ctx, event, price); err != nil {
		t.Fatal(err)
	}
	if ok, err := w.TakeBudget(ctx, event, price, limit); err != nil || !ok {
		t.Fatalf("after a return, TakeBudget = %v, %v; want room for one", ok, err)
	}
	if ok, _ := w.TakeBudget(ctx, event, price, limit); ok {
		t.Fatal("a fourth image passed the budget")
	}
	// No limit: counted all the same.
	other := testenv.Unique("budget")
	for range 2 {
		if ok, err := w.TakeBudget(ctx, other, price, 0); err != nil || !ok {
			t.Fatalf("TakeBudget without a limit = %v, %v", ok, err)
		}
	}
	if got, _ := w.Reserved(ctx, other); got != 2*price {
		t.Errorf("Reserved without a limit = %d, want %d", got, 2*price)
	}
	if got, err := w.Reserved(ctx, testenv.Unique("budget")); err != nil || got != 0 {
		t.Errorf("Reserved of a new event = %d, %v", got, err)
	}
}
