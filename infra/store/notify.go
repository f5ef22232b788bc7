package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"cloud.google.com/go/firestore"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

var (
	// ErrAlreadySent means the job's owner was already notified.
	ErrAlreadySent = errors.New("notification already sent")
	// ErrClaimed means another delivery of the same event is sending right
	// now; the caller should let the trigger retry later.
	ErrClaimed = errors.New("notification claimed by another delivery")
)

// Notification is notifications/{jobId}: the channels sent so far and, once
// all are sent, when. ClaimedUntil leases the job to one delivery at a time.
type Notification struct {
	Channels     []string  `firestore:"channels"`
	SentAt       time.Time `firestore:"sentAt,omitempty"`
	ClaimedUntil time.Time `firestore:"claimedUntil,omitempty"`
}

// NotifyWriter is Notify's only way to write Firestore: notifications/{jobId}.
type NotifyWriter struct {
	fs *firestore.Client
}

// NewNotifyWriter wraps a Firestore client for Notify's writes.
func NewNotifyWriter(fs *firestore.Client) *NotifyWriter { return &NotifyWriter{fs: fs} }

// Claim leases the job's notification to the caller for lease, in a
// transaction, and returns the channels already sent by earlier, failed
// deliveries. ErrAlreadySent if done, ErrClaimed if another delivery holds
// an unexpired lease.
func (w *NotifyWriter) Claim(ctx context.Context, id string, now time.Time, lease time.Duration) ([]string, error) {
	ref := w.fs.Collection(Notifications).Doc(id)
	var sent []string
	err := w.fs.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		snap, err := tx.Get(ref)
		var n Notification
		switch {
		case err == nil:
			if err := snap.DataTo(&n); err != nil {
				return fmt.Errorf("decode notification: %w", err)
			}
		case status.Code(err) == codes.NotFound:
		default:
			return err
		}
		if !n.SentAt.IsZero() {
			return ErrAlreadySent
		}
		if n.ClaimedUntil.After(now) {
			return ErrClaimed
		}
		sent = n.Channels
		if sent == nil {
			sent = []string{}
		}
		return tx.Set(ref, map[string]any{"channels": sent, "claimedUntil": now.Add(lease).UTC()}, firestore.MergeAll)
	})
	if err != nil {
		return nil, fmt.Errorf("store.Claim %s: %w", id, err)
	}
	return sent, nil
}

// MarkSent records that one channel was sent, so a retry skips it.
func (w *NotifyWriter) MarkSent(ctx context.Context, id, channel string) error {
	_, err := w.fs.Collection(Notifications).Doc(id).Update(ctx, []firestore.Update{
		{Path: "channels", Value: firestore.ArrayUnion(channel)},
	})
	if err != nil {
		return fmt.Errorf("store.MarkSent %s: %w", id, err)
	}
	return nil
}

// Complete marks the notification as sent and ends the lease.
func (w *NotifyWriter) Complete(ctx context.Context, id string, now time.Time) error {
	_, err := w.fs.Collection(Notifications).Doc(id).Set(ctx, map[string]any{
		"sentAt": now.UTC(), "claimedUntil": firestore.Delete,
	}, firestore.MergeAll)
	if err != nil {
		return fmt.Errorf("store.Complete %s: %w", id, err)
	}
	return nil
}

// Release ends the lease after a failed send, so the retry need not wait.
func (w *NotifyWriter) Release(ctx context.Context, id string) error {
	_, err := w.fs.Collection(Notifications).Doc(id).Update(ctx, []firestore.Update{
		{Path: "claimedUntil", Value: firestore.Delete},
	})
	if err != nil {
		return fmt.Errorf("store.Release %s: %w", id, err)
	}
	return nil
}
