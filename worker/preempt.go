package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/tigerstudio/studio/infra/jobs"
	"github.com/tigerstudio/studio/infra/queue"
)

// ErrPreempted is the cause (context.Cause) with which an online job in hand
// is handed back so a booth job can start: it returns to the head of its
// priority with its attempt given back.
var ErrPreempted = errors.New("preempted by a booth job")

// inHand is booth preemption's slot half (gpuGate is its GPU half): it
// tracks the jobs in hand and, on a booth signal from the consumer, hands
// one back when every slot is busy.
type inHand struct {
	slots int
	log   *slog.Logger
	mu    sync.Mutex
	jobs  map[*heldJob]struct{}
	seq   uint64
}

type heldJob struct {
	id        string
	priority  uint8
	seq       uint64
	cancel    context.CancelCauseFunc
	preempted bool // handed back already; its slot goes to the booth job that caused it
}

func newInHand(slots int, log *slog.Logger) *inHand {
	if log == nil {
		log = slog.Default()
	}
	return &inHand{slots: slots, log: log, jobs: map[*heldJob]struct{}{}}
}

// track is the middleware that holds each message in hand under a context
// preempt can cancel on its own.
func (h *inHand) track(next queue.Handler) queue.Handler {
	return queue.HandlerFunc(func(ctx context.Context, m queue.Message) error {
		ctx, cancel := context.WithCancelCause(ctx)
		defer cancel(nil)
		j := h.add(m, cancel)
		defer h.remove(j)
		err := next.Handle(ctx, m)
		if err != nil && errors.Is(context.Cause(ctx), ErrPreempted) {
			// Back to the queue at once, not through the retry queue's backoff.
			return fmt.Errorf("%w: %w", ErrPreempted, err)
		}
		return err
	})
}

func (h *inHand) add(m queue.Message, cancel context.CancelCauseFunc) *heldJob {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq++
	j := &heldJob{id: m.ID, priority: m.Priority, seq: h.seq, cancel: cancel}
	h.jobs[j] = struct{}{}
	return j
}

func (h *inHand) remove(j *heldJob) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.jobs, j)
}

// signal is the consumer's booth-signal hook: it preempts (see preempt) and
// logs which job went back.
func (h *inHand) signal(boothID string) {
	if id := h.preempt(boothID); id != "" {
		h.log.Info("handing an online job back for a booth job", "jobId", id, "boothJobId", boothID)
	}
}

// preempt cancels the most recently started online job if every slot is
// busy and the booth job is not already here, and returns its id.
func (h *inHand) preempt(boothID string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.jobs) < h.slots {
		return "" // a free slot takes the booth job
	}
	booth := queue.PriorityOf(jobs.Booth)
	var victim *heldJob
	for j := range h.jobs {
		if j.id == boothID {
			return "" // the booth job is already here
		}
		// A job handed back already frees its slot for an earlier booth
		// job; it is no victim for this one.
		if !j.preempted && j.priority < booth && (victim == nil || j.seq > victim.seq) {
			victim = j
		}
	}
	if victim == nil {
		return "" // only booth jobs in hand: the newcomer waits its turn
	}
	victim.preempted = true
	victim.cancel(ErrPreempted)
	return victim.id
}
