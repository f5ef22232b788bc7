package worker_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/tigerstudio/studio/infra/jobs"
	"github.com/tigerstudio/studio/infra/queue"
	"github.com/tigerstudio/studio/infra/testenv"
	"github.com/tigerstudio/studio/worker"
)

// The queue behaviour suite: the worker's consumer as worker.New assembles
// it (its middleware: preemption, retry with backoff, recovery) on the real
// broker, around a scripted handler that stands where the processor does,
// behind the same job decoder. What each outcome does to the message is
// asserted on the broker's queues.

// scripted records every delivery and answers from its script.
type scripted struct {
	mu    sync.Mutex
	seen  map[string][]queue.Message
	order []string
	do    func(ctx context.Context, m queue.Message, n int) error
}

func (s *scripted) handler() queue.Handler {
	return queue.Jobs(func(ctx context.Context, m queue.Message, job jobs.Message) error {
		if job.JobID != m.ID {
			return fmt.Errorf("decoded job %q from message %q", job.JobID, m.ID)
		}
		s.mu.Lock()
		if s.seen == nil {
			s.seen = map[string][]queue.Message{}
		}
		s.seen[m.ID] = append(s.seen[m.ID], m)
		s.order = append(s.order, m.ID)
		n := len(s.seen[m.ID])
		s.mu.Unlock()
		return s.do(ctx, m, n)
	})
}

func (s *scripted) deliveries(id string) []queue.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]queue.Message(nil), s.seen[id]...)
}

func (s *scripted) handled() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.order...)
}

// runChain runs worker.New's consumer around h until the test ends.
func runChain(t *testing.T, hs *harness, h queue.Handler, logs *logBuffer, config func(*worker.Config)) {
	t.Helper()
	_, c := worker.New(hs.workerConfig(t, config), hs.deps(t, workerOpts{logs: logs}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, h) }()
	t.Cleanup(func() {
		cancel()
		if err := receive(t, "the consumer to stop", done); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	testenv.Eventually(t, "consumer connected", c.Connected)
}

func publishJobs(t *testing.T, hs *harness, ids ...string) {
	t.Helper()
	pub := queue.NewPublisher(hs.stack.AMQPURL, hs.topo)
	defer pub.Close()
	for _, id := range ids {
		if err := pub.Publish(context.Background(), jobs.Message{JobID: id, Event: "test", Priority: jobs.Online}); err != nil {
			t.Fatalf("publish %s: %v", id, err)
		}
	}
}

func TestQueueChainOutcomes(t *testing.T) {
	t.Parallel()
	hs := newHarness(t)
	s := &scripted{do: func(ctx context.Context, m queue.Message, n int) error {
		switch {
		case m.ID == "dead":
			return fmt.Errorf("%w: hopeless", queue.ErrDeadLetter)
		case m.ID == "flaky" && n < 3:
			return errors.New("transient")
		case m.ID == "panics" && n == 1:
			panic("boom")
		}
		return nil
	}}
	logs := &logBuffer{}
	runChain(t, hs, s.handler(), logs, func(c *worker.Config) { c.RetryBackoff = 50 * time.Millisecond })
	// A body that is not a job message never reaches the handler.
	hs.stack.WithChannel(t, func(ch *amqp.Channel) error {
		return ch.PublishWithContext(context.Background(), hs.topo.Exchange(), hs.topo.RoutingKey(), true, false,
			amqp.Publishing{MessageId: "malformed", ContentType: "application/json", Body: []byte("{not json")})
	})
	publishJobs(t, hs, "ok", "dead", "flaky", "panics")

	testenv.Eventually(t, "flaky and panics retried to success", func() bool {
		return len(s.deliveries("flaky")) == 3 && len(s.deliveries("panics")) == 2
	})
	testenv.Eventually(t, "two dead letters", func() bool { return hs.stack.QueueDepth(t, hs.topo.DeadQueue()) == 2 })
	var dead []string
	for range 2 {
		d, _ := hs.stack.GetMessage(t, hs.topo.DeadQueue())
		dead = append(dead, d.MessageId)
	}
	if strings.Join(dead, ",") != "malformed,dead" && strings.Join(dead, ",") != "dead,malformed" {
		t.Errorf("dead letters %v, want the malformed message and the hopeless one", dead)
	}
	if n := len(s.deliveries("ok")); n != 1 {
		t.Errorf("ok handled %d times, want once", n)
	}
	if n := len(s.deliveries("malformed")); n != 0 {
		t.Errorf("the malformed message reached the handler %d times", n)
	}
	flaky := s.deliveries("flaky")
	online := queue.PriorityOf(jobs.Online)
	for i, m := range flaky {
		if m.Retries != i {
			t.Errorf("flaky delivery %d has %d retries, want %d", i, m.Retries, i)
		}
		if i > 0 && (m.Priority <= online || m.Priority >= queue.PriorityOf(jobs.Booth)) {
			t.Errorf("flaky retry %d at priority %d, want above the online backlog (%d) and below booth jobs", i, m.Priority, online)
		}
	}
	if p := s.deliveries("panics"); p[1].Retries != 1 {
		t.Errorf("the panicked message came back with %d retries, want 1 (through the retry queue)", p[1].Retries)
	}
	var panics []map[string]any
	for _, e := range logs.entries(t) {
		if e["message"] == "handler panicked" {
			panics = append(panics, e)
		}
	}
	if len(panics) != 1 || panics[0]["jobId"] != "panics" || panics[0]["stack"] == "" {
		t.Errorf("panic records %v, want one with the job id and the stack", panics)
	}
	testenv.Eventually(t, "queues empty", func() bool {
		return hs.stack.QueueDepth(t, hs.topo.Queue()) == 0 && hs.stack.QueueDepth(t, hs.topo.RetryQueue()) == 0
	})
}

// TestQueueChainPreemption: a booth signal makes a worker whose slots all
// hold online jobs hand the newest back; the booth job runs next and the
// online job comes back at once (not through the retry queue), neither lost
// nor duplicated. With a free slot, or with preemption off, nothing is
// preempted.
func TestQueueChainPreemption(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		slots         int
		preempt       bool
		wantPreempted bool
	}{
		{"all slots busy", 1, true, true},
		{"a slot free", 2, true, false},
		{"preemption off", 1, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			hs := newHarness(t)
			onlineStarted := make(chan struct{}, 2)
			var mu sync.Mutex
			var causes []error
			s := &scripted{do: func(ctx context.Context, m queue.Message, n int) error {
				if m.ID != "online" || n > 1 {
					return nil
				}
				onlineStarted <- struct{}{}
				select {
				case <-ctx.Done():
					mu.Lock()
					causes = append(causes, context.Cause(ctx))
					mu.Unlock()
					return ctx.Err()
				case <-time.After(time.Second):
					return nil
				}
			}}
			runChain(t, hs, s.handler(), nil, func(c *worker.Config) {
				c.Slots, c.Generations, c.Preempt = tc.slots, tc.slots, tc.preempt
			})
			pub := queue.NewPublisher(hs.stack.AMQPURL, hs.topo)
			defer pub.Close()
			publishJobs(t, hs, "online")
			receive(t, "the online job started", onlineStarted)
			if err := pub.Publish(context.Background(), jobs.Message{JobID: "booth", Event: "test", Priority: jobs.Booth}); err != nil {
				t.Fatal(err)
			}
			if err := pub.Signal(context.Background(), "booth"); err != nil {
				t.Fatal(err)
			}
			want := []string{"online", "booth"}
			if tc.wantPreempted {
				want = []string{"online", "booth", "online"}
			}
			testenv.Eventually(t, "all handled", func() bool { return len(s.handled()) == len(want) })
			// An unpreempted online job finishes within a second; nothing
			// more may arrive.
			testenv.Consistently(t, "no further handling", 1300*time.Millisecond, func() bool { return len(s.handled()) == len(want) })
			if got := s.handled(); strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("handled %v, want %v", got, want)
			}
			mu.Lock()
			defer mu.Unlock()
			if tc.wantPreempted != (len(causes) == 1 && errors.Is(causes[0], worker.ErrPreempted)) {
				t.Errorf("causes %v, want preempted=%v", causes, tc.wantPreempted)
			}
			if on := s.deliveries("online"); tc.wantPreempted && (on[1].Retries != 0 || !on[1].Redelivered) {
				t.Errorf("the online job came back with %d retries, redelivered=%v; want it requeued at once", on[1].Retries, on[1].Redelivered)
			}
			if n := hs.stack.QueueDepth(t, hs.topo.Queue()); n != 0 {
				t.Errorf("%d messages left", n)
			}
		})
	}
}
