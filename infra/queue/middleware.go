package queue

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/tigerstudio/studio/infra/logging"
)

// Middleware wraps a Handler with one policy. The consumer only acks,
// dead-letters and requeues; what a failure means (retry later, give up,
// recover from a panic) is middleware its user assembles.
type Middleware func(Handler) Handler

// Chain wraps h in mw, the first outermost: Chain(h, a, b) is a(b(h)).
func Chain(h Handler, mw ...Middleware) Handler {
	for i := len(mw) - 1; i >= 0; i-- {
		h = mw[i](h)
	}
	return h
}

// Backoff is the delay before a retry: First, doubled for each retry the
// message had, up to Max, with jitter so jobs that failed together do not
// come back together.
type Backoff struct {
	First time.Duration // default 1 s
	Max   time.Duration // default 30 × First
}

// Delay is the wait before retry number retries+1.
func (b Backoff) Delay(retries int) time.Duration {
	first := b.First
	if first <= 0 {
		first = time.Second
	}
	limit := b.Max
	if limit < first {
		limit = 30 * first
	}
	d := min(first<<min(retries, 16), limit)
	return d/2 + rand.N(d/2+1)
}

// Retry parks a message whose handler failed for now (any error but a dead
// letter, while ctx lives) in the retry queue for a backoff; the broker
// brings it back at the retry priority, with Message.Retries one higher.
// The message's slot is free meanwhile. If the retry cannot be parked the
// message goes back to the queue at once instead: never lost.
func Retry(b Backoff) Middleware {
	return func(next Handler) Handler {
		return HandlerFunc(func(ctx context.Context, m Message) error {
			err := next.Handle(ctx, m)
			if err == nil || errors.Is(err, ErrDeadLetter) || ctx.Err() != nil || m.retryLater == nil {
				return err
			}
			delay := b.Delay(m.Retries)
			log := logging.FromContext(ctx).With("jobId", m.ID)
			if perr := m.retryLater(ctx, delay); perr != nil {
				log.Error("could not schedule the retry; requeueing now", "err", perr, "cause", err)
				return fmt.Errorf("queue.Retry: %w", errors.Join(err, perr))
			}
			log.Warn("retrying message later", "err", err, "in", delay, "retries", m.Retries+1)
			return nil
		})
	}
}
