package store

import (
	"context"
	"fmt"
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

// DeleteRequest removes requests/{id}, used to undo a request whose message
// could not be enqueued. Deleting a missing document is not an error.
func (w *GatewayWriter) DeleteRequest(ctx context.Context, id string) error {
	if _, err := w.fs.Collection(Requests).Doc(id).Delete(ctx); err != nil {
		return fmt.Errorf("store.DeleteRequest %s: %w", id, err)
	}
	return nil
}

// AddDeviceToken registers a push token for uid, keeping earlier ones.
func (w *GatewayWriter) AddDeviceToken(ctx context.Context, uid, token string) error {
	_, err := w.fs.Collection(Devices).Doc(uid).Set(ctx, map[string]any{
		"tokens":    firestore.ArrayUnion(token),
		"updatedAt": time.Now().UTC(),
	}, firestore.MergeAll)
	if err != nil {
		return fmt.Errorf("store.AddDeviceToken: %w", err)
	}
	return nil
}
