package testenv

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Load runs do n times from clients goroutines and returns each call's
// latency, in completion order. The first error fails t and stops every
// client, so a broken dependency ends a benchmark instead of hanging it.
func Load(t testing.TB, clients, n int, do func(i int) error) []time.Duration {
	t.Helper()
	var (
		next      atomic.Int64
		failed    atomic.Bool
		mu        sync.Mutex
		latencies = make([]time.Duration, 0, n)
		wg        sync.WaitGroup
	)
	for range clients {
		wg.Go(func() {
			for !failed.Load() {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				start := time.Now()
				if err := do(i); err != nil {
					if !failed.Swap(true) {
						t.Errorf("load: call %d: %v", i, err)
					}
					return
				}
				d := time.Since(start)
				mu.Lock()
				latencies = append(latencies, d)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return latencies
}
