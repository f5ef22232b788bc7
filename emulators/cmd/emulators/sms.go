package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"

	"github.com/tigerstudio/studio/emulators/sms"
)

func runSMS(ctx context.Context, logger *slog.Logger, args []string, usage io.Writer) error {
	fs := newFlags("sms", usage)
	l := listenFlags(fs, "SMS", 2526)
	dir := fs.String("dir", os.Getenv("SMS_DIR"), "directory for the accepted messages, one .json each, created if missing (env SMS_DIR)")
	sid := fs.String("account-sid", envOr("TWILIO_ACCOUNT_SID", ""), "the account SID the stand-in accepts (env TWILIO_ACCOUNT_SID)")
	token := fs.String("auth-token", envOr("TWILIO_AUTH_TOKEN", ""), "the auth token the stand-in accepts (env TWILIO_AUTH_TOKEN)")
	if err := parse(fs, args); err != nil {
		return err
	}
	addr, err := l.addr()
	if err != nil {
		return err
	}
	if *dir == "" || *sid == "" || *token == "" {
		return errors.New("sms: -dir (SMS_DIR), -account-sid and -auth-token are required")
	}
	srv, err := sms.New(*dir, *sid, *token, logger)
	if err != nil {
		return err
	}
	return srv.ListenAndServe(ctx, addr)
}
