//go:build disruptive

// Disruptive tests restart the stack's shared RabbitMQ node, so `make test`
// runs them alone, after the main suite (-tags disruptive -p 1).

package worker_test

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"testing"
	"time"

	"github.com/tigerstudio/studio/infra/jobs"
	"github.com/tigerstudio/studio/infra/queue"
	"github.com/tigerstudio/studio/infra/testenv"
)

func rabbit(script, verb string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, script, verb).CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %w\n%s", script, verb, err, out)
	}
	return nil
}

// TestDisruptiveBrokerRestart restarts RabbitMQ while jobs are queued and one
// is generating: every job still completes, exactly once. The first
// generation is held until the broker is down, so the restart is sure to
// hit it and the jobs queued behind it.
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
	generating := make(chan struct{})
	down := make(chan struct{})
	ended := make(chan error, 1) // why the first generation ended: nil if it outlived the broker
	held := &counting{next: filters(t), hook: func(ctx context.Context, n int) error {
		if n != 1 {
			return nil
		}
		close(generating)
		select {
		case <-ctx.Done(): // the broker went away under it
			ended <- context.Cause(ctx)
			return ctx.Err()
		case <-down:
			ended <- nil
			return nil
		}
	}}
	w := h.startWorker(t, workerOpts{generator: held})
	receive(t, "the first generation", generating)
	queued := h.stack.QueueDepth(t, h.topo.Queue())
	if queued == 0 {
		t.Fatal("no job queued behind the ones in hand: the restart would hit no queued work")
	}
	select {
	case cause := <-ended:
		t.Fatalf("the first generation ended (%v) before the broker stopped", cause)
	default:
	}

	if err := rabbit(h.stack.StackScript, "rabbit-stop"); err != nil {
		t.Fatal(err)
	}
	// Whatever happens from here, the shared broker comes back.
	started := false
	defer func() {
		if !started {
			if err := rabbit(h.stack.StackScript, "rabbit-start"); err != nil {
				t.Error(err)
			}
		}
	}()
	testenv.Eventually(t, "the worker to lose its broker session", func() bool { return !w.consumer.Connected() })
	close(down)
	if cause := receive(t, "the first generation to end", ended); cause != nil && !errors.Is(cause, queue.ErrConnectionLost) {
		t.Errorf("the first generation ended by %v, want the lost connection (or to outlive it)", cause)
	}
	started = true
	if err := rabbit(h.stack.StackScript, "rabbit-start"); err != nil {
		t.Fatal(err)
	}
	t.Logf("the restart hit %d queued jobs and a generation in flight", queued)

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
