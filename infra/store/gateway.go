package store

import (
	"context"
	"fmt"
	"slices"
	"time"

	"cloud.google.com/go/firestore"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tigerstudio/studio/infra/jobs"
)

// GatewayWriter is the Gateway's only way to write Firestore: requests/{jobId}
// and devices/{uid}.
type GatewayWriter struct {
	fs *firestore.Client
}

// NewGatewayWriter wraps a Firestore client for the Gateway's writes.
func NewGatewayWriter(fs *firestore.Client) *GatewayWriter { return &GatewayWriter{fs: fs} }

// CreateRequest writes requests/{id}; ErrAlreadyExists if it is there.
func (w *GatewayWriter) CreateRequest(ctx context.Context, id string, req jobs.Request) error {
	_, err := w.fs.Collection(Requests).Doc(id).Create(ctx, req)
	if status.Code(err) == codes.AlreadyExists {
		return fmt.Errorf("store.CreateRequest %s: %w", id, ErrAlreadyExists)
	}
	if err != nil {
		return fmt.Errorf("store.CreateRequest %s: %w", id, err)
	}
	return nil
}

// DeleteRequest removes requests/{id} if it is the request whose input is
// input, to undo a request whose message could not be enqueued (or whose
// write failed ambiguously) without touching a concurrent request's
// document. Deleting a missing document is not an error.
func (w *GatewayWriter) DeleteRequest(ctx context.Context, id, input string) error {
	ref := w.fs.Collection(Requests).Doc(id)
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
		return fmt.Errorf("store.DeleteRequest %s: %w", id, err)
	}
	return nil
}

// MarkEnqueued records that the job's message was confirmed by the broker.
func (w *GatewayWriter) MarkEnqueued(ctx context.Context, id string, at time.Time) error {
	_, err := w.fs.Collection(Requests).Doc(id).Update(ctx, []firestore.Update{{Path: "enqueuedAt", Value: at.UTC()}})
	if err != nil {
		return fmt.Errorf("store.MarkEnqueued %s: %w", id, err)
	}
	return nil
}

// maxDeviceTokens bounds devices/{uid}: the newest tokens are kept.
const maxDeviceTokens = 10

// AddDeviceToken registers a push token for uid, keeping the newest
// maxDeviceTokens (a registration moves an existing token to the end).
func (w *GatewayWriter) AddDeviceToken(ctx context.Context, uid, token string) error {
	ref := w.fs.Collection(Devices).Doc(uid)
	err := w.fs.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		var d Device
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
		return tx.Set(ref, Device{Tokens: tokens, UpdatedAt: time.Now().UTC()})
	})
	if err != nil {
		return fmt.Errorf("store.AddDeviceToken: %w", err)
	}
	return nil
}
