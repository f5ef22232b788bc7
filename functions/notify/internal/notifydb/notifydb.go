// Package notifydb is Notify's Firestore write scope (DESIGN.md):
// notifications/{jobId}, leased to one delivery at a time, and removing
// push tokens FCM rejected from devices/{uid}. It is internal
// to Notify, so no other component can express a write there.
package notifydb

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"cloud.google.com/go/firestore"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tigerstudio/studio/infra/store"
)

var (
	// ErrAlreadySent means the job's owner was already notified.
	ErrAlreadySent = errors.New("notification already sent")
	// ErrClaimed means another delivery of the same event is sending right
	// now; the caller should let the trigger retry later.
	ErrClaimed = errors.New("notification claimed by another delivery")
)

// ErrClaimLost means the caller's lease expired and another delivery took
// the notification over.
var ErrClaimLost = errors.New("notification claim lost to another delivery")

// Claim is a delivery's lease on a job's notification.
type Claim struct {
	Token string
	// Sent are the channels earlier, failed deliveries already sent.
	Sent []string
	// Attempted are the channels earlier deliveries began to send.
	Attempted []string
}

// Writer is Notify's only way to write Firestore: notifications/{jobId}.
type Writer struct {
	fs *firestore.Client
}

// NewWriter wraps a Firestore client for Notify's writes.
func NewWriter(fs *firestore.Client) *Writer { return &Writer{fs: fs} }

// Claim leases the job's notification to the caller for lease, in a
// transaction. ErrAlreadySent if done, ErrClaimed if another delivery holds
// an unexpired lease. The document expires with its job (expireAt, the
// request's; nil: no TTL).
func (w *Writer) Claim(ctx context.Context, id string, expireAt *time.Time, now time.Time, lease time.Duration) (Claim, error) {
	ref := w.fs.Collection(store.Notifications).Doc(id)
	c := Claim{Token: uuid.NewString()}
	err := w.fs.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		n, err := readNotification(tx, ref)
		if err != nil {
			return err
		}
		if !n.SentAt.IsZero() {
			return ErrAlreadySent
		}
		if n.ClaimedUntil.After(now) {
			return ErrClaimed
		}
		c.Sent = n.Channels
		if c.Sent == nil {
			c.Sent = []string{}
		}
		c.Attempted = n.Attempted
		fields := map[string]any{"channels": c.Sent, "claimedBy": c.Token, "claimedUntil": now.Add(lease).UTC()}
		if expireAt != nil {
			fields["expireAt"] = expireAt.UTC()
		}
		return tx.Set(ref, fields, firestore.MergeAll)
	})
	if err != nil {
		return Claim{}, fmt.Errorf("notifydb.Claim %s: %w", id, err)
	}
	return c, nil
}

func readNotification(tx *firestore.Transaction, ref *firestore.DocumentRef) (store.Notification, error) {
	var n store.Notification
	snap, err := tx.Get(ref)
	switch {
	case status.Code(err) == codes.NotFound:
		return n, nil
	case err != nil:
		return n, err
	}
	if err := snap.DataTo(&n); err != nil {
		return n, fmt.Errorf("decode notification: %w", err)
	}
	return n, nil
}

// holding runs update in a transaction if the claim is still the caller's.
func (w *Writer) holding(ctx context.Context, id, token string, update func(n store.Notification) map[string]any) error {
	ref := w.fs.Collection(store.Notifications).Doc(id)
	return w.fs.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		n, err := readNotification(tx, ref)
		if err != nil {
			return err
		}
		if n.ClaimedBy != token {
			return ErrClaimLost
		}
		return tx.Set(ref, update(n), firestore.MergeAll)
	})
}

// MarkSent records that one channel was sent, so a retry skips it.
func (w *Writer) MarkSent(ctx context.Context, id, token, channel string) error {
	if err := w.record(ctx, id, token, "channels", channel); err != nil {
		return fmt.Errorf("notifydb.MarkSent %s: %w", id, err)
	}
	return nil
}

// Attempt records that channel is about to be sent.
func (w *Writer) Attempt(ctx context.Context, id, token, channel string) error {
	if err := w.record(ctx, id, token, "attempted", channel); err != nil {
		return fmt.Errorf("notifydb.Attempt %s: %w", id, err)
	}
	return nil
}

// record adds channel, once, to the notification's list field (channels
// or attempted), under the lease token holds.
func (w *Writer) record(ctx context.Context, id, token, field, channel string) error {
	return w.holding(ctx, id, token, func(n store.Notification) map[string]any {
		list := n.Channels
		if field == "attempted" {
			list = n.Attempted
		}
		return map[string]any{field: append(slices.DeleteFunc(slices.Clone(list), func(c string) bool { return c == channel }), channel)}
	})
}

// RemoveDeviceTokens removes the given push tokens from devices/{uid}, in
// a transaction, keeping every other token (one the app registered since
// the send included). The only write Notify makes outside notifications/.
func (w *Writer) RemoveDeviceTokens(ctx context.Context, uid string, tokens []string) error {
	if uid == "" || len(tokens) == 0 {
		return nil
	}
	ref := w.fs.Collection(store.Devices).Doc(uid)
	err := w.fs.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		snap, err := tx.Get(ref)
		switch {
		case status.Code(err) == codes.NotFound:
			return nil
		case err != nil:
			return err
		}
		var d store.Device
		if err := snap.DataTo(&d); err != nil {
			return fmt.Errorf("decode devices: %w", err)
		}
		kept := slices.DeleteFunc(slices.Clone(d.Tokens), func(t string) bool { return slices.Contains(tokens, t) })
		if len(kept) == len(d.Tokens) {
			return nil
		}
		return tx.Update(ref, []firestore.Update{{Path: "tokens", Value: kept}})
	})
	if err != nil {
		return fmt.Errorf("notifydb.RemoveDeviceTokens: %w", err)
	}
	return nil
}

// Complete marks the notification as sent and ends the lease.
func (w *Writer) Complete(ctx context.Context, id, token string, now time.Time) error {
	err := w.holding(ctx, id, token, func(store.Notification) map[string]any {
		return map[string]any{"sentAt": now.UTC(), "claimedBy": firestore.Delete, "claimedUntil": firestore.Delete}
	})
	if err != nil {
		return fmt.Errorf("notifydb.Complete %s: %w", id, err)
	}
	return nil
}

// Release ends the lease after a failed send, so the retry need not wait.
func (w *Writer) Release(ctx context.Context, id, token string) error {
	err := w.holding(ctx, id, token, func(store.Notification) map[string]any {
		return map[string]any{"claimedBy": firestore.Delete, "claimedUntil": firestore.Delete}
	})
	if err != nil {
		return fmt.Errorf("notifydb.Release %s: %w", id, err)
	}
	return nil
}
