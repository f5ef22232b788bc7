package main

import (
	"context"
	"io"
	"log/slog"

	"github.com/tigerstudio/studio/emulators/appcheck"
)

func runAppCheck(ctx context.Context, logger *slog.Logger, args []string, usage io.Writer) error {
	fs := newFlags("appcheck", usage)
	l := listenFlags(fs, "APPCHECK_STANDIN", 9140)
	project := fs.requiredString("project", "GCLOUD_PROJECT", "the project id")
	number := fs.requiredString("project-number", "APP_CHECK_PROJECT_NUMBER", "the project number tokens name")
	debug := fs.requiredString("debug-token", "APP_CHECK_DEBUG_TOKEN", "the one debug token exchanged for tokens")
	addr, err := l.parse(args)
	if err != nil {
		return err
	}
	srv, err := appcheck.New(*project, *number, *debug)
	if err != nil {
		return err
	}
	return serveHTTP(ctx, "appcheck", addr, srv.Handler(), func(addr string) {
		logger.Info("Firebase App Check STAND-IN listening (debug-token exchange only; attests nothing)", "addr", addr)
	})
}
