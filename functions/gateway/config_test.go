package gateway

import (
	"context"
	"strings"
	"testing"

	"github.com/tigerstudio/studio/infra/config"
)

func TestConfig(t *testing.T) {
	valid := map[string]string{
		"GCLOUD_PROJECT": "p", "INPUT_BUCKET": "in", "OUTPUT_BUCKET": "out", "AMQP_URL": "amqp://x",
	}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range valid {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name string
		env  map[string]string
		want []string // substrings of the error; none: valid
	}{
		{"valid with defaults", valid, nil},
		{"everything missing, reported at once", map[string]string{}, []string{"GCLOUD_PROJECT", "INPUT_BUCKET", "OUTPUT_BUCKET", "AMQP_URL"}},
		{"same bucket twice", with("OUTPUT_BUCKET", "in"), []string{"must differ"}},
		{"bad level", with("LOG_LEVEL", "loud"), []string{"LOG_LEVEL"}},
		{"bad number", with("MAX_PIXELS", "many"), []string{"MaxPixels"}},
		{"expiry too long", with("SIGNED_URL_EXPIRY", "720h"), []string{"SIGNED_URL_EXPIRY"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var cfg Config
			err := config.Load(context.Background(), config.FromMap(tc.env), &cfg)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if cfg.QueuePrefix != "tiger" || cfg.MaxBytes != 15<<20 {
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
