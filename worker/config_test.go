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
		{Name: "more generations than slots", Env: configtest.With(validEnv, "WORKER_GENERATIONS", "3"), Want: []string{"WORKER_GENERATIONS"}},
		{Name: "more generations than fewer slots", Env: configtest.With(configtest.With(validEnv, "WORKER_SLOTS", "1"), "WORKER_GENERATIONS", "2"), Want: []string{"WORKER_GENERATIONS"}},
		{Name: "one slot, default generations", Env: configtest.With(validEnv, "WORKER_SLOTS", "1")},
		{Name: "as many generations as slots", Env: configtest.With(configtest.With(validEnv, "WORKER_SLOTS", "4"), "WORKER_GENERATIONS", "0")},
	})
}

func TestConfigDefaults(t *testing.T) {
	var cfg Config
	if err := config.Load(context.Background(), config.FromMap(validEnv), &cfg); err != nil {
		t.Fatal(err)
	}
	// Two jobs in hand, one generating: the next job's I/O overlaps the
	// current generation.
	if cfg.Slots != 2 || cfg.Generations != 1 || !cfg.Preempt || cfg.MaxAttempts != 3 || cfg.Device != "cpu" {
		t.Errorf("defaults not applied: %+v", cfg)
	}
}
