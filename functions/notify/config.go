package notify

import (
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"time"

	"github.com/tigerstudio/studio/infra/blob"
	"github.com/tigerstudio/studio/infra/config"
	"github.com/tigerstudio/studio/infra/logging"
)

// Config is Notify's environment, documented in README.md.
type Config struct {
	Project      string `env:"GCLOUD_PROJECT"`
	OutputBucket string `env:"OUTPUT_BUCKET"`
	// Event, when set, limits Notify to that event's jobs: several events'
	// triggers can share one project's database.
	Event        string `env:"EVENT"`
	StylesFile   string `env:"STYLES_FILE"`
	SMTPHost     string `env:"SMTP_HOST"`
	SMTPPort     int    `env:"SMTP_PORT, default=587"`
	SMTPStartTLS bool   `env:"SMTP_STARTTLS, default=true"`
	SMTPUser     string `env:"SMTP_USER"`
	// SMTPPassword comes from Secret Manager in the cloud; never logged.
	SMTPPassword string `env:"SMTP_PASSWORD"`
	SMTPFrom     string `env:"SMTP_FROM"`
	// Push is "fcm" (Firebase Cloud Messaging) or "log" (the local stand-in:
	// FCM has no emulator).
	Push                string        `env:"PUSH, default=fcm"`
	StorageEmulatorHost string        `env:"STORAGE_EMULATOR_HOST"`
	URLExpiry           time.Duration `env:"SIGNED_URL_EXPIRY, default=168h"`
	MaxAge              time.Duration `env:"EVENT_MAX_AGE, default=24h"`
	// SweepGrace and SweepLookback bound the finished jobs the NotifySweep
	// function checks for a lost notification.
	SweepGrace    time.Duration `env:"SWEEP_GRACE, default=10m"`
	SweepLookback time.Duration `env:"SWEEP_LOOKBACK, default=48h"`
	LogLevel      string        `env:"LOG_LEVEL, default=info"`
}

// Validate reports every problem at once.
func (c *Config) Validate() error {
	errs := config.Required("GCLOUD_PROJECT", c.Project, "OUTPUT_BUCKET", c.OutputBucket,
		"SMTP_HOST", c.SMTPHost, "SMTP_FROM", c.SMTPFrom)
	if _, err := mail.ParseAddress(c.SMTPFrom); c.SMTPFrom != "" && err != nil {
		errs = append(errs, fmt.Errorf("SMTP_FROM=%q: %w", c.SMTPFrom, err))
	}
	if c.SMTPPort < 1 || c.SMTPPort > 65535 {
		errs = append(errs, fmt.Errorf("SMTP_PORT=%d is not a port", c.SMTPPort))
	}
	if c.SMTPUser != "" && c.SMTPPassword == "" {
		errs = append(errs, errors.New("SMTP_PASSWORD is required with SMTP_USER"))
	}
	if c.Push != "fcm" && c.Push != "log" {
		errs = append(errs, fmt.Errorf("PUSH=%q: want fcm or log", c.Push))
	}
	if c.SweepGrace <= 0 || c.SweepLookback <= c.SweepGrace {
		errs = append(errs, fmt.Errorf("SWEEP_GRACE=%s must be positive and below SWEEP_LOOKBACK=%s", c.SweepGrace, c.SweepLookback))
	}
	errs = append(errs, blob.CheckURLExpiry(c.URLExpiry))
	if _, err := c.Level(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Level parses LOG_LEVEL.
func (c *Config) Level() (slog.Level, error) { return logging.ParseLevel(c.LogLevel) }
