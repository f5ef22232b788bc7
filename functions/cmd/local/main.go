// Command local serves the functions of this repository on the functions
// framework, the way Cloud Functions runs them: FUNCTION_TARGET picks the
// function, PORT the port.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"

	_ "github.com/tigerstudio/studio/functions"
	"github.com/tigerstudio/studio/infra/logging"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	log := logging.New(os.Stderr, slog.LevelInfo)
	if err := realMain(ctx); err != nil {
		log.Error("functions runner stopped", "err", err)
		stop()
		os.Exit(1)
	}
}

func realMain(ctx context.Context) error {
	if os.Getenv("FUNCTION_TARGET") == "" {
		return fmt.Errorf("FUNCTION_TARGET is not set (Gateway or Notify)")
	}
	host := os.Getenv("HOST")
	if host == "" {
		host = "127.0.0.1"
	}
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	errc := make(chan error, 1)
	go func() { errc <- funcframework.StartHostPort(host, port) }()
	select {
	case err := <-errc:
		return fmt.Errorf("funcframework: %w", err)
	case <-ctx.Done():
		return nil
	}
}
