package authblock

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"golang.org/x/oauth2/google"

	"github.com/tigerstudio/studio/infra/auth"
	"github.com/tigerstudio/studio/infra/config"
	"github.com/tigerstudio/studio/infra/logging"
)

// Config is the AuthBlocking function's environment, documented in README.md.
type Config struct {
	config.GCP
	// Audience is the function's own URL, which Identity Platform names as
	// the token's audience; required outside the emulator.
	Audience string `env:"AUTH_BLOCKING_AUDIENCE"`
	// AuthEmulatorHost, when set, points the Admin SDK and the account
	// lookups at the Auth emulator, whose tokens are unsigned.
	AuthEmulatorHost string `env:"FIREBASE_AUTH_EMULATOR_HOST"`
	LogLevel         string `env:"LOG_LEVEL, default=info"`
}

// Validate reports every problem at once.
func (c *Config) Validate() error {
	errs := c.GCP.Problems()
	if c.AuthEmulatorHost == "" && c.Audience == "" {
		errs = append(errs, errors.New("AUTH_BLOCKING_AUDIENCE (the function's URL) is required outside the Auth emulator"))
	}
	if _, err := c.Level(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Level parses LOG_LEVEL.
func (c *Config) Level() (slog.Level, error) { return logging.ParseLevel(c.LogLevel) }

// Build makes the handler from a validated Config.
func Build(ctx context.Context, cfg *Config, log *slog.Logger) (*Handler, error) {
	admin, err := auth.NewClient(ctx, cfg.Project)
	if err != nil {
		return nil, fmt.Errorf("authblock.Build: %w", err)
	}
	plain := &http.Client{Timeout: 10 * time.Second}
	emulator := cfg.AuthEmulatorHost != ""
	var accounts *AdminAccounts
	if emulator {
		accounts = NewAdminAccounts(admin, cfg.Project, "http://"+cfg.AuthEmulatorHost+"/identitytoolkit.googleapis.com/v1", "owner", plain)
	} else {
		authed, err := google.DefaultClient(ctx, "https://www.googleapis.com/auth/cloud-platform")
		if err != nil {
			return nil, fmt.Errorf("authblock.Build: credentials: %w", err)
		}
		authed.Timeout = 10 * time.Second
		accounts = NewAdminAccounts(admin, cfg.Project, "https://identitytoolkit.googleapis.com/v1", "", authed)
	}
	return New(NewTokenDecoder(cfg.Project, cfg.Audience, emulator, plain), accounts, log), nil
}
