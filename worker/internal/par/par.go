// Package par spreads an image operation's rows (or columns) over the
// machine's cores: one Pool per process bounds the goroutines that help,
// however many jobs ask at once, and work is handed out in bands of rows,
// never a goroutine per row.
package par

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
)

// Pool bounds the helpers of every Bands call in the process to its size
// less one (the calling goroutine is the other worker). Helpers are
// goroutines that exist only while a call has bands left, so a Pool needs
// no Close. A nil *Pool runs every band on the caller, in order.
type Pool struct {
	helpers chan struct{} // a token per helper running
}

// NewPool returns a pool for n cores; n < 1 means GOMAXPROCS.
func NewPool(n int) *Pool {
	if n < 1 {
		n = runtime.GOMAXPROCS(0)
	}
	return &Pool{helpers: make(chan struct{}, n-1)}
}

// Size is the number of goroutines a call may use, its caller included.
func (p *Pool) Size() int {
	if p == nil {
		return 1
	}
	return cap(p.helpers) + 1
}

// bandsPerWorker splits work finer than the workers so one slow band (or
// a helper that starts late) does not leave the others idle.
const bandsPerWorker = 4

// Bands calls fn over [0, n) split into bands of at least grain indexes,
// on the caller and on as many helpers as the pool has free, and returns
// when every band has run. fn must write only what belongs to its band,
// so the result is the same however the bands are shared. ctx is checked
// before each band: once it is done no new band starts and Bands returns
// its error. A panic in a band is raised again in the caller.
func (p *Pool) Bands(ctx context.Context, n, grain int, fn func(lo, hi int)) error {
	if n <= 0 {
		return ctx.Err()
	}
	grain = max(grain, 1)
	size := max(grain, (n+p.Size()*bandsPerWorker-1)/(p.Size()*bandsPerWorker))
	bands := (n + size - 1) / size
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		panicked atomic.Pointer[string]
	)
	wg.Add(bands)
	work := func() {
		for {
			b := int(next.Add(1)) - 1
			if b >= bands {
				return
			}
			func() {
				defer wg.Done()
				if ctx.Err() != nil || panicked.Load() != nil {
					return
				}
				defer func() {
					if r := recover(); r != nil {
						msg := fmt.Sprint(r)
						panicked.CompareAndSwap(nil, &msg)
					}
				}()
				fn(b*size, min((b+1)*size, n))
			}()
		}
	}
	if p != nil {
	spawn:
		for range min(bands-1, cap(p.helpers)) {
			select {
			case p.helpers <- struct{}{}:
				go func() {
					defer func() { <-p.helpers }()
					work()
				}()
			default:
				break spawn // busy with other calls: the caller does more itself
			}
		}
	}
	work()
	wg.Wait()
	if r := panicked.Load(); r != nil {
		panic("par: a band panicked: " + *r)
	}
	return ctx.Err()
}

type poolKey struct{}

// With returns ctx carrying the process's pool, for the image steps of the
// job ctx belongs to.
func With(ctx context.Context, p *Pool) context.Context {
	return context.WithValue(ctx, poolKey{}, p)
}

// From returns the pool ctx carries, or nil (everything on the caller).
func From(ctx context.Context) *Pool {
	p, _ := ctx.Value(poolKey{}).(*Pool)
	return p
}
