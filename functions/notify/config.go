package notify

import (
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"net/url"
	"time"

	"github.com/tigerstudio/studio/infra/blob"
	"github.com/tigerstudio/studio/infra/config"
	"github.com/tigerstudio/studio/infra/logging"
)

// Config is Notify's environment, documented in README.md.
type Config struct {
	config.GCP
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
	Push string `env:"PUSH, default=fcm"`
	// SMS is "off" or "twilio" (Twilio's Messages API; locally the stack's
	// stand-in of it at TWILIO_API_URL).
	SMS              string `env:"SMS, default=off"`
	TwilioAPIURL     string `env:"TWILIO_API_URL, default=https://api.twilio.com"`
	TwilioAccountSID string `env:"TWILIO_ACCOUNT_SID"`
	// TwilioAuthToken comes from Secret Manager in the cloud; never logged.
	TwilioAuthToken string `env:"TWILIO_AUTH_TOKEN"`
	TwilioFrom      string `env:"TWILIO_FROM"`
	// AppURL is the web app's address: text messages link to the job's page.
	AppURL              string        `env:"APP_URL"`
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
	errs := append(c.GCP.Problems(), config.Required("OUTPUT_BUCKET", c.OutputBucket,
		"SMTP_HOST", c.SMTPHost, "SMTP_FROM", c.SMTPFrom)...)
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
	switch c.SMS {
	case "off":
	case "twilio":
		errs = append(errs, config.Required("TWILIO_ACCOUNT_SID", c.TwilioAccountSID,
			"TWILIO_AUTH_TOKEN", c.TwilioAuthToken, "TWILIO_FROM", c.TwilioFrom)...)
		if u, err := url.Parse(c.TwilioAPIURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			errs = append(errs, fmt.Errorf("TWILIO_API_URL=%q: want an http(s) URL", c.TwilioAPIURL))
		}
	default:
		errs = append(errs, fmt.Errorf("SMS=%q: want off or twilio", c.SMS))
	}
	if c.AppURL != "" {
		if u, err := url.Parse(c.AppURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			errs = append(errs, fmt.Errorf("APP_URL=%q: want the web app's http(s) URL", c.AppURL))
		}
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
