// Package gatewaydb is the Gateway's Firestore write scope (DESIGN.md):
// requests/{jobId} and devices/{uid}. It is internal to the Gateway, so no
// other component can express a write there.
package gatewaydb

import (
	"context"
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
	err := w.fs.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		snap, err := tx.Get(ref)
		if status.Code(err) == codes.NotFound {
			return nil
		}
		if err != nil {
			return err
		}
		if got, _ := snap.DataAt("input"); got != input {
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

// maxDeviceTokens bounds devices/{uid}: the newest tokens are kept.
const maxDeviceTokens = 10

// AddDeviceToken registers a push token for uid, keeping the newest
// maxDeviceTokens (a registration moves an existing token to the end).
func (w *Writer) AddDeviceToken(ctx context.Context, uid, token string) error {
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
		return tx.Set(ref, store.Device{Tokens: tokens, UpdatedAt: time.Now().UTC()})
	})
	if err != nil {
		return fmt.Errorf("gatewaydb.AddDeviceToken: %w", err)
	}
	return nil
}
