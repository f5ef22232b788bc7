package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"

	"github.com/tigerstudio/studio/emulators/vertex"
)

func runVertex(ctx context.Context, logger *slog.Logger, args []string, usage io.Writer) error {
	fs := flag.NewFlagSet("vertex", flag.ContinueOnError)
	fs.SetOutput(usage)
	host := fs.String("host", envOr("VERTEX_STANDIN_HOST", "127.0.0.1"), "address to bind (env VERTEX_STANDIN_HOST)")
	port := fs.Uint("port", uint(envUint("VERTEX_STANDIN_PORT", 9130)), "port to bind (env VERTEX_STANDIN_PORT)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("vertex: unexpected arguments %q", fs.Args())
	}
	if *port == 0 || *port > 65535 {
		return fmt.Errorf("vertex: port %d out of range", *port)
	}
	addr := net.JoinHostPort(*host, strconv.FormatUint(uint64(*port), 10))
	return serveHTTP(ctx, "vertex", addr, vertex.New(logger).Handler(), func(addr string) {
		logger.Info("Vertex AI stand-in listening (no model: it posterises and marks the photo)", "addr", addr)
	})
}
