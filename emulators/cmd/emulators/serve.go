// The subcommands that serve one protocol on -host and -port (or their
// environment variables): the SMTP sink and the stand-ins of cloud APIs.

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/tigerstudio/studio/emulators/appcheck"
	"github.com/tigerstudio/studio/emulators/sms"
	"github.com/tigerstudio/studio/emulators/smtp"
	"github.com/tigerstudio/studio/emulators/vertex"
)

func runSMTP(ctx context.Context, logger *slog.Logger, args []string, usage io.Writer) error {
	fs := newFlags("smtp", usage)
	l := listenFlags(fs, "SMTP", 2525)
	dir := fs.requiredString("dir", "MAIL_DIR", "directory for the received .eml files, created if missing")
	maxSize := fs.Int64("max-size", smtp.DefaultMaxMessageBytes, "largest message accepted, in bytes")
	addr, err := l.parse(args)
	if err != nil {
		return err
	}
	if *maxSize <= 0 {
		return fmt.Errorf("smtp: -max-size %d must be positive", *maxSize)
	}
	srv := smtp.New(*dir, logger)
	srv.MaxMessageBytes = *maxSize
	return srv.ListenAndServe(ctx, addr)
}

func runSMS(ctx context.Context, logger *slog.Logger, args []string, usage io.Writer) error {
	fs := newFlags("sms", usage)
	l := listenFlags(fs, "SMS", 2526)
	dir := fs.requiredString("dir", "SMS_DIR", "directory for the accepted messages, one .json each, created if missing")
	sid := fs.requiredString("account-sid", "TWILIO_ACCOUNT_SID", "the account SID the stand-in accepts")
	token := fs.requiredString("auth-token", "TWILIO_AUTH_TOKEN", "the auth token the stand-in accepts")
	addr, err := l.parse(args)
	if err != nil {
		return err
	}
	srv, err := sms.New(*dir, *sid, *token, logger)
	if err != nil {
		return err
	}
	return srv.ListenAndServe(ctx, addr)
}

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

// serveHTTP serves h on addr until ctx ends, then shuts down gracefully.
func serveHTTP(ctx context.Context, name, addr string, h http.Handler, listening func(addr string)) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	listening(ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("%s: %w", name, err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("%s: shutdown: %w", name, err)
	}
	return nil
}
