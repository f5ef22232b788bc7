package notify

import (
	"context"
	"fmt"
	"log/slog"

	firebase "firebase.google.com/go/v4"

	"github.com/tigerstudio/studio/functions/notify/internal/notifydb"
	"github.com/tigerstudio/studio/infra/blob"
	"github.com/tigerstudio/studio/infra/clients"
	"github.com/tigerstudio/studio/infra/store"
	"github.com/tigerstudio/studio/infra/styles"
)

// Build connects Notify's real collaborators from cfg.
func Build(ctx context.Context, cfg *Config, log *slog.Logger) (*Service, func() error, error) {
	cat, err := styles.Load(cfg.StylesFile)
	if err != nil {
		return nil, nil, fmt.Errorf("notify.Build: %w", err)
	}
	app, err := firebase.NewApp(ctx, &firebase.Config{ProjectID: cfg.Project})
	if err != nil {
		return nil, nil, fmt.Errorf("notify.Build: firebase: %w", err)
	}
	authClient, err := app.Auth(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("notify.Build: auth: %w", err)
	}
	var messenger Messenger = &LogMessenger{Logger: log}
	if cfg.Push == "fcm" {
		mc, err := app.Messaging(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("notify.Build: messaging: %w", err)
		}
		messenger = &FCMMessenger{Client: mc, Logger: log}
	}
	var texter Texter
	if cfg.SMS == "twilio" {
		texter = &TwilioTexter{BaseURL: cfg.TwilioAPIURL, AccountSID: cfg.TwilioAccountSID,
			AuthToken: cfg.TwilioAuthToken, From: cfg.TwilioFrom}
	}
	c, err := clients.Open(ctx, cfg.Project)
	if err != nil {
		return nil, nil, fmt.Errorf("notify.Build: %w", err)
	}
	fs, gcs := c.Firestore, c.Storage
	svc := New(Deps{
		Jobs:   store.NewReader(fs),
		Ledger: notifydb.NewWriter(fs),
		Mailer: &SMTPMailer{
			Host: cfg.SMTPHost, Port: cfg.SMTPPort, StartTLS: cfg.SMTPStartTLS,
			User: cfg.SMTPUser, Password: cfg.SMTPPassword, From: cfg.SMTPFrom,
		},
		Messenger:     messenger,
		Texter:        texter,
		AppURL:        cfg.AppURL,
		Owners:        AuthOwners{Client: authClient},
		URLs:          blob.NewURLs(gcs, cfg.StorageEmulatorHost, cfg.URLExpiry),
		Styles:        cat,
		OutputBucket:  cfg.OutputBucket,
		Event:         cfg.Event,
		MaxAge:        cfg.MaxAge,
		SweepGrace:    cfg.SweepGrace,
		SweepLookback: cfg.SweepLookback,
		Logger:        log,
	})
	return svc, c.Close, nil
}

// The adapters Build wires satisfy Notify's interfaces.
var (
	_ Jobs      = (*store.Reader)(nil)
	_ Ledger    = (*notifydb.Writer)(nil)
	_ Mailer    = (*SMTPMailer)(nil)
	_ Messenger = (*FCMMessenger)(nil)
	_ Messenger = (*LogMessenger)(nil)
	_ Texter    = (*TwilioTexter)(nil)
	_ Owners    = AuthOwners{}
)
