package gatewaydb_test

import (
	"slices"
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
	want := []string{"AddDeviceToken", "CreateRequest", "DeleteRequest", "MarkEnqueued", "MoveRequests", "ReturnQuota", "TakeQuota"}
	if got := testenv.Methods(&gatewaydb.Writer{}); !slices.Equal(got, want) {
		t.Errorf("gatewaydb.Writer methods = %v, want %v", got, want)
	}
}

// TestWriteScopeOnEmulator runs every write method and checks which
// collections gained a document: requests and devices only.
func TestWriteScopeOnEmulator(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	fs := s.Firestore(t)
	ctx := testenv.Ctx(t)
	w := gatewaydb.NewWriter(fs)
	id, now := testenv.Unique("scope"), time.Now()
	if err := w.CreateRequest(ctx, id, jobs.Request{UID: id, Input: "in", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if moved, err := w.MoveRequests(ctx, id, id+"-account"); err != nil || moved != 1 {
		t.Fatalf("MoveRequests = %d, %v", moved, err)
	}
	if ok, _, err := w.TakeQuota(ctx, id, id, now, 1, time.Minute); err != nil || !ok {
		t.Fatalf("TakeQuota = %v, %v", ok, err)
	}
	if err := w.ReturnQuota(ctx, id, id); err != nil {
		t.Fatal(err)
	}
	// A uid equal to the job id, to see where the device lands.
	if err := w.AddDeviceToken(ctx, id, "token"); err != nil {
		t.Fatal(err)
	}
	if got, want := testenv.Collections(t, fs, id), []string{store.Requests, store.Devices, store.Quotas}; !slices.Equal(got, want) {
		t.Errorf("the Gateway's writer wrote %v, want only %v", got, want)
	}
	// Undo removes only the request whose input it names, and never an
	// enqueued one.
	if err := w.DeleteRequest(ctx, id, "another input"); err != nil {
		t.Fatal(err)
	}
	if got := testenv.Collections(t, fs, id); !slices.Contains(got, store.Requests) {
		t.Errorf("DeleteRequest with another input removed the request")
	}
	if err := w.DeleteRequest(ctx, id, "in"); err != nil {
		t.Fatal(err)
	}
	if got := testenv.Collections(t, fs, id); slices.Contains(got, store.Requests) {
		t.Errorf("DeleteRequest left the request")
	}
	enqueued := testenv.Unique("scope")
	if err := w.CreateRequest(ctx, enqueued, jobs.Request{UID: "u", Input: "in", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := w.MarkEnqueued(ctx, enqueued, now); err != nil {
		t.Fatal(err)
	}
	if err := w.DeleteRequest(ctx, enqueued, "in"); err != nil {
		t.Fatal(err)
	}
	if got := testenv.Collections(t, fs, enqueued); !slices.Contains(got, store.Requests) {
		t.Errorf("DeleteRequest removed an enqueued job's request")
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
