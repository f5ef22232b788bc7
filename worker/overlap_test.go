package worker_test

import (
	"context"
	"fmt"
	"image"
	"sync"
	"testing"
	"time"

	"github.com/tigerstudio/studio/infra/jobs"
	"github.com/tigerstudio/studio/infra/styles"
	"github.com/tigerstudio/studio/infra/testenv"
	"github.com/tigerstudio/studio/worker/generate"
)

// phased is a generator of CPU steps around one stand-in model run (in a
// turn of the job's device, as a model step's session run is), with hooks
// at each phase; the builtin style's steps are the CPU work after the run.
type phased struct {
	next generate.Generator
	// before runs as the job's CPU steps before its model run, model as
	// the model run, after as CPU steps after it; each gets the job id.
	before, model, after func(ctx context.Context, id string) error
}

func (g *phased) Generate(ctx context.Context, s styles.Style, in image.Image) (generate.Result, error) {
	id, _ := ctx.Value(jobKey{}).(string)
	if err := g.before(ctx, id); err != nil {
		return generate.Result{}, err
	}
	if err := generate.OnDevice(ctx, func(ctx context.Context) error { return g.model(ctx, id) }); err != nil {
		return generate.Result{}, err
	}
	if err := g.after(ctx, id); err != nil {
		return generate.Result{}, err
	}
	return g.next.Generate(ctx, s, in)
}

// await waits for ch, failing with what was awaited after a minute.
func await(ctx context.Context, ch <-chan struct{}, what string) error {
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(60 * time.Second):
		return fmt.Errorf("%s never happened", what)
	}
}

// TestCPUStepsOverlapModelRuns: at the defaults (two jobs in hand, one GPU
// turn), the first job's model run lasts until the second job's CPU steps
// have run, and the second job's model run lasts until the first job's
// CPU steps after its run have: each job's CPU work overlaps the other's
// model run. With the whole generation under the gate neither could happen
// (each wait would time out). Events, not a window of time.
func TestCPUStepsOverlapModelRuns(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	user := h.stack.NewUser(t, testenv.UserOpts{})
	ids := []string{h.submit(t, user, "sketch", jobs.Online), h.submit(t, user, "sketch", jobs.Online)}

	var mu sync.Mutex
	var first string // the job whose model run came first
	running, maxRunning := 0, 0
	secondBefore := make(chan struct{}) // the other job's CPU steps before its run
	firstAfter := make(chan struct{})   // the first job's CPU steps after its run
	var once1, once2 sync.Once
	gen := &phased{
		next: filters(t),
		before: func(_ context.Context, id string) error {
			mu.Lock()
			defer mu.Unlock()
			if first != "" && id != first {
				once1.Do(func() { close(secondBefore) })
			}
			return nil
		},
		model: func(ctx context.Context, id string) error {
			mu.Lock()
			running++
			maxRunning = max(maxRunning, running)
			isFirst := first == "" || first == id
			if first == "" {
				first = id
			}
			mu.Unlock()
			defer func() {
				mu.Lock()
				running--
				mu.Unlock()
			}()
			if isFirst {
				return await(ctx, secondBefore, "the second job's CPU steps during the first job's model run")
			}
			return await(ctx, firstAfter, "the first job's CPU steps during the second job's model run")
		},
		after: func(_ context.Context, id string) error {
			mu.Lock()
			defer mu.Unlock()
			if id == first {
				once2.Do(func() { close(firstAfter) })
			}
			return nil
		},
	}
	h.startWorker(t, workerOpts{generator: gen, wrap: tagJob})
	for _, id := range ids {
		h.waitStatus(t, id, jobs.Succeeded)
	}
	mu.Lock()
	defer mu.Unlock()
	if maxRunning != 1 {
		t.Errorf("%d model runs at once, want 1 (one GPU turn)", maxRunning)
	}
}

// TestNonModelStepHoldsNoGPU: a job waiting in a step that is not a model
// run (a stand-in for a call to a hosted model) waits until another job's
// model run has finished: with one GPU turn, that run can only happen if
// the waiting step holds no turn.
func TestNonModelStepHoldsNoGPU(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	user := h.stack.NewUser(t, testenv.UserOpts{})
	remote := h.submit(t, user, "sketch", jobs.Online)
	local := h.submit(t, user, "watercolour", jobs.Online)

	waiting := make(chan struct{})  // the remote step is waiting
	modelRan := make(chan struct{}) // the local job's model run finished
	var once sync.Once
	gen := &phased{
		next: filters(t),
		before: func(ctx context.Context, id string) error {
			if id != remote {
				// The local job's model run starts only once the remote
				// step is waiting, so the test proves what it claims.
				return await(ctx, waiting, "the remote step's wait")
			}
			once.Do(func() { close(waiting) })
			return await(ctx, modelRan, "another job's model run while a job waited on a remote step")
		},
		model: func(ctx context.Context, id string) error {
			if id == local {
				defer close(modelRan)
			}
			return nil
		},
		after: func(context.Context, string) error { return nil },
	}
	h.startWorker(t, workerOpts{generator: gen, wrap: tagJob})
	for _, id := range []string{remote, local} {
		if j := h.waitStatus(t, id, jobs.Succeeded); j.Response.Attempt != 1 {
			t.Errorf("job %s finished on attempt %d, want 1", id, j.Response.Attempt)
		}
	}
}
