package main

import (
	"context"
	"io"
	"log/slog"

	"github.com/tigerstudio/studio/emulators/sms"
)

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
