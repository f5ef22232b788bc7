package worker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
)

func TestGPUGate(t *testing.T) {
	type step struct {
		op   string // enter (online), booth, resume (an online job stopped earlier), release
		turn string
	}
	enter := func(n string) step { return step{op: "enter", turn: n} }
	booth := func(n string) step { return step{op: "booth", turn: n} }
	resume := func(n string) step { return step{op: "resume", turn: n} }
	release := func(n string) step { return step{op: "release", turn: n} }
	tests := []struct {
		name        string
		slots       int
		preempt     bool
		steps       []step
		wantGranted []string // in the order granted
		wantStopped []string
	}{
		{"a free slot is granted at once", 1, true, []step{enter("a")}, []string{"a"}, nil},
		{"online jobs wait their turn", 1, true, []step{enter("a"), enter("b"), release("a")}, []string{"a", "b"}, nil},
		{"booth before online", 1, false, []step{enter("a"), enter("b"), booth("c"), release("a")}, []string{"a", "c"}, nil},
		{"a booth job stops the online generation", 1, true, []step{enter("a"), booth("b"), release("a")}, []string{"a", "b"}, []string{"a"}},
		{"the newest online generation stops", 2, true, []step{enter("a"), enter("b"), booth("c")}, []string{"a", "b"}, []string{"b"}},
		{"without preemption nothing stops", 1, false, []step{enter("a"), booth("b")}, []string{"a"}, nil},
		{"booth generations are not stopped", 1, true, []step{booth("a"), booth("b")}, []string{"a"}, nil},
		{"one stop per waiting booth job", 1, true, []step{enter("a"), booth("b"), booth("c"), release("a")}, []string{"a", "b"}, []string{"a"}},
		{"a booth job with a free slot stops nothing", 2, true, []step{enter("a"), booth("b")}, []string{"a", "b"}, nil},
		{"a stopped job goes first when it resumes", 1, true,
			[]step{enter("a"), enter("w"), booth("b"), release("a"), resume("a2"), release("b")},
			[]string{"a", "b", "a2"}, []string{"a"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := newGPUGate(tc.slots, tc.preempt)
			turns := map[string]*gpuTurn{}
			var granted, stopped []string
			for _, s := range tc.steps {
				if s.op == "release" {
					g.release(turns[s.turn])
				} else {
					name := s.turn
					stop := func(cause error) {
						if errors.Is(cause, ErrGPUPreempted) {
							stopped = append(stopped, name)
						}
					}
					turns[name] = g.enter(s.op == "booth", s.op == "resume", stop)
				}
				// Grants happen under the gate's lock, before enter and
				// release return.
				for name, turn := range turns {
					select {
					case <-turn.granted:
						if !slices.Contains(granted, name) {
							granted = append(granted, name)
						}
					default:
					}
				}
			}
			if !slices.Equal(granted, tc.wantGranted) {
				t.Errorf("granted %v, want %v", granted, tc.wantGranted)
			}
			if !slices.Equal(stopped, tc.wantStopped) {
				t.Errorf("stopped %v, want %v", stopped, tc.wantStopped)
			}
		})
	}
}

// TestGPUGateWaitEnds: a waiter whose context ends leaves the line, and a
// slot granted to it as it gave up goes to the next one.
func TestGPUGateWaitEnds(t *testing.T) {
	noStop := func(error) {}
	g := newGPUGate(1, true)
	a := g.enter(false, false, noStop)
	b := g.enter(false, false, noStop)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := g.wait(ctx, b); !errors.Is(err, context.Canceled) {
		t.Fatalf("wait = %v, want context.Canceled", err)
	}
	c := g.enter(false, false, noStop)
	g.release(a)
	select {
	case <-c.granted:
	default:
		t.Fatal("the slot went to a waiter that had left")
	}

	// Granted as its context ends: the waiter either keeps the slot (and
	// releases it) or hands it on; it is never lost.
	d := g.enter(false, false, noStop)
	g.release(c)
	e := g.enter(false, false, noStop)
	if err := g.wait(ctx, d); err == nil {
		g.release(d)
	}
	select {
	case <-e.granted:
	default:
		t.Fatal("a released slot was not handed on")
	}
}

// TestJobDevicePreemptsOnlineRun: a booth job's model run stops the online
// one holding the GPU (cause ErrGPUPreempted), runs, and the online run
// then runs again in the same Run call, which succeeds; the online job's
// own context is untouched.
func TestJobDevicePreemptsOnlineRun(t *testing.T) {
	g := newGPUGate(1, true)
	online, booth := jobDevice{gate: g}, jobDevice{gate: g, booth: true}
	var mu sync.Mutex
	var events []string
	record := func(e string) {
		mu.Lock()
		events = append(events, e)
		mu.Unlock()
	}
	holding := make(chan struct{})
	onlineDone := make(chan error, 1)
	runs := 0
	go func() {
		onlineDone <- online.Run(t.Context(), func(ctx context.Context) error {
			runs++
			record("online-run")
			if runs > 1 {
				return nil
			}
			close(holding)
			<-ctx.Done() // a long model run, cut short
			if !errors.Is(context.Cause(ctx), ErrGPUPreempted) {
				return fmt.Errorf("online run ended by %w, want %w", context.Cause(ctx), ErrGPUPreempted)
			}
			record("online-stopped")
			return ctx.Err()
		})
	}()
	<-holding
	if err := booth.Run(t.Context(), func(context.Context) error { record("booth-run"); return nil }); err != nil {
		t.Fatal(err)
	}
	if err := <-onlineDone; err != nil {
		t.Fatalf("online Run = %v, want nil (run again after the booth job)", err)
	}
	want := []string{"online-run", "online-stopped", "booth-run", "online-run"}
	if !slices.Equal(events, want) {
		t.Errorf("events %v, want %v", events, want)
	}
}
