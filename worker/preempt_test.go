package worker

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/tigerstudio/studio/infra/jobs"
	"github.com/tigerstudio/studio/infra/queue"
)

func TestInHandPreempt(t *testing.T) {
	online, booth := queue.PriorityOf(jobs.Online), queue.PriorityOf(jobs.Booth)
	retried := online + 1
	type job struct {
		id       string
		priority uint8
	}
	tests := []struct {
		name    string
		slots   int
		held    []job
		signals []string
		want    []string // the job each signal preempts, "" for none
	}{
		{"free slot", 2, []job{{"o1", online}}, []string{"b"}, []string{""}},
		{"newest online goes", 2, []job{{"o1", online}, {"o2", online}}, []string{"b"}, []string{"o2"}},
		{"retried online can go", 1, []job{{"r1", retried}}, []string{"b"}, []string{"r1"}},
		{"booth jobs stay", 1, []job{{"b0", booth}}, []string{"b"}, []string{""}},
		{"booth already here", 1, []job{{"b", booth}}, []string{"b"}, []string{""}},
		{"two booth jobs, two online handed back", 2, []job{{"o1", online}, {"o2", online}}, []string{"b1", "b2"}, []string{"o2", "o1"}},
		{"no second victim", 1, []job{{"o1", online}}, []string{"b1", "b2"}, []string{"o1", ""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newInHand(tc.slots, slog.New(slog.NewTextHandler(io.Discard, nil)))
			ctxs := map[string]context.Context{}
			for _, j := range tc.held {
				ctx, cancel := context.WithCancelCause(context.Background())
				t.Cleanup(func() { cancel(nil) })
				h.add(queue.Message{ID: j.id, Priority: j.priority}, cancel)
				ctxs[j.id] = ctx
			}
			preempted := map[string]bool{}
			for i, sig := range tc.signals {
				got := h.preempt(sig)
				if got != tc.want[i] {
					t.Errorf("signal %s preempted %q, want %q", sig, got, tc.want[i])
				}
				preempted[got] = true
			}
			for id, ctx := range ctxs {
				if cancelled := errors.Is(context.Cause(ctx), ErrPreempted); cancelled != preempted[id] {
					t.Errorf("job %s preempted=%v, want %v", id, cancelled, preempted[id])
				}
			}
		})
	}
}
