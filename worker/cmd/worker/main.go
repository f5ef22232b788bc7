// Command worker is the Cloud Run GPU worker: it consumes the job queue and
// generates. Configuration: worker.Config (README.md).
package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/tigerstudio/studio/infra/config"
	"github.com/tigerstudio/studio/infra/logging"
	"github.com/tigerstudio/studio/worker"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := realMain(ctx)
	stop()
	if err != nil {
		logging.New(os.Stdout, slog.LevelInfo).Error("worker stopped", "err", err)
		os.Exit(1)
	}
}

func realMain(ctx context.Context) error {
	var cfg worker.Config
	if err := config.Load(ctx, config.FromEnv(), &cfg); err != nil {
		return err
	}
	level, _ := cfg.Level() // checked by Validate
	return worker.Run(ctx, &cfg, logging.New(os.Stdout, level))
}
