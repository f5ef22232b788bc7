package par

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
)

func TestBandsCoverEachIndexOnce(t *testing.T) {
	for _, tc := range []struct {
		name     string
		pool     *Pool
		n, grain int
	}{
		{"nil pool", nil, 1000, 16},
		{"one core", NewPool(1), 1000, 16},
		{"four cores", NewPool(4), 1000, 16},
		{"fewer than a grain", NewPool(4), 5, 16},
		{"grain one", NewPool(3), 97, 1},
		{"empty", NewPool(2), 0, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seen := make([]int32, tc.n)
			var mu sync.Mutex
			var sizes []int
			if err := tc.pool.Bands(t.Context(), tc.n, tc.grain, func(lo, hi int) {
				mu.Lock()
				sizes = append(sizes, hi-lo)
				mu.Unlock()
				for i := lo; i < hi; i++ {
					atomic.AddInt32(&seen[i], 1)
				}
			}); err != nil {
				t.Fatal(err)
			}
			for i, v := range seen {
				if v != 1 {
					t.Fatalf("index %d ran %d times", i, v)
				}
			}
			// No storm of tiny bands: all but the last are at least a grain.
			slices.Sort(sizes)
			if len(sizes) > 1 && sizes[1] < tc.grain {
				t.Errorf("bands %v smaller than the grain %d", sizes, tc.grain)
			}
		})
	}
}

// TestBandsShareTheCores: with a pool of 4, bands run at once on up to 4
// goroutines (each band waits until 4 are running, so fewer would hang),
// and never more, even with two calls at once.
func TestBandsShareTheCores(t *testing.T) {
	p := NewPool(4)
	var running, most atomic.Int32
	var mu sync.Mutex
	all := make(chan struct{})
	var once sync.Once
	band := func(lo, hi int) {
		n := running.Add(1)
		defer running.Add(-1)
		mu.Lock()
		most.Store(max(most.Load(), n))
		mu.Unlock()
		if n == 4 {
			once.Do(func() { close(all) })
		}
		<-all
	}
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if err := p.Bands(t.Context(), 64, 1, band); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if m := most.Load(); m > 5 {
		// Two callers and three helpers at most.
		t.Errorf("%d bands at once with a pool of 4 and two callers", m)
	}
}

func TestBandsStopWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	var ran atomic.Int32
	err := NewPool(2).Bands(ctx, 1000, 1, func(lo, hi int) {
		if ran.Add(1) == 3 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if n := ran.Load(); n > 10 {
		t.Errorf("%d bands ran after the cancel, want a few at most", n)
	}
}

func TestBandsPanicReachesTheCaller(t *testing.T) {
	defer func() {
		if r := recover(); r == nil {
			t.Error("no panic in the caller")
		}
	}()
	_ = NewPool(4).Bands(t.Context(), 100, 1, func(lo, hi int) {
		if lo <= 50 && 50 < hi {
			panic("boom")
		}
	})
}

func TestPoolInContext(t *testing.T) {
	p := NewPool(2)
	if got := From(With(t.Context(), p)); got != p {
		t.Errorf("From = %p, want %p", got, p)
	}
	if got := From(t.Context()); got != nil {
		t.Errorf("From without a pool = %p, want nil", got)
	}
}
