package main

import (
	"context"
	"errors"
	"io"
	"log/slog"

	"github.com/tigerstudio/studio/emulators/appcheck"
)

func runAppCheck(ctx context.Context, logger *slog.Logger, args []string, usage io.Writer) error {
	fs := newFlags("appcheck", usage)
	l := listenFlags(fs, "APPCHECK_STANDIN", 9140)
	project := fs.String("project", envOr("GCLOUD_PROJECT", ""), "the project id (env GCLOUD_PROJECT)")
	number := fs.String("project-number", envOr("APP_CHECK_PROJECT_NUMBER", ""), "the project number tokens name (env APP_CHECK_PROJECT_NUMBER)")
	debug := fs.String("debug-token", envOr("APP_CHECK_DEBUG_TOKEN", ""), "the one debug token exchanged for tokens (env APP_CHECK_DEBUG_TOKEN)")
	if err := parse(fs, args); err != nil {
		return err
	}
	addr, err := l.addr()
	if err != nil {
		return err
	}
	if *project == "" || *number == "" || *debug == "" {
		return errors.New("appcheck: -project, -project-number and -debug-token are required")
	}
	srv, err := appcheck.New(*project, *number, *debug)
	if err != nil {
		return err
	}
	return serveHTTP(ctx, "appcheck", addr, srv.Handler(), func(addr string) {
		logger.Info("Firebase App Check STAND-IN listening (debug-token exchange only; attests nothing)", "addr", addr)
	})
}
