package worker

import (
	"context"
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
		{Name: "everything missing", Env: map[string]string{}, Want: []string{"GCLOUD_PROJECT", "INPUT_BUCKET", "OUTPUT_BUCKET", "AMQP_URL"}},
		{Name: "no slots", Env: configtest.With(validEnv, "WORKER_SLOTS", "0"), Want: []string{"WORKER_SLOTS"}},
		{Name: "unknown device", Env: configtest.With(validEnv, "WORKER_DEVICE", "tpu"), Want: []string{"WORKER_DEVICE"}},
		{Name: "bad duration", Env: configtest.With(validEnv, "WORKER_GRACE", "soon"), Want: []string{"Grace"}},
		{Name: "no attempts", Env: configtest.With(validEnv, "WORKER_MAX_ATTEMPTS", "0"), Want: []string{"WORKER_MAX_ATTEMPTS"}},
		{Name: "more generations than slots", Env: configtest.With(validEnv, "WORKER_GENERATIONS", "2"), Want: []string{"WORKER_GENERATIONS"}},
		{Name: "two slots, one generation", Env: configtest.With(configtest.With(validEnv, "WORKER_SLOTS", "2"), "WORKER_GENERATIONS", "1")},
	})
}

func TestConfigDefaults(t *testing.T) {
	var cfg Config
	if err := config.Load(context.Background(), config.FromMap(validEnv), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Slots != 1 || cfg.MaxAttempts != 3 || cfg.Device != "cpu" {
		t.Errorf("defaults not applied: %+v", cfg)
	}
}
