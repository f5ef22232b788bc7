package appcheck

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v4"
)

// keyServer publishes key (as kid) in a JWKS and counts the fetches.
func keyServer(t *testing.T, kid string, key *rsa.PrivateKey) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var fetches atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		writeSet(w, JWKS{Keys: []JWK{PublicJWK(kid, &key.PublicKey)}})
	}))
	t.Cleanup(srv.Close)
	return srv, &fetches
}

func writeSet(w http.ResponseWriter, set JWKS) {
	w.Header().Set("Content-Type", "application/json")
	b, _ := json.Marshal(set)
	_, _ = w.Write(b)
}

func newKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func sign(t *testing.T, method jwt.SigningMethod, key any, kid string, c jwt.RegisteredClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, Claims{c})
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestVerify(t *testing.T) {
	key, other := newKey(t), newKey(t)
	srv, _ := keyServer(t, "k1", key)
	v, err := NewVerifier(Config{JWKSURL: srv.URL, ProjectNumber: "123", AppIDs: []string{"1:123:web:abc"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	good := jwt.RegisteredClaims{
		Issuer: IssuerPrefix + "123", Subject: "1:123:web:abc", Audience: jwt.ClaimStrings{"projects/123", "projects/p"},
		IssuedAt: jwt.NewNumericDate(now.Add(-time.Minute)), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)),
	}
	with := func(f func(c *jwt.RegisteredClaims)) jwt.RegisteredClaims { c := good; f(&c); return c }
	tests := []struct {
		name  string
		token string
		ok    bool
	}{
		{"valid", sign(t, jwt.SigningMethodRS256, key, "k1", good), true},
		{"none sent", "", false},
		{"not a JWT", "abc.def", false},
		{"another project's issuer", sign(t, jwt.SigningMethodRS256, key, "k1", with(func(c *jwt.RegisteredClaims) { c.Issuer = IssuerPrefix + "999" })), false},
		{"an ID token's issuer", sign(t, jwt.SigningMethodRS256, key, "k1", with(func(c *jwt.RegisteredClaims) { c.Issuer = "https://securetoken.google.com/p" })), false},
		{"audience not this project", sign(t, jwt.SigningMethodRS256, key, "k1", with(func(c *jwt.RegisteredClaims) { c.Audience = jwt.ClaimStrings{"projects/999"} })), false},
		{"expired", sign(t, jwt.SigningMethodRS256, key, "k1", with(func(c *jwt.RegisteredClaims) { c.ExpiresAt = jwt.NewNumericDate(now.Add(-time.Second)) })), false},
		{"no expiry", sign(t, jwt.SigningMethodRS256, key, "k1", with(func(c *jwt.RegisteredClaims) { c.ExpiresAt = nil })), false},
		{"another app", sign(t, jwt.SigningMethodRS256, key, "k1", with(func(c *jwt.RegisteredClaims) { c.Subject = "1:123:web:other" })), false},
		{"signed by another key", sign(t, jwt.SigningMethodRS256, other, "k1", good), false},
		{"unknown key id", sign(t, jwt.SigningMethodRS256, key, "k2", good), false},
		{"no key id", sign(t, jwt.SigningMethodRS256, key, "", good), false},
		{"HS256 with the public key as secret", sign(t, jwt.SigningMethodHS256, key.N.Bytes(), "k1", good), false},
		{"alg none", sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "k1", good), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := v.Verify(context.Background(), tc.token)
			if tc.ok {
				if err != nil || c.Subject != good.Subject {
					t.Fatalf("Verify = %+v, %v; want the token's claims", c, err)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Verify = %+v, %v; want ErrInvalid", c, err)
			}
		})
	}
}

// Keys are fetched once and reused; forged key ids cannot make the
// verifier fetch more than once a minute; a JWKS endpoint that is down is
// the verifier's failure, not the token's (the Gateway answers 503, not 401).
func TestKeysFetched(t *testing.T) {
	key := newKey(t)
	srv, fetches := keyServer(t, "k1", key)
	v, _ := NewVerifier(Config{JWKSURL: srv.URL, ProjectNumber: "123"}, nil)
	clock := time.Now()
	v.now = func() time.Time { return clock }
	claims := jwt.RegisteredClaims{Issuer: IssuerPrefix + "123", Subject: "app", Audience: jwt.ClaimStrings{"projects/123"},
		ExpiresAt: jwt.NewNumericDate(clock.Add(24 * time.Hour))}
	good := sign(t, jwt.SigningMethodRS256, key, "k1", claims)
	for range 5 {
		if _, err := v.Verify(context.Background(), good); err != nil {
			t.Fatal(err)
		}
	}
	for range 5 {
		if _, err := v.Verify(context.Background(), sign(t, jwt.SigningMethodRS256, key, "forged", claims)); !errors.Is(err, ErrInvalid) {
			t.Fatalf("forged key id: %v, want ErrInvalid", err)
		}
	}
	if n := fetches.Load(); n != 1 {
		t.Errorf("%d fetches of the keys, want 1", n)
	}
	clock = clock.Add(7 * time.Hour) // past Refresh: fetched again
	if _, err := v.Verify(context.Background(), good); err != nil || fetches.Load() != 2 {
		t.Errorf("after the refresh period: %v, %d fetches; want the token accepted after a second fetch", err, fetches.Load())
	}

	srv.Close()
	fresh, _ := NewVerifier(Config{JWKSURL: srv.URL, ProjectNumber: "123"}, nil)
	if _, err := fresh.Verify(context.Background(), good); err == nil || errors.Is(err, ErrInvalid) {
		t.Errorf("keys unreachable: %v, want an error that is not ErrInvalid", err)
	}
}
