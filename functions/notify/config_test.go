package notify

import (
	"context"
	"testing"

	"github.com/tigerstudio/studio/infra/config"
	"github.com/tigerstudio/studio/infra/config/configtest"
)

var validEnv = map[string]string{
	"GCLOUD_PROJECT": "p", "OUTPUT_BUCKET": "out", "SMTP_HOST": "smtp.example", "SMTP_FROM": "Studio <s@example.test>",
}

func TestConfig(t *testing.T) {
	configtest.Run(t, func() *Config { return new(Config) }, []configtest.Case{
		{Name: "valid with defaults", Env: validEnv},
		{Name: "everything missing", Env: map[string]string{}, Want: []string{"GCLOUD_PROJECT", "OUTPUT_BUCKET", "SMTP_HOST", "SMTP_FROM"}},
		{Name: "user without password", Env: configtest.With(validEnv, "SMTP_USER", "u"), Want: []string{"SMTP_PASSWORD"}},
		{Name: "bad from", Env: configtest.With(validEnv, "SMTP_FROM", "not an address"), Want: []string{"SMTP_FROM"}},
		{Name: "unknown push", Env: configtest.With(validEnv, "PUSH", "pigeon"), Want: []string{"PUSH"}},
		{Name: "bad port", Env: configtest.With(validEnv, "SMTP_PORT", "70000"), Want: []string{"SMTP_PORT"}},
		{Name: "unknown sms", Env: configtest.With(validEnv, "SMS", "pigeon"), Want: []string{"SMS"}},
		{Name: "twilio without credentials", Env: configtest.With(validEnv, "SMS", "twilio"),
			Want: []string{"TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM"}},
		{Name: "twilio", Env: configtest.With(validEnv, "SMS", "twilio",
			"TWILIO_ACCOUNT_SID", "AC1", "TWILIO_AUTH_TOKEN", "secret", "TWILIO_FROM", "+15005550006")},
		{Name: "bad twilio url", Env: configtest.With(validEnv, "SMS", "twilio",
			"TWILIO_ACCOUNT_SID", "AC1", "TWILIO_AUTH_TOKEN", "secret", "TWILIO_FROM", "+15005550006", "TWILIO_API_URL", "ftp://x"),
			Want: []string{"TWILIO_API_URL"}},
		{Name: "bad app url", Env: configtest.With(validEnv, "APP_URL", "studio.example"), Want: []string{"APP_URL"}},
	})
}

func TestConfigDefaults(t *testing.T) {
	var cfg Config
	if err := config.Load(context.Background(), config.FromMap(validEnv), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.SMTPPort != 587 || !cfg.SMTPStartTLS || cfg.Push != "fcm" {
		t.Errorf("defaults not applied: %+v", cfg)
	}
}
