package gateway

import (
	"context"
	"math"
	"testing"

	"github.com/tigerstudio/studio/infra/config"
	"github.com/tigerstudio/studio/infra/config/configtest"
)

var validEnv = map[string]string{
	"GCLOUD_PROJECT": "p", "INPUT_BUCKET": "in", "OUTPUT_BUCKET": "out", "AMQP_URL": "amqp://x",
}

func TestConfig(t *testing.T) {
	configtest.Run(t, func() *Config { return new(Config) }, []configtest.Case{
		{Name: "valid with defaults", Env: validEnv},
		{Name: "everything missing, reported at once", Env: map[string]string{}, Want: []string{"GCLOUD_PROJECT", "INPUT_BUCKET", "OUTPUT_BUCKET", "AMQP_URL"}},
		{Name: "same bucket twice", Env: configtest.With(validEnv, "OUTPUT_BUCKET", "in"), Want: []string{"must differ"}},
		{Name: "bad level", Env: configtest.With(validEnv, "LOG_LEVEL", "loud"), Want: []string{"LOG_LEVEL"}},
		{Name: "bad number", Env: configtest.With(validEnv, "MAX_PIXELS", "many"), Want: []string{"MaxPixels"}},
		{Name: "expiry too long", Env: configtest.With(validEnv, "SIGNED_URL_EXPIRY", "720h"), Want: []string{"SIGNED_URL_EXPIRY"}},
		{Name: "app origins", Env: configtest.With(validEnv, "APP_ORIGINS", "https://gala.web.app,http://127.0.0.1:5002")},
		{Name: "an app origin with a path", Env: configtest.With(validEnv, "APP_ORIGINS", "https://gala.web.app/app"), Want: []string{"APP_ORIGINS"}},
		{Name: "an app origin without a scheme", Env: configtest.With(validEnv, "APP_ORIGINS", "gala.web.app"), Want: []string{"APP_ORIGINS"}},
		{Name: "photo shape off", Env: configtest.With(validEnv, "MIN_PHOTO_SIDE", "0"), Want: []string{"MIN_PHOTO_SIDE"}},
		{Name: "pending grace too short", Env: configtest.With(validEnv, "PENDING_GRACE", "1s"), Want: []string{"PENDING_GRACE"}},
		{Name: "no uploads in flight", Env: configtest.With(validEnv, "MAX_UPLOADS_IN_FLIGHT", "0"), Want: []string{"MAX_UPLOADS_IN_FLIGHT"}},
	})
}

func TestConfigDefaults(t *testing.T) {
	var cfg Config
	if err := config.Load(context.Background(), config.FromMap(validEnv), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.QueuePrefix != "tiger" || cfg.MaxBytes != 15<<20 || cfg.Event != "local" {
		t.Errorf("defaults not applied: %+v", cfg)
	}
}

func TestConfigCheckMemory(t *testing.T) {
	tests := []struct {
		name    string
		uploads int
		bytes   int64
		limit   int64
		wantErr bool
	}{
		{"no limit set", 64, 15 << 20, math.MaxInt64, false},
		{"cloud settings fit", 8, 15 << 20, 480 << 20, false},
		{"too many uploads for the limit", 16, 15 << 20, 480 << 20, true},
		{"larger photos", 8, 32 << 20, 480 << 20, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := Config{MaxUploads: tc.uploads, MaxBytes: tc.bytes}
			if err := c.CheckMemory(tc.limit); (err != nil) != tc.wantErr {
				t.Errorf("CheckMemory = %v, wantErr %v", err, tc.wantErr)
			}
		})
	}
}
