//go:build disruptive

// Disruptive tests restart the stack's shared RabbitMQ node, so `make test`
// runs them alone, after the main suite (-tags disruptive -p 1).

package worker_test

import (
	"context"
	"os/exec"
	"testing"
	"time"

	"github.com/tigerstudio/studio/infra/jobs"
	"github.com/tigerstudio/studio/infra/testenv"
)

func rabbit(t *testing.T, script, verb string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, script, verb).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", script, verb, err, out)
	}
}

// TestDisruptiveBrokerRestart restarts RabbitMQ while jobs are queued and one
// is generating: every job still completes, exactly once.
func TestDisruptiveBrokerRestart(t *testing.T) {
	h := newHarness(t)
	if h.stack.StackScript == "" {
		t.Fatal("STACK_SCRIPT is not set: the stack script restarts the broker")
	}
	user := h.stack.NewUser(t, testenv.UserOpts{})
	var ids []string
	for range 5 {
		ids = append(ids, h.submit(t, user, "sketch", jobs.Online))
	}
	generating := make(chan struct{}, 10)
	slow := &counting{next: filters(t), hook: func(ctx context.Context, n int) error {
		generating <- struct{}{}
		select {
		case <-time.After(300 * time.Millisecond):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}}
	h.startWorker(t, workerOpts{generator: slow})
	<-generating
	rabbit(t, h.stack.StackScript, "rabbit-stop")
	time.Sleep(time.Second)
	rabbit(t, h.stack.StackScript, "rabbit-start")

	var committed []string
	for _, id := range ids {
		j := h.waitStatus(t, id, jobs.Succeeded)
		for _, o := range j.Response.Outputs {
			committed = append(committed, o.Name)
		}
	}
	if got := h.outputs(t); len(got) != len(committed) {
		t.Errorf("output bucket holds %d objects, want the %d committed: %v", len(got), len(committed), got)
	}
	// After the restart the Gateway reconnects too.
	h.waitStatus(t, h.submit(t, user, "studio", jobs.Online), jobs.Succeeded)
}
