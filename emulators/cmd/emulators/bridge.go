package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"cloud.google.com/go/firestore"

	"github.com/tigerstudio/studio/emulators/bridge"
	"github.com/tigerstudio/studio/infra/firestoreevent"
)

func runBridge(ctx context.Context, logger *slog.Logger, args []string, usage io.Writer) error {
	fs := newFlags("bridge", usage)
	project := fs.envString("project", "GCLOUD_PROJECT", "tiger-studio-local", "project id the events name")
	// Without an emulator address the client would watch the real
	// Firestore with whatever credentials lie around: never what we want.
	emulator := fs.requiredString("firestore", "FIRESTORE_EMULATOR_HOST", "Firestore emulator host:port to watch")
	collections := fs.String("collections", "responses,errors", "comma-separated top-level collections to watch")
	target := fs.envString("target", "NOTIFY_URL", "http://127.0.0.1:8091/", "URL the CloudEvents are POSTed to, the Notify function")
	contentType := fs.String("content-type", firestoreevent.ContentProtobuf, "event data content type: application/protobuf or application/json")
	stateFile := fs.String("state", "", "file where the bridge keeps what it saw and has still to deliver, so that after a restart it delivers what it missed; empty: every start takes a new baseline")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := os.Setenv("FIRESTORE_EMULATOR_HOST", *emulator); err != nil {
		return fmt.Errorf("bridge: %w", err)
	}
	var colls []string
	for c := range strings.SplitSeq(*collections, ",") {
		if c = strings.TrimSpace(c); c != "" {
			colls = append(colls, c)
		}
	}
	if len(colls) == 0 {
		return errors.New("bridge: -collections is empty")
	}
	client, err := firestore.NewClient(ctx, *project)
	if err != nil {
		return fmt.Errorf("bridge: firestore client: %w", err)
	}
	defer client.Close()
	b := bridge.New(client, bridge.Config{
		Project:     *project,
		Collections: colls,
		Target:      *target,
		ContentType: *contentType,
		StateFile:   *stateFile,
		Logger:      logger,
	})
	go func() {
		select {
		case <-b.Ready():
			logger.InfoContext(ctx, "bridge ready", slog.String("FIRESTORE_EMULATOR_HOST", *emulator), slog.String("target", *target))
		case <-ctx.Done():
		}
	}()
	return b.Run(ctx)
}
