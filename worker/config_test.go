package worker

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
		{"everything missing", map[string]string{}, []string{"GCLOUD_PROJECT", "INPUT_BUCKET", "OUTPUT_BUCKET", "AMQP_URL"}},
		{"no slots", with("WORKER_SLOTS", "0"), []string{"WORKER_SLOTS"}},
		{"unknown device", with("WORKER_DEVICE", "tpu"), []string{"WORKER_DEVICE"}},
		{"bad duration", with("WORKER_GRACE", "soon"), []string{"Grace"}},
		{"no attempts", with("WORKER_MAX_ATTEMPTS", "0"), []string{"WORKER_MAX_ATTEMPTS"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var cfg Config
			err := config.Load(context.Background(), config.FromMap(tc.env), &cfg)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if cfg.Slots != 1 || cfg.MaxAttempts != 3 || cfg.Device != "cpu" {
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
