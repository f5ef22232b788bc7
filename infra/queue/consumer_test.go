package queue_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"go.uber.org/goleak"

	"github.com/tigerstudio/studio/infra/jobs"
	"github.com/tigerstudio/studio/infra/queue"
	"github.com/tigerstudio/studio/infra/testenv"
)

func publish(t *testing.T, url string, topo queue.Topology, ids ...string) {
	t.Helper()
	pub := queue.NewPublisher(url, topo)
	defer pub.Close()
	for _, id := range ids {
		msg := jobs.Message{JobID: id, Priority: jobs.Online}
		if err := pub.Publish(context.Background(), msg); err != nil {
			t.Fatalf("publish %s: %v", id, err)
		}
	}
}

type running struct {
	c      *queue.Consumer
	cancel context.CancelFunc
	done   chan error
}

func startConsumer(t *testing.T, cfg queue.ConsumerConfig, h queue.Handler) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c := queue.NewConsumer(cfg)
	r := &running{c: c, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- c.Run(ctx, h) }()
	t.Cleanup(func() { r.stop(t) })
	testenv.Eventually(t, "consumer connected", c.Connected)
	return r
}

func (r *running) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
		r.done <- nil // stop is idempotent
	case <-time.After(30 * time.Second):
		t.Fatal("consumer did not stop")
	}
}

// config is a consumer with the retry and recovery policies (the worker
// assembles these and its own; its suite runs them all together).
func config(s testenv.Stack, topo queue.Topology, slots int) queue.ConsumerConfig {
	return queue.ConsumerConfig{URL: s.AMQPURL, Topology: topo, Slots: slots, Grace: 5 * time.Second,
		Middleware: []queue.Middleware{queue.Retry(queue.Backoff{First: 50 * time.Millisecond}), queue.Recoverer}}
}

// recorder is a handler that keeps every delivery and answers with do(m,
// n), n counting the deliveries of m's id so far.
type recorder struct {
	mu    sync.Mutex
	calls map[string][]queue.Message
	do    func(m queue.Message, n int) error
}

func (r *recorder) Handle(_ context.Context, m queue.Message) error {
	r.mu.Lock()
	if r.calls == nil {
		r.calls = map[string][]queue.Message{}
	}
	r.calls[m.ID] = append(r.calls[m.ID], m)
	n := len(r.calls[m.ID])
	r.mu.Unlock()
	return r.do(m, n)
}

// seen returns the deliveries of id so far.
func (r *recorder) seen(id string) []queue.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls[id])
}

// TestConsumerSettles: without middleware the consumer only settles each
// message by its handler's outcome: nil acks it, ErrDeadLetter moves it to
// the dead-letter queue, any other error puts it back at the head of the
// queue at once (redelivered, not through the retry queue).
func TestConsumerSettles(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	topo := s.Topology(t)
	h := &recorder{do: func(m queue.Message, n int) error {
		switch {
		case m.ID == "dead":
			return fmt.Errorf("%w: hopeless", queue.ErrDeadLetter)
		case m.ID == "again" && n == 1:
			return errors.New("not now")
		}
		return nil
	}}
	cfg := config(s, topo, 1)
	cfg.Middleware = nil
	startConsumer(t, cfg, h)
	publish(t, s.AMQPURL, topo, "ok", "dead", "again")
	testenv.Eventually(t, "again handled twice", func() bool { return len(h.seen("again")) == 2 })
	testenv.Eventually(t, "dead-lettered", func() bool { return s.QueueDepth(t, topo.DeadQueue()) == 1 })
	testenv.Eventually(t, "queue empty", func() bool { return s.QueueDepth(t, topo.Queue()) == 0 })
	if n := len(h.seen("ok")) + len(h.seen("dead")); n != 2 {
		t.Errorf("ok and dead handled %d times in all, want once each", n)
	}
	if m := h.seen("again")[1]; !m.Redelivered || m.Retries != 0 {
		t.Errorf("again came back redelivered=%v with %d retries, want requeued at once", m.Redelivered, m.Retries)
	}
	if n := s.QueueDepth(t, topo.RetryQueue()); n != 0 {
		t.Errorf("%d in the retry queue without a Retry middleware", n)
	}
}

// TestConsumerOutcomes: with the Retry and Recoverer middleware, transient
// failures and panics come back through the retry queue, one retry more
// each time, an online job at the retry priority.
func TestConsumerOutcomes(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	topo := s.Topology(t)
	h := &recorder{do: func(m queue.Message, n int) error {
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
	startConsumer(t, config(s, topo, 2), h)
	publish(t, s.AMQPURL, topo, "ok", "dead", "flaky", "panics")
	testenv.Eventually(t, "flaky retried to success", func() bool {
		return len(h.seen("flaky")) == 3 && len(h.seen("panics")) == 2
	})
	testenv.Eventually(t, "dead-lettered message", func() bool { return s.QueueDepth(t, topo.DeadQueue()) == 1 })
	if d, ok := s.GetMessage(t, topo.DeadQueue()); !ok || d.MessageId != "dead" {
		t.Errorf("dead queue holds %q, want the dead message", d.MessageId)
	}
	if n := len(h.seen("ok")); n != 1 {
		t.Errorf("ok handled %d times", n)
	}
	flaky := h.seen("flaky")
	if retries := [3]int{flaky[0].Retries, flaky[1].Retries, flaky[2].Retries}; retries != [3]int{0, 1, 2} {
		t.Errorf("retries seen %v, want 0,1,2", retries)
	}
	online := queue.PriorityOf(jobs.Online)
	if p0, p1 := flaky[0].Priority, flaky[1].Priority; p0 != online || p1 != queue.RetryPriority(online) {
		t.Errorf("online job priority %d, then %d when retried; want %d then %d", p0, p1, online, queue.RetryPriority(online))
	}
	testenv.Eventually(t, "queues empty", func() bool {
		return s.QueueDepth(t, topo.Queue()) == 0 && s.QueueDepth(t, topo.RetryQueue()) == 0
	})
}

// TestPrefetchEqualsSlots: with every slot busy the broker holds the rest.
func TestPrefetchEqualsSlots(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	topo := s.Topology(t)
	release := make(chan struct{})
	var inHand atomic.Int32
	h := queue.HandlerFunc(func(ctx context.Context, m queue.Message) error {
		inHand.Add(1)
		defer inHand.Add(-1)
		<-release
		return nil
	})
	ids := make([]string, 6)
	for i := range ids {
		ids[i] = fmt.Sprint("job-", i)
	}
	publish(t, s.AMQPURL, topo, ids...)
	startConsumer(t, config(s, topo, 2), h)
	testenv.Eventually(t, "two in hand", func() bool { return inHand.Load() == 2 })
	// A wrong prefetch would show as fewer ready messages.
	testenv.Consistently(t, "4 ready in the queue with 2 slots busy", 200*time.Millisecond, func() bool {
		return s.QueueDepth(t, topo.Queue()) == 4
	})
	if n := inHand.Load(); n != 2 {
		t.Errorf("%d in hand, want 2", n)
	}
	close(release)
	testenv.Eventually(t, "all handled", func() bool { return s.QueueDepth(t, topo.Queue()) == 0 && inHand.Load() == 0 })
}

// TestShutdown: a message in hand finishes within the grace period; one that
// cannot is returned to the queue, and no goroutine is left behind. Not
// parallel, so goleak sees only this test's goroutines.
func TestShutdown(t *testing.T) {
	s := testenv.Get(t)
	tests := []struct {
		name      string
		grace     time.Duration
		work      time.Duration
		wantDone  bool
		wantQueue int
	}{
		{"finishes within grace", 5 * time.Second, 300 * time.Millisecond, true, 0},
		{"returned after grace", 100 * time.Millisecond, time.Hour, false, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			topo := s.Topology(t)
			publish(t, s.AMQPURL, topo, "job")
			ignore := goleak.IgnoreCurrent()
			started := make(chan struct{})
			var done atomic.Bool
			h := queue.HandlerFunc(func(ctx context.Context, m queue.Message) error {
				close(started)
				select {
				case <-time.After(tc.work):
					done.Store(true)
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			})
			cfg := config(s, topo, 1)
			cfg.Grace = tc.grace
			ctx, cancel := context.WithCancel(context.Background())
			errc := make(chan error, 1)
			go func() { errc <- queue.NewConsumer(cfg).Run(ctx, h) }()
			<-started
			cancel()
			if err := <-errc; err != nil {
				t.Fatalf("Run: %v", err)
			}
			if done.Load() != tc.wantDone {
				t.Errorf("handler finished = %v, want %v", done.Load(), tc.wantDone)
			}
			testenv.Eventually(t, "queue settles", func() bool { return s.QueueDepth(t, topo.Queue()) == tc.wantQueue })
			goleak.VerifyNone(t, ignore)
		})
	}
}

// TestReconnect: the connection drops mid-message; the message is redelivered
// and later messages flow once the broker is reachable again.
func TestReconnect(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	topo := s.Topology(t)
	host := s.AMQPHost(t)
	proxy := testenv.NewProxy(t, host)
	var mu sync.Mutex
	var seen []queue.Message
	first := make(chan struct{}, 1)
	h := queue.HandlerFunc(func(ctx context.Context, m queue.Message) error {
		mu.Lock()
		seen = append(seen, m)
		n := len(seen)
		mu.Unlock()
		if n == 1 {
			first <- struct{}{}
			<-ctx.Done() // the connection drop cancels the work in hand
			return ctx.Err()
		}
		return nil
	})
	cfg := config(s, topo, 1)
	cfg.URL = proxy.AMQPURL(t, s.AMQPURL)
	r := startConsumer(t, cfg, h)
	publish(t, s.AMQPURL, topo, "a")
	<-first
	proxy.Cut()
	testenv.Eventually(t, "the consumer notices the lost connection", func() bool { return !r.c.Connected() })
	proxy.Restore(t)
	publish(t, s.AMQPURL, topo, "b")
	testenv.Eventually(t, "both handled after reconnect", func() bool {
		mu.Lock()
		defer mu.Unlock()
		ids := map[string]bool{}
		for _, m := range seen[1:] {
			ids[m.ID] = true
		}
		return ids["a"] && ids["b"]
	})
	mu.Lock()
	defer mu.Unlock()
	for _, m := range seen[1:] {
		if m.ID == "a" && !m.Redelivered {
			t.Error("message a came back without the redelivered flag")
		}
	}
}

// TestSignals: with a Signals hook the consumer passes it each booth
// signal's job id (the worker's preemption decides what to do with it).
func TestSignals(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	topo := s.Topology(t)
	got := make(chan string, 2)
	cfg := config(s, topo, 1)
	cfg.Signals = func(id string) { got <- id }
	startConsumer(t, cfg, queue.HandlerFunc(func(context.Context, queue.Message) error { return nil }))
	pub := queue.NewPublisher(s.AMQPURL, topo)
	defer pub.Close()
	for _, id := range []string{"booth-1", "booth-2"} {
		if err := pub.Signal(context.Background(), id); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{"booth-1", "booth-2"} {
		select {
		case id := <-got:
			if id != want {
				t.Errorf("hook got %q, want %q", id, want)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("hook not called for %s", want)
		}
	}
}

// TestDeadLetterQueueIsBounded: poison messages beyond the dead-letter
// queue's bound drop the oldest, so a flood cannot fill the broker.
func TestDeadLetterQueueIsBounded(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	topo := queue.Topology{Prefix: testenv.Unique("test"), DeadLimit: 3}
	if err := queue.DeclareTopology(s.AMQPURL, topo); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.WithChannel(t, func(ch *amqp.Channel) error { return topo.Delete(ch) }) })
	ids := []string{"p1", "p2", "p3", "p4", "p5"}
	publish(t, s.AMQPURL, topo, ids...)
	var seen atomic.Int32
	startConsumer(t, config(s, topo, 1), queue.HandlerFunc(func(context.Context, queue.Message) error {
		seen.Add(1)
		return queue.ErrDeadLetter
	}))
	testenv.Eventually(t, "all dead-lettered", func() bool { return seen.Load() == int32(len(ids)) })
	testenv.Eventually(t, "the dead-letter queue at its bound", func() bool { return s.QueueDepth(t, topo.DeadQueue()) == 3 })
	var kept []string
	for {
		d, ok := s.GetMessage(t, topo.DeadQueue())
		if !ok {
			break
		}
		kept = append(kept, d.MessageId)
	}
	if !slices.Equal(kept, []string{"p3", "p4", "p5"}) {
		t.Errorf("dead letters kept %v, want the newest three", kept)
	}
}
