package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"

	"github.com/tigerstudio/studio/emulators/smtp"
)

func runSMTP(ctx context.Context, logger *slog.Logger, args []string, usage io.Writer) error {
	fs := flag.NewFlagSet("smtp", flag.ContinueOnError)
	fs.SetOutput(usage)
	host := fs.String("host", envOr("SMTP_HOST", "127.0.0.1"), "address to bind (env SMTP_HOST)")
	port := fs.Uint("port", uint(envUint("SMTP_PORT", 2525)), "port to bind (env SMTP_PORT)")
	dir := fs.String("dir", os.Getenv("MAIL_DIR"), "directory for the received .eml files, created if missing (env MAIL_DIR)")
	maxSize := fs.Int64("max-size", smtp.DefaultMaxMessageBytes, "largest message accepted, in bytes")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("smtp: unexpected arguments %q", fs.Args())
	}
	if *port == 0 || *port > 65535 {
		return fmt.Errorf("smtp: port %d out of range", *port)
	}
	if *dir == "" {
		return errors.New("smtp: -dir (or MAIL_DIR) is required")
	}
	if *maxSize <= 0 {
		return fmt.Errorf("smtp: -max-size %d must be positive", *maxSize)
	}
	srv := smtp.New(*dir, logger)
	srv.MaxMessageBytes = *maxSize
	return srv.ListenAndServe(ctx, net.JoinHostPort(*host, strconv.FormatUint(uint64(*port), 10)))
}
