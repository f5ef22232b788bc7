package gateway_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/tigerstudio/studio/functions/gateway"
	"github.com/tigerstudio/studio/infra/jobs"
	"github.com/tigerstudio/studio/infra/testenv"
)

// errInjected is the failure the wrappers below report.
var errInjected = errors.New("injected failure")

// failOnce fails its first call, after (applied) or instead of (!applied)
// the real write: a store can report an error for a write it made.
type failOnce struct {
	applied bool
	calls   atomic.Int32
}

func (f *failOnce) do(write func() error) error {
	if f.calls.Add(1) != 1 {
		return write()
	}
	if f.applied {
		if err := write(); err != nil {
			return err
		}
	}
	return errInjected
}

// failingInputs is the real input bucket whose first Create fails.
type failingInputs struct {
	gateway.Inputs
	fail *failOnce
}

func (i failingInputs) Create(ctx context.Context, object, contentType string, data []byte) error {
	return i.fail.do(func() error { return i.Inputs.Create(ctx, object, contentType, data) })
}

// failingWriter is the real Firestore writer whose first CreateRequest
// fails.
type failingWriter struct {
	gateway.Writer
	fail *failOnce
}

func (w failingWriter) CreateRequest(ctx context.Context, id string, req jobs.Request) error {
	return w.fail.do(func() error { return w.Writer.CreateRequest(ctx, id, req) })
}

// TestUndoWhenAStoreFails: the input object's or the request document's
// write fails, before or after it was applied; the submission gets 503 and
// leaves nothing (no document, no object, no message, the rate-limit turn
// given back), and the next submission goes through.
func TestUndoWhenAStoreFails(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		wrap func(d *gateway.Deps, f *failOnce)
	}{
		{"input object", func(d *gateway.Deps, f *failOnce) { d.Inputs = failingInputs{d.Inputs, f} }},
		{"request document", func(d *gateway.Deps, f *failOnce) { d.Writer = failingWriter{d.Writer, f} }},
	} {
		for _, applied := range []bool{false, true} {
			name := tc.name + " not written"
			if applied {
				name = tc.name + " written, then an error"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				fail := &failOnce{applied: applied}
				f := newFixtureWith(t, []gateway.Option{func(d *gateway.Deps) { tc.wrap(d, fail) }},
					func(c *gateway.Config) { c.PerMinute = 1 })
				user := f.stack.NewUser(t, testenv.UserOpts{})
				r := f.submit(t, user.Token, validForm(t), nil)
				if r.status != 503 || r.errorCode() != "unavailable" {
					t.Fatalf("%d %v, want 503 unavailable", r.status, r.body)
				}
				if fail.calls.Load() != 1 {
					t.Fatalf("the failing write was called %d times, want 1", fail.calls.Load())
				}
				f.assertNothingLeft(t, user.UID)
				// One job a minute: this one fits only if the failed
				// submission's turn was given back.
				if r := f.submit(t, user.Token, validForm(t), nil); r.status != 202 {
					t.Fatalf("the next submission: %d %v, want 202", r.status, r.body)
				}
			})
		}
	}
}
