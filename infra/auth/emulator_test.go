package auth

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestEmulatorDecoder checks that the emulator-mode token checks refuse what
// the Admin SDK refuses in that mode, and keep the custom claims.
func TestEmulatorDecoder(t *testing.T) {
	clock := newFakeClock()
	now := clock.Now()
	decode := emulatorDecoder(testProject, clock.Now)
	for _, tc := range []struct {
		name  string
		token string
		want  string // in the error; empty: accepted
	}{
		{name: "valid", token: unsigned("u1", now, nil)},
		{name: "within the clock skew of expiry", token: unsigned("u1", now.Add(-time.Hour-4*time.Minute), nil)},
		{name: "expired", token: unsigned("u1", now.Add(-time.Hour-6*time.Minute), nil), want: "expired"},
		{name: "issued in the future", token: unsigned("u1", now.Add(6*time.Minute), nil), want: "future"},
		{name: "another project's audience", token: unsigned("u1", now, map[string]any{"aud": "other"}), want: "aud"},
		{name: "another issuer", token: unsigned("u1", now, map[string]any{"iss": "https://securetoken.google.com/other"}), want: "iss"},
		{name: "no subject", token: unsigned("", now, nil), want: "sub"},
		{name: "subject too long", token: unsigned(strings.Repeat("x", 129), now, nil), want: "sub"},
		{name: "two segments", token: "a.b", want: "segments"},
		{name: "payload not base64", token: "e30.***.", want: "payload"},
		{name: "payload not JSON", token: "e30.bm90IGpzb24.", want: "payload"},
		{name: "header not JSON", token: "bm90IGpzb24.e30.", want: "header"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := decode(context.Background(), tc.token)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidToken) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("decode = %+v, %v; want ErrInvalidToken mentioning %q", tok, err, tc.want)
			}
		})
	}

	tok, err := decode(context.Background(), unsigned("u1", now, map[string]any{"email": "a@example.test", "staff": true, "uid": "forged"}))
	if err != nil {
		t.Fatal(err)
	}
	if tok.UID != "u1" || tok.Claims["email"] != "a@example.test" || tok.Claims["staff"] != true {
		t.Errorf("token = %+v, want uid u1 with the email and staff claims", tok)
	}
	for _, standard := range []string{"iss", "aud", "exp", "iat", "sub", "uid"} {
		if _, ok := tok.Claims[standard]; ok {
			t.Errorf("standard claim %s left among the custom claims", standard)
		}
	}
}
