package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"

	"github.com/tigerstudio/studio/emulators/appcheck"
)

func runAppCheck(ctx context.Context, logger *slog.Logger, args []string, usage io.Writer) error {
	fs := flag.NewFlagSet("appcheck", flag.ContinueOnError)
	fs.SetOutput(usage)
	host := fs.String("host", envOr("APPCHECK_STANDIN_HOST", "127.0.0.1"), "address to bind (env APPCHECK_STANDIN_HOST)")
	port := fs.Uint("port", uint(envUint("APPCHECK_STANDIN_PORT", 9140)), "port to bind (env APPCHECK_STANDIN_PORT)")
	project := fs.String("project", envOr("GCLOUD_PROJECT", ""), "the project id (env GCLOUD_PROJECT)")
	number := fs.String("project-number", envOr("APP_CHECK_PROJECT_NUMBER", ""), "the project number tokens name (env APP_CHECK_PROJECT_NUMBER)")
	debug := fs.String("debug-token", envOr("APP_CHECK_DEBUG_TOKEN", ""), "the one debug token exchanged for tokens (env APP_CHECK_DEBUG_TOKEN)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("appcheck: unexpected arguments %q", fs.Args())
	}
	if *port == 0 || *port > 65535 {
		return fmt.Errorf("appcheck: port %d out of range", *port)
	}
	if *project == "" || *number == "" || *debug == "" {
		return errors.New("appcheck: -project, -project-number and -debug-token are required")
	}
	srv, err := appcheck.New(*project, *number, *debug)
	if err != nil {
		return err
	}
	return serveHTTP(ctx, "appcheck", net.JoinHostPort(*host, strconv.FormatUint(uint64(*port), 10)), srv.Handler(), func(addr string) {
		logger.Info("Firebase App Check STAND-IN listening (debug-token exchange only; attests nothing)", "addr", addr)
	})
}
