package notify

import (
	"context"
	"strings"
	"testing"

	"github.com/tigerstudio/studio/infra/config"
)

func TestConfig(t *testing.T) {
	valid := map[string]string{
		"GCLOUD_PROJECT": "p", "OUTPUT_BUCKET": "out", "SMTP_HOST": "smtp.example", "SMTP_FROM": "Studio <s@example.test>",
	}
	with := func(k, v string) map[string]string {
		m := map[string]string{k: v}
		for kk, vv := range valid {
			if kk != k {
				m[kk] = vv
			}
		}
		return m
	}
	tests := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"valid with defaults", valid, nil},
		{"everything missing", map[string]string{}, []string{"GCLOUD_PROJECT", "OUTPUT_BUCKET", "SMTP_HOST", "SMTP_FROM"}},
		{"user without password", with("SMTP_USER", "u"), []string{"SMTP_PASSWORD"}},
		{"bad from", with("SMTP_FROM", "not an address"), []string{"SMTP_FROM"}},
		{"unknown push", with("PUSH", "pigeon"), []string{"PUSH"}},
		{"bad port", with("SMTP_PORT", "70000"), []string{"SMTP_PORT"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var cfg Config
			err := config.Load(context.Background(), config.FromMap(tc.env), &cfg)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if cfg.SMTPPort != 587 || !cfg.SMTPStartTLS || cfg.Push != "fcm" {
					t.Errorf("defaults not applied: %+v", cfg)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted an invalid configuration")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %s", err, w)
				}
			}
		})
	}
}
