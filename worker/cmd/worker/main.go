// Command worker is the Cloud Run GPU worker: it consumes the job queue and
// generates. Configuration: worker.Config (README.md).
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/tigerstudio/studio/infra/config"
	"github.com/tigerstudio/studio/infra/entry"
	"github.com/tigerstudio/studio/infra/logging"
	"github.com/tigerstudio/studio/worker"
)

func main() {
	entry.Main(realMain, func(err error) {
		logging.New(os.Stdout, slog.LevelInfo).Error("worker stopped", "err", err)
	})
}

func realMain(ctx context.Context) error {
	var cfg worker.Config
	if err := config.Load(ctx, config.FromEnv(), &cfg); err != nil {
		return err
	}
	level, _ := cfg.Level() // checked by Validate
	return worker.Run(ctx, &cfg, logging.New(os.Stdout, level))
}
