package main

import (
	"context"
	"io"
	"log/slog"

	"github.com/tigerstudio/studio/emulators/vertex"
)

func runVertex(ctx context.Context, logger *slog.Logger, args []string, usage io.Writer) error {
	l := listenFlags(newFlags("vertex", usage), "VERTEX_STANDIN", 9130)
	addr, err := l.parse(args)
	if err != nil {
		return err
	}
	return serveHTTP(ctx, "vertex", addr, vertex.New(logger).Handler(), func(addr string) {
		logger.Info("Vertex AI stand-in listening (no model: it posterises and marks the photo)", "addr", addr)
	})
}
