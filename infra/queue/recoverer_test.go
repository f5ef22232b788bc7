package queue_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/tigerstudio/studio/infra/logging"
	"github.com/tigerstudio/studio/infra/queue"
	"github.com/tigerstudio/studio/infra/testenv"
)

// explode panics; tests look for its name in the recorded stack.
func explode(v any) { panic(v) }

// logBuffer collects a logger's JSON lines; handlers write from their own
// goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines returns the records whose message is msg.
func (b *logBuffer) lines(t *testing.T, msg string) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, l := range bytes.Split(b.buf.Bytes(), []byte("\n")) {
		if len(l) == 0 {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal(l, &rec); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		if rec["message"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

// checkPanicLogged checks the stack was logged once, at Error level with the
// job id.
func checkPanicLogged(t *testing.T, logs *logBuffer, jobID string) {
	t.Helper()
	recs := logs.lines(t, "handler panicked")
	if len(recs) != 1 {
		t.Fatalf("%d %q records, want 1", len(recs), "handler panicked")
	}
	rec := recs[0]
	if rec["severity"] != "ERROR" || rec["jobId"] != jobID {
		t.Errorf("panic logged with severity %v, jobId %v; want ERROR, %s", rec["severity"], rec["jobId"], jobID)
	}
	if stack, _ := rec["stack"].(string); !strings.Contains(stack, "queue_test.explode") {
		t.Errorf("logged stack does not name the panicking function:\n%s", stack)
	}
}

func TestRecoverer(t *testing.T) {
	t.Parallel()
	transient := errors.New("transient")
	tests := []struct {
		name      string
		handle    func()
		err       error
		wantErr   error // nil, or what errors.Is must find
		wantValue any   // the panic value, for a panic
	}{
		{name: "success", handle: func() {}},
		{name: "error passes through", handle: func() {}, err: transient, wantErr: transient},
		{name: "panic", handle: func() { explode("boom") }, wantErr: queue.ErrPanicked, wantValue: "boom"},
		{name: "panic with an error", handle: func() { explode(transient) }, wantErr: queue.ErrPanicked, wantValue: transient},
		// A panic is a handler bug, not a verdict on the message: even
		// ErrDeadLetter as the value does not dead-letter it.
		{name: "panic with ErrDeadLetter", handle: func() { explode(queue.ErrDeadLetter) }, wantErr: queue.ErrPanicked, wantValue: queue.ErrDeadLetter},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			logs := &logBuffer{}
			ctx := logging.WithLogger(context.Background(), logging.New(logs, -4))
			h := queue.Recoverer(queue.HandlerFunc(func(context.Context, queue.Message) error {
				tc.handle()
				return tc.err
			}))
			err := h.Handle(ctx, queue.Message{ID: "job-1"})
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("Handle = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Handle = %v, want it to wrap %v", err, tc.wantErr)
			}
			var perr *queue.PanicError
			if got := errors.As(err, &perr); got != (tc.wantValue != nil) {
				t.Fatalf("errors.As(%v, *PanicError) = %v, want %v", err, got, tc.wantValue != nil)
			}
			if perr == nil {
				if n := len(logs.lines(t, "handler panicked")); n != 0 {
					t.Errorf("%d panic records without a panic", n)
				}
				return
			}
			if perr.Value != tc.wantValue {
				t.Errorf("panic value %v, want %v", perr.Value, tc.wantValue)
			}
			if !strings.Contains(perr.Stack, "queue_test.explode") {
				t.Errorf("stack does not name the panicking function:\n%s", perr.Stack)
			}
			if errors.Is(err, queue.ErrDeadLetter) {
				t.Errorf("%v wraps ErrDeadLetter; a panic must be retried", err)
			}
			if want := fmt.Sprintf("handler panicked: %v", tc.wantValue); err.Error() != want {
				t.Errorf("Error() = %q, want %q (no stack)", err.Error(), want)
			}
			checkPanicLogged(t, logs, "job-1")
		})
	}
}

// TestConsumerRecoversPanics: a handler that panics does not stop the
// consumer; its message comes back through the retry queue, is handled
// again and is neither lost nor dead-lettered.
func TestConsumerRecoversPanics(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	topo := s.Topology(t)
	var mu sync.Mutex
	var seen []queue.Message
	h := queue.HandlerFunc(func(ctx context.Context, m queue.Message) error {
		mu.Lock()
		seen = append(seen, m)
		n := len(seen)
		mu.Unlock()
		if n == 1 {
			explode("boom")
		}
		return nil
	})
	logs := &logBuffer{}
	cfg := config(s, topo, 1)
	cfg.Logger = logging.New(logs, -4)
	startConsumer(t, cfg, h)
	publish(t, s.AMQPURL, topo, "panics")
	testenv.Eventually(t, "the message handled again", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) == 2
	})
	testenv.Eventually(t, "queues empty", func() bool {
		return s.QueueDepth(t, topo.Queue()) == 0 && s.QueueDepth(t, topo.RetryQueue()) == 0
	})
	mu.Lock()
	if seen[1].ID != "panics" || seen[1].Retries != 1 {
		t.Errorf("second delivery %q with %d retries, want panics with 1", seen[1].ID, seen[1].Retries)
	}
	mu.Unlock()
	if n := s.QueueDepth(t, topo.DeadQueue()); n != 0 {
		t.Errorf("%d dead-lettered, want 0", n)
	}
	checkPanicLogged(t, logs, "panics")
	retried := logs.lines(t, "retrying message later")
	if len(retried) != 1 {
		t.Fatalf("%d retry records, want 1", len(retried))
	}
	if e, _ := retried[0]["err"].(string); e != "handler panicked: boom" {
		t.Errorf("retry logged err %q, want the one-line panic error", e)
	}
}
