// Package gatewaydb is the Gateway's Firestore write scope (DESIGN.md):
// requests/{jobId} and devices/{uid}. It is internal to the Gateway, so no
// other component can express a write there.
package gatewaydb

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"cloud.google.com/go/firestore"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tigerstudio/studio/infra/jobs"
	"github.com/tigerstudio/studio/infra/store"
)

// Writer is the Gateway's only way to write Firestore: requests/{jobId}
// and devices/{uid}.
type Writer struct {
	fs *firestore.Client
}

// NewWriter wraps a Firestore client for the Gateway's writes.
func NewWriter(fs *firestore.Client) *Writer { return &Writer{fs: fs} }

// CreateRequest writes requests/{id}; store.ErrAlreadyExists if it is there.
func (w *Writer) CreateRequest(ctx context.Context, id string, req jobs.Request) error {
	_, err := w.fs.Collection(store.Requests).Doc(id).Create(ctx, req)
	if status.Code(err) == codes.AlreadyExists {
		return fmt.Errorf("gatewaydb.CreateRequest %s: %w", id, store.ErrAlreadyExists)
	}
	if err != nil {
		return fmt.Errorf("gatewaydb.CreateRequest %s: %w", id, err)
	}
	return nil
}

// DeleteRequest removes requests/{id} if it is the request whose input is
// input, to undo a request whose message could not be enqueued (or whose
// write failed ambiguously) without touching a concurrent request's
// document. Deleting a missing document is not an error.
func (w *Writer) DeleteRequest(ctx context.Context, id, input string) error {
	ref := w.fs.Collection(store.Requests).Doc(id)
	err := w.ifExists(ctx, ref, func(tx *firestore.Transaction, snap *firestore.DocumentSnapshot) error {
		// Never a concurrent request's document, nor an enqueued job's.
		if got, _ := snap.DataAt("input"); got != input {
			return nil
		}
		if at, _ := snap.DataAt("enqueuedAt"); at != nil {
			return nil
		}
		return tx.Delete(ref)
	})
	if err != nil {
		return fmt.Errorf("gatewaydb.DeleteRequest %s: %w", id, err)
	}
	return nil
}

// MarkEnqueued records that the job's message was confirmed by the broker.
func (w *Writer) MarkEnqueued(ctx context.Context, id string, at time.Time) error {
	_, err := w.fs.Collection(store.Requests).Doc(id).Update(ctx, []firestore.Update{{Path: "enqueuedAt", Value: at.UTC()}})
	if err != nil {
		return fmt.Errorf("gatewaydb.MarkEnqueued %s: %w", id, err)
	}
	return nil
}

// SetPickup stores a new pick-up code's hash and expiry on requests/{id},
// replacing the old code; store.ErrNotFound when there is no request.
func (w *Writer) SetPickup(ctx context.Context, id, hash string, expires time.Time) error {
	_, err := w.fs.Collection(store.Requests).Doc(id).Update(ctx, []firestore.Update{
		{Path: "pickupHash", Value: hash}, {Path: "pickupExpiresAt", Value: expires.UTC()},
	})
	if status.Code(err) == codes.NotFound {
		return fmt.Errorf("gatewaydb.SetPickup %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("gatewaydb.SetPickup %s: %w", id, err)
	}
	return nil
}

// maxDeviceTokens bounds devices/{uid}: the newest tokens are kept.
const maxDeviceTokens = 10

// AddDeviceToken registers a push token for uid, keeping the newest
// maxDeviceTokens (a registration moves an existing token to the end). The
// document expires (TTL) at expireAt, the retention after the latest
// registration.
func (w *Writer) AddDeviceToken(ctx context.Context, uid, token string, expireAt time.Time) error {
	ref := w.fs.Collection(store.Devices).Doc(uid)
	err := w.fs.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		var d store.Device
		snap, err := tx.Get(ref)
		switch {
		case err == nil:
			if err := snap.DataTo(&d); err != nil {
				return fmt.Errorf("decode devices: %w", err)
			}
		case status.Code(err) != codes.NotFound:
			return err
		}
		tokens := slices.DeleteFunc(d.Tokens, func(t string) bool { return t == token })
		tokens = append(tokens, token)
		if len(tokens) > maxDeviceTokens {
			tokens = tokens[len(tokens)-maxDeviceTokens:]
		}
		return tx.Set(ref, store.Device{Tokens: tokens, UpdatedAt: time.Now().UTC(), ExpireAt: expireAt.UTC()})
	})
	if err != nil {
		return fmt.Errorf("gatewaydb.AddDeviceToken: %w", err)
	}
	return nil
}

// quota is quotas/{uid}: the user's submissions in the current window.
type quota struct {
	Entries []quotaEntry `firestore:"entries"`
}

type quotaEntry struct {
	Job string    `firestore:"job"`
	At  time.Time `firestore:"at"`
}

// maxQuotaTries bounds the compare-and-swap rounds of TakeQuota; each lost
// round means another submission of the same user got its turn.
const maxQuotaTries = 64

// TakeQuota counts job against uid's limit of max submissions per window
// and reports whether it fits. The check and the count are one atomic step
// (a write conditional on the document being unchanged since it was read),
// so concurrent submissions cannot all pass. When it does not fit, retry
// says when the oldest counted submission leaves the window.
func (w *Writer) TakeQuota(ctx context.Context, uid, job string, now time.Time, max int, window time.Duration) (ok bool, retry time.Duration, err error) {
	ref := w.fs.Collection(store.Quotas).Doc(uid)
	for try := 0; try < maxQuotaTries; try++ {
		snap, err := ref.Get(ctx)
		exists := err == nil
		if err != nil && status.Code(err) != codes.NotFound {
			return false, 0, fmt.Errorf("gatewaydb.TakeQuota: %w", err)
		}
		var q quota
		if exists {
			if err := snap.DataTo(&q); err != nil {
				return false, 0, fmt.Errorf("gatewaydb.TakeQuota: decode: %w", err)
			}
		}
		live := slices.DeleteFunc(q.Entries, func(e quotaEntry) bool { return !e.At.After(now.Add(-window)) })
		if len(live) >= max {
			return false, live[len(live)-max].At.Add(window).Sub(now), nil
		}
		live = append(live, quotaEntry{Job: job, At: now.UTC()})
		if exists {
			_, err = ref.Update(ctx, []firestore.Update{{Path: "entries", Value: live}}, firestore.LastUpdateTime(snap.UpdateTime))
		} else {
			_, err = ref.Create(ctx, quota{Entries: live})
		}
		switch status.Code(err) {
		case codes.OK:
			return true, 0, nil
		case codes.FailedPrecondition, codes.AlreadyExists, codes.Aborted:
			continue // another submission got there first: read again
		}
		return false, 0, fmt.Errorf("gatewaydb.TakeQuota: %w", err)
	}
	return false, 0, fmt.Errorf("gatewaydb.TakeQuota: %w after %d tries", ErrContended, maxQuotaTries)
}

// budget is budgets/{event}: what the event's accepted generated jobs cost
// at list price, in millionths of a US dollar (integers: sums of prices
// must not drift).
type budget struct {
	ReservedMicros int64 `firestore:"reservedMicros"`
	Jobs           int64 `firestore:"jobs"`
}

// TakeBudget reserves micros of event's budget for one generated job and
// reports whether it fits under limit (0: no limit, the spend is counted
// all the same). The check and the count are one atomic step, as in
// TakeQuota, so two submissions at the budget's edge cannot both pass.
func (w *Writer) TakeBudget(ctx context.Context, event string, micros, limit int64) (bool, error) {
	ref := w.fs.Collection(store.Budgets).Doc(event)
	for try := 0; try < maxQuotaTries; try++ {
		snap, err := ref.Get(ctx)
		exists := err == nil
		if err != nil && status.Code(err) != codes.NotFound {
			return false, fmt.Errorf("gatewaydb.TakeBudget: %w", err)
		}
		var b budget
		if exists {
			if err := snap.DataTo(&b); err != nil {
				return false, fmt.Errorf("gatewaydb.TakeBudget: decode: %w", err)
			}
		}
		if limit > 0 && b.ReservedMicros+micros > limit {
			return false, nil
		}
		b.ReservedMicros += micros
		b.Jobs++
		if exists {
			_, err = ref.Update(ctx, []firestore.Update{{Path: "reservedMicros", Value: b.ReservedMicros}, {Path: "jobs", Value: b.Jobs}}, firestore.LastUpdateTime(snap.UpdateTime))
		} else {
			_, err = ref.Create(ctx, b)
		}
		switch status.Code(err) {
		case codes.OK:
			return true, nil
		case codes.FailedPrecondition, codes.AlreadyExists, codes.Aborted:
			continue // another submission got there first: read again
		}
		return false, fmt.Errorf("gatewaydb.TakeBudget: %w", err)
	}
	return false, fmt.Errorf("gatewaydb.TakeBudget: %w after %d tries", ErrContended, maxQuotaTries)
}

// ReturnBudget gives back what TakeBudget reserved for a job that was
// never enqueued. The caller returns a reservation once.
func (w *Writer) ReturnBudget(ctx context.Context, event string, micros int64) error {
	_, err := w.fs.Collection(store.Budgets).Doc(event).Update(ctx, []firestore.Update{
		{Path: "reservedMicros", Value: firestore.Increment(-micros)},
		{Path: "jobs", Value: firestore.Increment(-1)},
	})
	if err != nil {
		return fmt.Errorf("gatewaydb.ReturnBudget: %w", err)
	}
	return nil
}

// Reserved reads what event's accepted generated jobs cost so far, in
// millionths of a dollar (0 before the first).
func (w *Writer) Reserved(ctx context.Context, event string) (int64, error) {
	snap, err := w.fs.Collection(store.Budgets).Doc(event).Get(ctx)
	if status.Code(err) == codes.NotFound {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("gatewaydb.Reserved: %w", err)
	}
	var b budget
	if err := snap.DataTo(&b); err != nil {
		return 0, fmt.Errorf("gatewaydb.Reserved: decode: %w", err)
	}
	return b.ReservedMicros, nil
}

// ErrContended means too many concurrent writers kept changing a document.
var ErrContended = errors.New("document contended")

// ReturnQuota gives back the turn job took, when the job was never
// enqueued.
func (w *Writer) ReturnQuota(ctx context.Context, uid, job string) error {
	ref := w.fs.Collection(store.Quotas).Doc(uid)
	err := w.ifExists(ctx, ref, func(tx *firestore.Transaction, snap *firestore.DocumentSnapshot) error {
		var q quota
		if err := snap.DataTo(&q); err != nil {
			return err
		}
		kept := slices.DeleteFunc(q.Entries, func(e quotaEntry) bool { return e.Job == job })
		return tx.Update(ref, []firestore.Update{{Path: "entries", Value: kept}})
	})
	if err != nil {
		return fmt.Errorf("gatewaydb.ReturnQuota: %w", err)
	}
	return nil
}

// ifExists runs change in a transaction on ref's document as read in it;
// a missing document is left missing (undoing what never happened is no
// error).
func (w *Writer) ifExists(ctx context.Context, ref *firestore.DocumentRef, change func(*firestore.Transaction, *firestore.DocumentSnapshot) error) error {
	return w.fs.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		snap, err := tx.Get(ref)
		if status.Code(err) == codes.NotFound {
			return nil
		}
		if err != nil {
			return err
		}
		return change(tx, snap)
	})
}

// movePage bounds one transaction of MoveRequests (Firestore allows 500
// writes per transaction).
const movePage = 200

// MoveRequests gives every request document of uid from to uid to and
// returns how many moved. A page of them is found outside a transaction,
// then moved in one that reads those documents again and moves those still
// from's: a transaction that ran the query would lock the query's whole
// range (the emulator, the whole collection) while it writes, holding up
// every other job's creation. A request is never half moved; a failure
// midway leaves the rest with from, and calling again moves them.
func (w *Writer) MoveRequests(ctx context.Context, from, to string) (int, error) {
	q := w.fs.Collection(store.Requests).Where("uid", "==", from).Limit(movePage)
	moved := 0
	for {
		found, err := q.Documents(ctx).GetAll()
		if err != nil {
			return moved, fmt.Errorf("gatewaydb.MoveRequests: find: %w", err)
		}
		if len(found) == 0 {
			return moved, nil
		}
		refs := make([]*firestore.DocumentRef, len(found))
		for i, s := range found {
			refs[i] = s.Ref
		}
		n := 0
		err = w.fs.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
			n = 0
			snaps, err := tx.GetAll(refs)
			if err != nil {
				return err
			}
			for _, s := range snaps {
				if uid, _ := s.DataAt("uid"); !s.Exists() || uid != from {
					continue
				}
				if err := tx.Update(s.Ref, []firestore.Update{{Path: "uid", Value: to}}); err != nil {
					return err
				}
				n++
			}
			return nil
		})
		if err != nil {
			return moved, fmt.Errorf("gatewaydb.MoveRequests: %w", err)
		}
		moved += n
		if len(found) < movePage {
			return moved, nil
		}
	}
}
