package auth

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// CacheConfig tunes the per-user cache of what the revocation check needs.
// Its env tags let a component's Config embed it.
type CacheConfig struct {
	// TTL is how long a lookup is trusted: a user who is disabled, deleted
	// or has their tokens revoked is refused at most this long after. Zero
	// looks the user up on every request (concurrent requests of one user
	// still share one lookup).
	TTL time.Duration `env:"AUTH_USER_CACHE_TTL, default=1m"`
	// Size bounds the users remembered; beyond it the least recently used
	// is forgotten, so memory does not grow with the number of users.
	Size int `env:"AUTH_USER_CACHE_SIZE, default=10000"`
}

// DefaultCacheConfig is the cache NewVerifier uses without WithCache, the
// same as the env defaults.
func DefaultCacheConfig() CacheConfig {
	return CacheConfig{TTL: time.Minute, Size: 10000}
}

// maxTTL is an ID token's lifetime: a longer TTL would trust a lookup
// longer than revocation can matter, and is surely a typo.
const maxTTL = time.Hour

// Validate reports every problem at once.
func (c CacheConfig) Validate() error {
	var errs []error
	if c.TTL < 0 || c.TTL > maxTTL {
		errs = append(errs, fmt.Errorf("AUTH_USER_CACHE_TTL=%s must be between 0 and %s", c.TTL, maxTTL))
	}
	if c.Size < 1 {
		errs = append(errs, fmt.Errorf("AUTH_USER_CACHE_SIZE=%d must be at least 1", c.Size))
	}
	return errors.Join(errs...)
}

// lookupTimeout bounds one user lookup. It runs detached from the request
// that started it (other requests wait for the same result), so it needs its
// own limit; it leaves room for the SDK's retries of a brief outage.
const lookupTimeout = 10 * time.Second

// userState is what the revocation check needs to know about a user.
type userState struct {
	missing          bool // deleted, or never existed
	disabled         bool
	validAfterMillis int64 // tokens issued before this are revoked
	credentials      int   // linked sign-in methods (email, Google...): 0 for a guest
}

// lookupFunc reads a user's state; a failure is an error, a missing user is
// a state.
type lookupFunc func(ctx context.Context, uid string) (userState, error)

// userCache remembers each user's state for a TTL, at most size users, least
// recently used dropped first. Concurrent misses of one user share a single
// lookup. Failed lookups are not remembered: the next request tries again.
type userCache struct {
	lookup lookupFunc
	now    func() time.Time
	ttl    time.Duration
	size   int

	mu      sync.Mutex
	entries map[string]*list.Element // values are *cacheEntry
	recent  *list.List               // most recently used at the front
	flights map[string]*flight       // lookups in progress
}

type cacheEntry struct {
	uid     string
	state   userState
	fetched time.Time
}

// flight is one lookup in progress; done is closed once state and err are
// set.
type flight struct {
	done  chan struct{}
	state userState
	err   error
}

func newUserCache(lookup lookupFunc, c CacheConfig, now func() time.Time) *userCache {
	return &userCache{
		lookup:  lookup,
		now:     now,
		ttl:     c.TTL,
		size:    c.Size,
		entries: make(map[string]*list.Element),
		recent:  list.New(),
		flights: make(map[string]*flight),
	}
}

// get returns the user's state, from the cache while it is fresh, else from
// a lookup, which it shares with any other caller missing the same user.
func (c *userCache) get(ctx context.Context, uid string) (userState, error) {
	c.mu.Lock()
	if el, ok := c.entries[uid]; ok {
		e := el.Value.(*cacheEntry)
		if c.now().Sub(e.fetched) < c.ttl {
			c.recent.MoveToFront(el)
			st := e.state
			c.mu.Unlock()
			return st, nil
		}
	}
	f, ok := c.flights[uid]
	if !ok {
		f = &flight{done: make(chan struct{})}
		c.flights[uid] = f
		// Detached from this request's cancellation: the others waiting for
		// the same user must not fail because this client went away.
		go c.fetch(context.WithoutCancel(ctx), uid, f)
	}
	c.mu.Unlock()
	select {
	case <-f.done:
		return f.state, f.err
	case <-ctx.Done():
		return userState{}, fmt.Errorf("auth: wait for user %s: %w", uid, ctx.Err())
	}
}

func (c *userCache) fetch(ctx context.Context, uid string, f *flight) {
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	// The state is as old as the moment the lookup began.
	started := c.now()
	f.state, f.err = c.lookup(ctx, uid)
	c.mu.Lock()
	delete(c.flights, uid)
	if f.err == nil && c.ttl > 0 {
		c.store(uid, f.state, started)
	}
	c.mu.Unlock()
	close(f.done)
}

// store records a lookup, dropping the least recently used users beyond
// size. c.mu must be held.
func (c *userCache) store(uid string, st userState, fetched time.Time) {
	if el, ok := c.entries[uid]; ok {
		el.Value = &cacheEntry{uid: uid, state: st, fetched: fetched}
		c.recent.MoveToFront(el)
		return
	}
	c.entries[uid] = c.recent.PushFront(&cacheEntry{uid: uid, state: st, fetched: fetched})
	for c.recent.Len() > c.size {
		oldest := c.recent.Back()
		c.recent.Remove(oldest)
		delete(c.entries, oldest.Value.(*cacheEntry).uid)
	}
}

// len is the number of users remembered, for tests of the bound.
func (c *userCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
