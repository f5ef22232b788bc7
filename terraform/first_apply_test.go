package terraform_test

import (
	"strings"
	"testing"
)

// Without probes (google-beta 6.50.0 has none on worker pools) the worker's
// health shows in two logs-based metrics on the pool's logs. Their filters
// name the event's pool and the exact messages the queue consumer logs
// (infra/queue) under the key the worker's JSON logs use (infra/logging),
// so renaming either message breaks this test, not the metric silently.
func TestWorkerHealthMetrics(t *testing.T) {
	c := loadConfig(t, ".")
	consumer := mustRead(t, "../infra/queue/consumer.go")
	logging := mustRead(t, "../infra/logging/logging.go")
	if !strings.Contains(logging, `a.Key = "message"`) {
		t.Fatal("infra/logging no longer writes the message under \"message\": the metrics' jsonPayload.message filters match nothing")
	}
	pool := c.resource(t, "resource", "google_cloud_run_v2_worker_pool", "worker")
	filterLocal := ""
	for _, b := range c.blocks {
		if b.Type == "locals" {
			if a, ok := b.Body.Attributes["worker_log_filter"]; ok {
				filterLocal = exprText(t, c, b.file, a)
			}
		}
	}
	if !strings.Contains(filterLocal, `resource.type=\"cloud_run_worker_pool\"`) || !strings.Contains(filterLocal, `worker_pool_name=\"${var.event}-worker\"`) {
		t.Errorf("local.worker_log_filter does not select the event's worker pool: %s", filterLocal)
	}
	if !strings.Contains(exprText(t, c, pool.file, pool.Body.Attributes["name"]), `"${var.event}-worker"`) {
		t.Error("the worker pool is no longer named ${var.event}-worker, which the metrics' filter names")
	}
	cases := []struct{ metric, message, call string }{
		{"worker_consuming", "consuming", `Logger.Info("consuming"`},
		{"worker_broker_lost", "broker session ended; reconnecting", `Logger.Warn("broker session ended; reconnecting"`},
	}
	for _, tc := range cases {
		m := c.resource(t, "resource", "google_logging_metric", tc.metric)
		f := exprText(t, c, m.file, m.Body.Attributes["filter"])
		if !strings.Contains(f, "local.worker_log_filter") || !strings.Contains(f, `jsonPayload.message=\"`+tc.message+`\"`) {
			t.Errorf("metric %s: filter %s does not count %q on the worker pool", tc.metric, f, tc.message)
		}
		if !strings.Contains(consumer, tc.call) {
			t.Errorf("infra/queue/consumer.go no longer logs %s: metric %s counts nothing", tc.call, tc.metric)
		}
	}
}
