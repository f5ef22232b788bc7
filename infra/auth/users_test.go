package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tigerstudio/studio/infra/config/configtest"
)

// fakeClock is a clock the test moves by hand, so "while cached" and "once
// expired" do not depend on how fast the test runs.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Now()} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// withClock and withLookup are the test seams of NewVerifier.
func withClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

func withLookup(wrap func(lookupFunc) lookupFunc) Option {
	return func(o *options) { o.wrapLookup = wrap }
}

// countLookups wraps a lookup and counts its calls.
func countLookups(n *atomic.Int64) func(lookupFunc) lookupFunc {
	return func(next lookupFunc) lookupFunc {
		return func(ctx context.Context, uid string) (userState, error) {
			n.Add(1)
			return next(ctx, uid)
		}
	}
}

// fixedLookup answers every uid from states (missing when absent), counting
// calls.
func fixedLookup(n *atomic.Int64, states map[string]userState) lookupFunc {
	return func(_ context.Context, uid string) (userState, error) {
		n.Add(1)
		st, ok := states[uid]
		if !ok {
			return userState{missing: true}, nil
		}
		return st, nil
	}
}

const testProject = "test-project"

// unsigned builds an emulator-style token for uid issued at iat, with
// claims overriding the standard ones.
func unsigned(uid string, iat time.Time, claims map[string]any) string {
	c := map[string]any{
		"iss": "https://securetoken.google.com/" + testProject,
		"aud": testProject,
		"sub": uid,
		"iat": iat.Unix(),
		"exp": iat.Add(time.Hour).Unix(),
	}
	for k, v := range claims {
		c[k] = v
	}
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(map[string]any{"alg": "none", "typ": "JWT"}) + "." + enc(c) + "."
}

func TestCacheConfig(t *testing.T) {
	configtest.Run(t, func() *CacheConfig { return &CacheConfig{} }, []configtest.Case{
		{Name: "defaults", Env: map[string]string{}},
		{Name: "no caching", Env: map[string]string{"AUTH_USER_CACHE_TTL": "0s"}},
		{Name: "negative TTL and no room", Env: map[string]string{"AUTH_USER_CACHE_TTL": "-1s", "AUTH_USER_CACHE_SIZE": "0"},
			Want: []string{"AUTH_USER_CACHE_TTL", "AUTH_USER_CACHE_SIZE"}},
		{Name: "TTL beyond a token's life", Env: map[string]string{"AUTH_USER_CACHE_TTL": "2h"}, Want: []string{"AUTH_USER_CACHE_TTL"}},
	})
	var c CacheConfig
	configtest.Run(t, func() *CacheConfig { return &c }, []configtest.Case{{Name: "env defaults", Env: map[string]string{}}})
	if c != DefaultCacheConfig() {
		t.Errorf("env defaults %+v differ from DefaultCacheConfig %+v", c, DefaultCacheConfig())
	}
}

// TestVerifyVerdicts checks what Verify makes of each user state, with the
// emulator's token checks and a lookup that needs no stack.
func TestVerifyVerdicts(t *testing.T) {
	clock := newFakeClock()
	issued := clock.Now().Add(-time.Minute)
	lookupErr := errors.New("connection refused")
	for _, tc := range []struct {
		name        string
		state       userState
		lookupErr   error
		wantInvalid bool
		wantErr     bool
	}{
		{name: "active user", state: userState{validAfterMillis: issued.Add(-time.Hour).UnixMilli()}},
		{name: "revoked in the second the token was issued", state: userState{validAfterMillis: issued.Unix() * 1000}},
		{name: "revoked after the token was issued", state: userState{validAfterMillis: (issued.Unix() + 1) * 1000}, wantInvalid: true},
		{name: "disabled", state: userState{disabled: true}, wantInvalid: true},
		{name: "deleted", state: userState{missing: true}, wantInvalid: true},
		{name: "lookup failed", lookupErr: lookupErr, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lookup := func(context.Context, string) (userState, error) { return tc.state, tc.lookupErr }
			v := newVerifier(emulatorDecoder(testProject, clock.Now), lookup, DefaultCacheConfig(), clock.Now)
			u, err := v.Verify(context.Background(), unsigned("u1", issued, map[string]any{"email": "a@example.test", "staff": []any{"gala"}}))
			switch {
			case tc.wantInvalid:
				if !errors.Is(err, ErrInvalidToken) {
					t.Fatalf("Verify = %+v, %v; want ErrInvalidToken", u, err)
				}
			case tc.wantErr:
				if err == nil || errors.Is(err, ErrInvalidToken) || !errors.Is(err, lookupErr) {
					t.Fatalf("Verify = %+v, %v; want the lookup's error, not ErrInvalidToken", u, err)
				}
			default:
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if want := (User{UID: "u1", Email: "a@example.test", StaffEvents: []string{"gala"}}); !reflect.DeepEqual(u, want) {
					t.Errorf("Verify = %+v, want %+v", u, want)
				}
			}
		})
	}
}

func TestUserCacheTTL(t *testing.T) {
	clock := newFakeClock()
	var n atomic.Int64
	c := newUserCache(fixedLookup(&n, map[string]userState{"u": {}}), CacheConfig{TTL: time.Minute, Size: 10}, clock.Now)
	ctx := context.Background()
	for _, step := range []struct {
		advance     time.Duration
		wantLookups int64
	}{
		{0, 1},                             // first use looks up
		{time.Minute - time.Nanosecond, 1}, // still fresh
		{time.Nanosecond, 2},               // a TTL after the lookup: looks up again
		{30 * time.Second, 2},              // fresh from the second lookup
	} {
		clock.Advance(step.advance)
		if _, err := c.get(ctx, "u"); err != nil {
			t.Fatal(err)
		}
		if got := n.Load(); got != step.wantLookups {
			t.Fatalf("after +%s: %d lookups, want %d", step.advance, got, step.wantLookups)
		}
	}
}

func TestUserCacheNoTTL(t *testing.T) {
	var n atomic.Int64
	c := newUserCache(fixedLookup(&n, nil), CacheConfig{TTL: 0, Size: 10}, time.Now)
	for range 3 {
		if _, err := c.get(context.Background(), "u"); err != nil {
			t.Fatal(err)
		}
	}
	if n.Load() != 3 || c.len() != 0 {
		t.Errorf("TTL 0: %d lookups and %d entries, want 3 and 0", n.Load(), c.len())
	}
}

// TestUserCacheBound checks that the cache never holds more than Size users
// and forgets the least recently used first.
func TestUserCacheBound(t *testing.T) {
	var n atomic.Int64
	c := newUserCache(fixedLookup(&n, nil), CacheConfig{TTL: time.Hour, Size: 3}, time.Now)
	ctx := context.Background()
	get := func(uid string) {
		t.Helper()
		if _, err := c.get(ctx, uid); err != nil {
			t.Fatal(err)
		}
	}
	for _, uid := range []string{"a", "b", "c", "a", "d", "e"} { // "a" used again before "d" arrives
		get(uid)
		if c.len() > 3 {
			t.Fatalf("after %s: %d entries, bound is 3", uid, c.len())
		}
	}
	// Five users, five lookups; "b" and "c" were the least recently used.
	for _, tc := range []struct {
		uid    string
		cached bool
	}{{"a", true}, {"d", true}, {"e", true}, {"b", false}} {
		before := n.Load()
		get(tc.uid)
		if cached := n.Load() == before; cached != tc.cached {
			t.Errorf("%s cached = %v, want %v", tc.uid, cached, tc.cached)
		}
	}
}

func TestUserCacheFailureNotCached(t *testing.T) {
	var n atomic.Int64
	fail := errors.New("unavailable")
	lookup := func(context.Context, string) (userState, error) {
		if n.Add(1) == 1 {
			return userState{}, fail
		}
		return userState{}, nil
	}
	c := newUserCache(lookup, DefaultCacheConfig(), time.Now)
	if _, err := c.get(context.Background(), "u"); !errors.Is(err, fail) {
		t.Fatalf("first get: %v, want %v", err, fail)
	}
	if _, err := c.get(context.Background(), "u"); err != nil {
		t.Fatalf("second get: %v; a failure must not be cached", err)
	}
	if n.Load() != 2 {
		t.Errorf("%d lookups, want 2", n.Load())
	}
}

// TestUserCacheSharedLookup checks that concurrent requests of one user cost
// one lookup, and that a caller who gives up neither cancels it for the
// others nor waits for it.
func TestUserCacheSharedLookup(t *testing.T) {
	var n atomic.Int64
	started, release := make(chan struct{}), make(chan struct{})
	lookup := func(ctx context.Context, uid string) (userState, error) {
		if n.Add(1) == 1 {
			close(started)
		}
		select {
		case <-release:
			return userState{validAfterMillis: 42}, nil
		case <-ctx.Done():
			return userState{}, ctx.Err()
		}
	}
	c := newUserCache(lookup, DefaultCacheConfig(), time.Now)

	impatient, cancel := context.WithCancel(context.Background())
	gaveUp := make(chan error, 1)
	go func() {
		_, err := c.get(impatient, "u")
		gaveUp <- err
	}()
	<-started
	cancel()
	if err := <-gaveUp; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller got %v, want context.Canceled", err)
	}

	const callers = 50
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for range callers {
		wg.Go(func() {
			st, err := c.get(context.Background(), "u")
			if err == nil && st.validAfterMillis != 42 {
				err = fmt.Errorf("state %+v", st)
			}
			errs <- err
		})
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n.Load() != 1 {
		t.Errorf("%d lookups for %d concurrent callers, want 1", n.Load(), callers+1)
	}
}
