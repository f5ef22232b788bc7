package queue

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"

	"github.com/tigerstudio/studio/infra/logging"
)

// ErrPanicked is wrapped by the error Recoverer returns for a handler that
// panicked; errors.As with a *PanicError gives the value and the stack.
var ErrPanicked = errors.New("handler panicked")

// PanicError is a recovered handler panic.
type PanicError struct {
	Value any
	// Stack is the panicking goroutine's stack at the recover. It is kept
	// out of Error, so the lines that log the error stay one line; Recoverer
	// logs it once.
	Stack string
}

func (e *PanicError) Error() string { return fmt.Sprintf("%v: %v", ErrPanicked, e.Value) }

// Unwrap makes errors.Is(err, ErrPanicked) hold. It does not unwrap a value
// that is itself an error: a panic is a bug in the handler, not a verdict on
// the message, so a panic with ErrDeadLetter must not dead-letter it.
func (e *PanicError) Unwrap() error { return ErrPanicked }

// Recoverer is handler middleware that turns a panic into a *PanicError, so
// one bad job cannot take the worker down with its messages unacknowledged.
// The consumer then retries the message like any transient failure; the
// attempts the worker counts durably end a job that always panics. The stack
// is logged once, at Error level, with the job id.
func Recoverer(h Handler) Handler {
	return HandlerFunc(func(ctx context.Context, m Message) (err error) {
		defer func() {
			if v := recover(); v != nil {
				perr := &PanicError{Value: v, Stack: string(debug.Stack())}
				logging.FromContext(ctx).Error("handler panicked", "jobId", m.ID, "panic", fmt.Sprint(v), "stack", perr.Stack)
				err = perr
			}
		}()
		return h.Handle(ctx, m)
	})
}
