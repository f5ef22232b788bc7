package worker

import (
	"context"
	"errors"
	"slices"
	"sync"

	"github.com/tigerstudio/studio/infra/logging"
)

// ErrGPUPreempted is the cause (context.Cause) with which an online model
// run is stopped so a booth job can have the GPU. The job's own context is
// untouched: the job stays in hand and its model run starts again after the
// booth job's.
var ErrGPUPreempted = errors.New("model run stopped for a booth job")

// gpuGate hands out the GPU's turns (one per GPU by default) to the model
// runs of the jobs in hand, booth jobs first. A turn covers one local model
// run (a session Run), not a generation: a job's pure-Go steps, decode,
// encode, upload and any wait on a remote API run outside the gate, so they
// overlap another job's model run and never keep the GPU idle or from a
// booth job. With preemption on, a booth job that finds every turn held by
// online model runs stops one of them (ErrGPUPreempted); that run waits for
// the GPU again at the head of the online line and starts over.
//
// The queue consumer's preemption frees a slot for a booth job (it hands
// back the newest job in hand, usually one waiting for the GPU); the gate
// frees the GPU, which only the worker knows the holder of. Together a
// booth job waits for neither the model runs in progress nor the online
// jobs in hand.
type gpuGate struct {
	preempt bool

	mu      sync.Mutex
	free    int
	holders []*gpuTurn // model runs in progress
	booth   []*gpuTurn // waiting, first come first served
	online  []*gpuTurn // waiting; a stopped generation goes first
}

// gpuTurn is one model run's claim on the GPU.
type gpuTurn struct {
	booth   bool
	granted chan struct{} // closed when the slot is this turn's
	stop    context.CancelCauseFunc
	stopped bool
}

func newGPUGate(slots int, preempt bool) *gpuGate {
	return &gpuGate{free: slots, preempt: preempt}
}

// acquire waits for a turn. stop cancels the model run that will run in
// it; resume puts an online run that was stopped at the head of the online
// line. A nil error means the caller must release the turn.
func (g *gpuGate) acquire(ctx context.Context, booth, resume bool, stop context.CancelCauseFunc) (*gpuTurn, error) {
	t := g.enter(booth, resume, stop)
	if err := g.wait(ctx, t); err != nil {
		return nil, err
	}
	return t, nil
}

// enter joins the line, and as a booth job stops an online generation if
// it must; the turn may be granted at once.
func (g *gpuGate) enter(booth, resume bool, stop context.CancelCauseFunc) *gpuTurn {
	t := &gpuTurn{booth: booth, granted: make(chan struct{}), stop: stop}
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case booth:
		g.booth = append(g.booth, t)
	case resume:
		g.online = slices.Insert(g.online, 0, t)
	default:
		g.online = append(g.online, t)
	}
	g.dispatch()
	if booth && g.preempt {
		g.yield()
	}
	return t
}

// wait waits until t is granted or ctx ends; then t leaves the line (and
// a slot granted meanwhile goes to the next).
func (g *gpuGate) wait(ctx context.Context, t *gpuTurn) error {
	select {
	case <-t.granted:
		return nil
	case <-ctx.Done():
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case <-t.granted:
		g.releaseLocked(t)
	default:
		g.booth = slices.DeleteFunc(g.booth, func(w *gpuTurn) bool { return w == t })
		g.online = slices.DeleteFunc(g.online, func(w *gpuTurn) bool { return w == t })
	}
	return ctx.Err()
}

// release gives the turn's slot to the next waiter.
func (g *gpuGate) release(t *gpuTurn) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.releaseLocked(t)
}

func (g *gpuGate) releaseLocked(t *gpuTurn) {
	g.holders = slices.DeleteFunc(g.holders, func(h *gpuTurn) bool { return h == t })
	g.free++
	g.dispatch()
}

// dispatch grants free slots, booth jobs first.
func (g *gpuGate) dispatch() {
	for g.free > 0 {
		var t *gpuTurn
		switch {
		case len(g.booth) > 0:
			t, g.booth = g.booth[0], g.booth[1:]
		case len(g.online) > 0:
			t, g.online = g.online[0], g.online[1:]
		default:
			return
		}
		g.free--
		g.holders = append(g.holders, t)
		close(t.granted)
	}
}

// yield stops online model runs until every waiting booth job has one
// stopping for it; the newest goes first, as it has done the least work.
func (g *gpuGate) yield() {
	stopping := 0
	for _, h := range g.holders {
		if h.stopped {
			stopping++
		}
	}
	for i := len(g.holders) - 1; i >= 0 && stopping < len(g.booth); i-- {
		if h := g.holders[i]; !h.booth && !h.stopped {
			h.stopped = true
			h.stop(ErrGPUPreempted)
			stopping++
		}
	}
}

// jobDevice is one job's generate.Device: its model runs take turns at the
// gate in the job's class.
type jobDevice struct {
	gate  *gpuGate
	booth bool
}

// Run implements generate.Device. An online run stopped for a booth job
// waits for the GPU again, first of the online line, and runs again: the
// job keeps its slot, its attempt and the work of its other steps.
func (d jobDevice) Run(ctx context.Context, run func(ctx context.Context) error) error {
	resume := false
	for {
		runCtx, stop := context.WithCancelCause(ctx)
		turn, err := d.gate.acquire(ctx, d.booth, resume, stop)
		if err != nil {
			stop(nil)
			return err
		}
		err = run(runCtx)
		d.gate.release(turn)
		stopped := err != nil && ctx.Err() == nil && errors.Is(context.Cause(runCtx), ErrGPUPreempted)
		stop(nil)
		if !stopped {
			return err
		}
		logging.FromContext(ctx).Info("model run stopped for a booth job; it runs again after it")
		resume = true
	}
}
