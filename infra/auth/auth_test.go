package auth

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	firebase "firebase.google.com/go/v4"
	fbauth "firebase.google.com/go/v4/auth"

	"github.com/tigerstudio/studio/infra/testenv"
)

// adminClient is an Admin SDK client of the stack's Auth emulator, to change
// users behind the Verifier's back.
func adminClient(t *testing.T, s testenv.Stack) *fbauth.Client {
	t.Helper()
	app, err := firebase.NewApp(context.Background(), &firebase.Config{ProjectID: s.Project})
	if err != nil {
		t.Fatal(err)
	}
	c, err := app.Auth(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// issuedAt reads a token's iat without checking anything.
func issuedAt(t *testing.T, token string) int64 {
	t.Helper()
	tok, err := decodeUnsigned(token)
	if err != nil {
		t.Fatal(err)
	}
	return tok.IssuedAt
}

// TestVerifyTokens checks the token checks against the emulator's own
// tokens and users.
func TestVerifyTokens(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	ctx := testenv.Ctx(t)
	v, err := NewVerifier(ctx, s.Project)
	if err != nil {
		t.Fatal(err)
	}
	staff := s.NewUser(t, testenv.UserOpts{StaffOf: "gala", EmailVerified: true})
	now := time.Now()
	for _, tc := range []struct {
		name    string
		token   string
		invalid bool
	}{
		{name: "signed in staff", token: s.NewUser(t, testenv.UserOpts{StaffOf: "gala", EmailVerified: true}).Token},
		{name: "empty", token: "", invalid: true},
		{name: "garbage", token: "not-a-token", invalid: true},
		{name: "expired", token: s.UnsignedToken(staff.UID, map[string]any{"iat": now.Add(-3 * time.Hour).Unix(), "exp": now.Add(-2 * time.Hour).Unix()}), invalid: true},
		{name: "another project", token: s.UnsignedToken(staff.UID, map[string]any{"aud": "other", "iss": "https://securetoken.google.com/other"}), invalid: true},
		{name: "user that never existed", token: s.UnsignedToken(testenv.Unique("ghost"), map[string]any{"iat": now.Unix()}), invalid: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, err := v.Verify(ctx, tc.token)
			if tc.invalid {
				if !errors.Is(err, ErrInvalidToken) {
					t.Fatalf("Verify = %+v, %v; want ErrInvalidToken", u, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if u.UID == "" || !u.StaffOf("gala") || u.StaffOf("other") || !u.EmailVerified || !strings.HasSuffix(u.Email, "@example.test") {
				t.Errorf("Verify = %+v, want a verified staff user of gala only", u)
			}
		})
	}
}

// TestVerifyUserChanges checks that a user disabled, revoked or deleted on
// the emulator keeps being accepted while the cache holds the user (no new
// lookup) and is refused once the entry expires. The clock is the test's,
// so "while cached" cannot flake.
func TestVerifyUserChanges(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	admin := adminClient(t, s)
	for _, tc := range []struct {
		name   string
		change func(ctx context.Context, uid string) error
	}{
		{name: "disabled", change: func(ctx context.Context, uid string) error {
			_, err := admin.UpdateUser(ctx, uid, (&fbauth.UserToUpdate{}).Disabled(true))
			return err
		}},
		{name: "refresh tokens revoked", change: admin.RevokeRefreshTokens},
		{name: "deleted", change: admin.DeleteUser},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := testenv.Ctx(t)
			clock := newFakeClock()
			var lookups atomic.Int64
			const ttl = time.Minute
			v, err := NewVerifier(ctx, s.Project, WithCache(CacheConfig{TTL: ttl, Size: 10}),
				withClock(clock.Now), withLookup(countLookups(&lookups)))
			if err != nil {
				t.Fatal(err)
			}
			user := s.NewUser(t, testenv.UserOpts{})
			verify := func(step string, wantLookups int64, wantInvalid bool) {
				t.Helper()
				_, err := v.Verify(ctx, user.Token)
				if wantInvalid != errors.Is(err, ErrInvalidToken) || (!wantInvalid && err != nil) {
					t.Fatalf("%s: Verify: %v, want invalid = %v", step, err, wantInvalid)
				}
				if got := lookups.Load(); got != wantLookups {
					t.Fatalf("%s: %d lookups, want %d", step, got, wantLookups)
				}
			}
			verify("first request", 1, false)
			verify("second request", 1, false)
			// A revocation takes effect for tokens issued before its second
			// (validSince has whole seconds): let that second begin.
			iat := issuedAt(t, user.Token)
			testenv.Eventually(t, "a second after the token was issued", func() bool { return time.Now().Unix() > iat })
			if err := tc.change(ctx, user.UID); err != nil {
				t.Fatal(err)
			}
			verify("after the change, while cached", 1, false)
			clock.Advance(ttl)
			verify("after the change, once the entry expired", 2, true)
			verify("once refused, the refusal is cached too", 2, true)
		})
	}
}

// TestVerifyRealClock checks the same with the real clock and a tiny TTL:
// a disabled user is refused soon after, without a restart.
func TestVerifyRealClock(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	ctx := testenv.Ctx(t)
	v, err := NewVerifier(ctx, s.Project, WithCache(CacheConfig{TTL: 50 * time.Millisecond, Size: 10}))
	if err != nil {
		t.Fatal(err)
	}
	user := s.NewUser(t, testenv.UserOpts{})
	if _, err := v.Verify(ctx, user.Token); err != nil {
		t.Fatalf("before disabling: %v", err)
	}
	if _, err := adminClient(t, s).UpdateUser(ctx, user.UID, (&fbauth.UserToUpdate{}).Disabled(true)); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "the disabled user's token to be refused", func() bool {
		_, err := v.Verify(ctx, user.Token)
		return errors.Is(err, ErrInvalidToken)
	})
}

// TestVerifyCacheBound checks that N+1 users leave at most N entries, the
// first user's forgotten.
func TestVerifyCacheBound(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	ctx := testenv.Ctx(t)
	const size = 3
	var lookups atomic.Int64
	v, err := NewVerifier(ctx, s.Project, WithCache(CacheConfig{TTL: time.Hour, Size: size}), withLookup(countLookups(&lookups)))
	if err != nil {
		t.Fatal(err)
	}
	var users []testenv.User
	for i := range size + 1 {
		users = append(users, s.NewUser(t, testenv.UserOpts{}))
		if _, err := v.Verify(ctx, users[i].Token); err != nil {
			t.Fatal(err)
		}
		if n := v.users.len(); n > size {
			t.Fatalf("%d users verified: %d cache entries, bound is %d", i+1, n, size)
		}
	}
	if n := v.users.len(); n != size {
		t.Errorf("%d cache entries, want %d", n, size)
	}
	for _, tc := range []struct {
		name        string
		user        testenv.User
		wantLookups int64
	}{
		{"newest user is cached", users[size], size + 1},
		{"oldest user was forgotten", users[0], size + 2},
	} {
		if _, err := v.Verify(ctx, tc.user.Token); err != nil {
			t.Fatal(err)
		}
		if got := lookups.Load(); got != tc.wantLookups {
			t.Errorf("%s: %d lookups, want %d", tc.name, got, tc.wantLookups)
		}
	}
}

// TestVerifyLookupFails checks that a user lookup that fails is no verdict
// on the token: the error is not ErrInvalidToken (the Gateway answers 503),
// and nothing is cached.
func TestVerifyLookupFails(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	ctx := testenv.Ctx(t)
	down := errors.New("auth backend unreachable")
	var calls atomic.Int64
	failing := func(lookupFunc) lookupFunc {
		return func(context.Context, string) (userState, error) {
			calls.Add(1)
			return userState{}, down
		}
	}
	v, err := NewVerifier(ctx, s.Project, withLookup(failing))
	if err != nil {
		t.Fatal(err)
	}
	user := s.NewUser(t, testenv.UserOpts{})
	for range 2 {
		_, err := v.Verify(ctx, user.Token)
		if err == nil || errors.Is(err, ErrInvalidToken) || !errors.Is(err, down) {
			t.Fatalf("Verify: %v; want the lookup's error, not ErrInvalidToken", err)
		}
	}
	if calls.Load() != 2 {
		t.Errorf("%d lookups for 2 requests; a failure must not be cached", calls.Load())
	}
}

// TestVerifyAuthServerFails points the Admin SDK at an Auth "emulator" that
// answers 500: the SDK's own lookup fails, and Verify reports an error that
// is not ErrInvalidToken. Not parallel: it sets the process environment the
// SDK reads.
func TestVerifyAuthServerFails(t *testing.T) {
	s := testenv.Get(t)
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"error":{"code":500,"message":"INTERNAL"}}`, http.StatusInternalServerError)
	}))
	t.Cleanup(broken.Close)
	t.Setenv(emulatorHostEnv, strings.TrimPrefix(broken.URL, "http://"))
	ctx := testenv.Ctx(t)
	v, err := NewVerifier(ctx, s.Project)
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.Verify(ctx, s.UnsignedToken(testenv.Unique("uid"), map[string]any{"iat": time.Now().Unix()}))
	if err == nil || errors.Is(err, ErrInvalidToken) || !strings.Contains(err.Error(), "look up user") {
		t.Fatalf("Verify with a failing Auth server: %v; want the lookup's error, not ErrInvalidToken", err)
	}
}

// TestStaffOf: staff rights need the event named in the claim and a
// verified address; any other shape of the claim (the old project-wide
// true) grants nothing.
func TestStaffOf(t *testing.T) {
	for _, tc := range []struct {
		name     string
		claim    any
		verified bool
		event    string
		want     bool
	}{
		{"staff of the event", []any{"gala", "fair"}, true, "fair", true},
		{"staff of another event", []any{"gala"}, true, "fair", false},
		{"unverified address", []any{"gala"}, false, "gala", false},
		{"project-wide true grants nothing", true, true, "gala", false},
		{"a string is not a list", "gala", true, "gala", false},
		{"no claim", nil, true, "gala", false},
		{"empty event", []any{""}, true, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			claims := map[string]any{}
			if tc.claim != nil {
				claims[StaffClaim] = tc.claim
			}
			u := User{EmailVerified: tc.verified, StaffEvents: StaffEvents(claims)}
			if got := u.StaffOf(tc.event); got != tc.want {
				t.Errorf("StaffOf(%q) = %v, want %v (claim %v, verified %v)", tc.event, got, tc.want, tc.claim, tc.verified)
			}
		})
	}
}
