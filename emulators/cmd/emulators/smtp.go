package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/tigerstudio/studio/emulators/smtp"
)

func runSMTP(ctx context.Context, logger *slog.Logger, args []string, usage io.Writer) error {
	fs := newFlags("smtp", usage)
	l := listenFlags(fs, "SMTP", 2525)
	dir := fs.String("dir", os.Getenv("MAIL_DIR"), "directory for the received .eml files, created if missing (env MAIL_DIR)")
	maxSize := fs.Int64("max-size", smtp.DefaultMaxMessageBytes, "largest message accepted, in bytes")
	if err := parse(fs, args); err != nil {
		return err
	}
	addr, err := l.addr()
	if err != nil {
		return err
	}
	if *dir == "" {
		return errors.New("smtp: -dir (or MAIL_DIR) is required")
	}
	if *maxSize <= 0 {
		return fmt.Errorf("smtp: -max-size %d must be positive", *maxSize)
	}
	srv := smtp.New(*dir, logger)
	srv.MaxMessageBytes = *maxSize
	return srv.ListenAndServe(ctx, addr)
}
