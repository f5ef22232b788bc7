// Package clients opens the Google Cloud clients every component needs. With
// FIRESTORE_EMULATOR_HOST and STORAGE_EMULATOR_HOST set, the SDKs talk to
// the local emulators instead.
package clients

import (
	"context"
	"errors"
	"fmt"

	"cloud.google.com/go/firestore"
	"cloud.google.com/go/storage"
)

// Clients are a component's Firestore and Cloud Storage clients.
type Clients struct {
	Firestore *firestore.Client
	Storage   *storage.Client
}

// Open connects both clients for the project.
func Open(ctx context.Context, project string) (*Clients, error) {
	fs, err := firestore.NewClient(ctx, project)
	if err != nil {
		return nil, fmt.Errorf("clients.Open: firestore: %w", err)
	}
	gcs, err := storage.NewClient(ctx)
	if err != nil {
		fs.Close()
		return nil, fmt.Errorf("clients.Open: storage: %w", err)
	}
	return &Clients{Firestore: fs, Storage: gcs}, nil
}

// Close closes both clients.
func (c *Clients) Close() error {
	return errors.Join(c.Storage.Close(), c.Firestore.Close())
}
