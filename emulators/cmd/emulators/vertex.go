package main

import (
	"context"
	"io"
	"log/slog"

	"github.com/tigerstudio/studio/emulators/vertex"
)

func runVertex(ctx context.Context, logger *slog.Logger, args []string, usage io.Writer) error {
	fs := newFlags("vertex", usage)
	l := listenFlags(fs, "VERTEX_STANDIN", 9130)
	if err := parse(fs, args); err != nil {
		return err
	}
	addr, err := l.addr()
	if err != nil {
		return err
	}
	return serveHTTP(ctx, "vertex", addr, vertex.New(logger).Handler(), func(addr string) {
		logger.Info("Vertex AI stand-in listening (no model: it posterises and marks the photo)", "addr", addr)
	})
}
