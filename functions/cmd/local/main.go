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
	"github.com/tigerstudio/studio/infra/config"
	"github.com/tigerstudio/studio/infra/logging"
)

// runnerConfig is the runner's own environment; each function reads its own
// Config on first use.
type runnerConfig struct {
	Target string `env:"FUNCTION_TARGET"`
	Host   string `env:"HOST, default=127.0.0.1"`
	Port   string `env:"PORT, default=8080"`
}

func (c *runnerConfig) Validate() error {
	if c.Target != "Gateway" && c.Target != "Notify" {
		return fmt.Errorf("FUNCTION_TARGET=%q: want Gateway or Notify", c.Target)
	}
	return nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	log := logging.New(os.Stderr, slog.LevelInfo)
	err := realMain(ctx)
	stop()
	if err != nil {
		log.Error("functions runner stopped", "err", err)
		os.Exit(1)
	}
}

func realMain(ctx context.Context) error {
	var cfg runnerConfig
	if err := config.Load(ctx, config.FromEnv(), &cfg); err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- funcframework.StartHostPort(cfg.Host, cfg.Port) }()
	select {
	case err := <-errc:
		return fmt.Errorf("funcframework: %w", err)
	case <-ctx.Done():
		return nil
	}
}
