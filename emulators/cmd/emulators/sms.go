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

	"github.com/tigerstudio/studio/emulators/sms"
)

func runSMS(ctx context.Context, logger *slog.Logger, args []string, usage io.Writer) error {
	fs := flag.NewFlagSet("sms", flag.ContinueOnError)
	fs.SetOutput(usage)
	host := fs.String("host", envOr("SMS_HOST", "127.0.0.1"), "address to bind (env SMS_HOST)")
	port := fs.Uint("port", uint(envUint("SMS_PORT", 2526)), "port to bind (env SMS_PORT)")
	dir := fs.String("dir", os.Getenv("SMS_DIR"), "directory for the accepted messages, one .json each, created if missing (env SMS_DIR)")
	sid := fs.String("account-sid", envOr("TWILIO_ACCOUNT_SID", ""), "the account SID the stand-in accepts (env TWILIO_ACCOUNT_SID)")
	token := fs.String("auth-token", envOr("TWILIO_AUTH_TOKEN", ""), "the auth token the stand-in accepts (env TWILIO_AUTH_TOKEN)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("sms: unexpected arguments %q", fs.Args())
	}
	if *port == 0 || *port > 65535 {
		return fmt.Errorf("sms: port %d out of range", *port)
	}
	if *dir == "" || *sid == "" || *token == "" {
		return errors.New("sms: -dir (SMS_DIR), -account-sid and -auth-token are required")
	}
	srv, err := sms.New(*dir, *sid, *token, logger)
	if err != nil {
		return err
	}
	return srv.ListenAndServe(ctx, net.JoinHostPort(*host, strconv.FormatUint(uint64(*port), 10)))
}
