package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/tigerstudio/studio/emulators/smtp"
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
