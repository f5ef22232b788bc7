package worker

import (
	"context"
	"testing"
	"time"

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
		{Name: "no Vertex calls in flight", Env: configtest.With(validEnv, "VERTEX_MAX_IN_FLIGHT", "0"), Want: []string{"VERTEX_MAX_IN_FLIGHT"}},
		{Name: "no Vertex location", Env: configtest.With(validEnv, "VERTEX_LOCATION", ""), Want: []string{"VERTEX_LOCATION"}},
		{Name: "stand-in not a URL", Env: configtest.With(validEnv, "VERTEX_STANDIN_URL", "127.0.0.1:9130"), Want: []string{"VERTEX_STANDIN_URL"}},
		{Name: "negative busy retries", Env: configtest.With(validEnv, "WORKER_BUSY_RETRIES", "-1"), Want: []string{"WORKER_BUSY_RETRIES"}},
		{Name: "the stack's stand-in", Env: configtest.With(validEnv, "VERTEX_STANDIN_URL", "http://127.0.0.1:9130")},
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
	// Vertex AI: the worker's own project, ADC (no stand-in), a capped
	// number of calls.
	if v := cfg.Vertex(); v.Project != "p" || v.Location != "global" || v.Model != "gemini-2.5-flash-image" ||
		v.StandInURL != "" || v.MaxInFlight != 8 || v.Timeout != time.Minute || cfg.BusyRetries != 8 {
		t.Errorf("Vertex defaults not applied: %+v, busy retries %d", v, cfg.BusyRetries)
	}
}
