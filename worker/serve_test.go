package worker_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/tigerstudio/studio/infra/logging"
	"github.com/tigerstudio/studio/infra/testenv"
	"github.com/tigerstudio/studio/worker"
)

// TestServeReadiness: /healthz answers 200 from the start; /readyz answers
// 503 while the consumer has no broker session (Cloud Run's startup probe
// waits), then 200 once it has one.
func TestServeReadiness(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	proxy := testenv.NewProxy(t, h.stack.AMQPHost(t))
	proxy.Cut() // the broker is unreachable until Restore
	cfg := h.workerConfig(t, func(c *worker.Config) {
		c.AMQPURL = proxy.AMQPURL(t, h.stack.AMQPURL)
		c.Port = freePort(t)
	})
	proc, consumer := worker.New(cfg, h.deps(t, workerOpts{}))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- worker.Serve(ctx, cfg.Port, consumer, proc, logging.New(t.Output(), 0)) }()

	client := &http.Client{Timeout: 5 * time.Second}
	status := func(path string) int {
		resp, err := client.Get("http://127.0.0.1:" + cfg.Port + path)
		if err != nil {
			return 0 // not listening yet
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	testenv.Eventually(t, "the health endpoint", func() bool { return status("/healthz") == http.StatusOK })
	if got := status("/readyz"); got != http.StatusServiceUnavailable {
		t.Errorf("/readyz = %d without a broker, want 503", got)
	}

	proxy.Restore(t)
	testenv.Eventually(t, "/readyz 200 with a broker session", func() bool { return status("/readyz") == http.StatusOK })
	if got := status("/healthz"); got != http.StatusOK {
		t.Errorf("/healthz = %d, want 200", got)
	}

	cancel()
	if err := receive(t, "Serve to return", served); err != nil {
		t.Errorf("Serve: %v", err)
	}
}
