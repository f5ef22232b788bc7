package authblock

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v4"
)

// accounts is a record of what the handler did to accounts.
type accounts struct {
	password map[string]bool
	removed  []string
	err      error
}

func (a *accounts) HasPassword(_ context.Context, uid string) (bool, error) {
	return a.password[uid], a.err
}

func (a *accounts) RemovePassword(_ context.Context, uid string) error {
	a.removed = append(a.removed, uid)
	a.password[uid] = false
	return nil
}

// events decodes a token that is the Event's JSON.
type events struct{}

func (events) Decode(_ context.Context, raw string) (Event, error) {
	var ev Event
	if err := json.Unmarshal([]byte(raw), &ev); err != nil {
		return Event{}, ErrInvalidToken
	}
	return ev, nil
}

func post(t *testing.T, h http.Handler, ev Event) *httptest.ResponseRecorder {
	t.Helper()
	raw, _ := json.Marshal(ev)
	body, _ := json.Marshal(map[string]any{"data": map[string]any{"jwt": string(raw)}})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body)))
	return rec
}

func TestRules(t *testing.T) {
	staff := map[string]any{"staff": []any{"gala"}}
	for _, tc := range []struct {
		name        string
		ev          Event
		hasPassword bool
		wantCode    int
		wantRemoved bool
	}{
		{"password sign-up refused", Event{Type: BeforeCreate, SignInMethod: "password", UID: "u"}, false, 400, false},
		{"email-link sign-up allowed", Event{Type: BeforeCreate, SignInMethod: "emailLink", UID: "u"}, false, 200, false},
		{"Google sign-up allowed", Event{Type: BeforeCreate, SignInMethod: "google.com", UID: "u"}, false, 200, false},
		{"email link into a password account removes the password", Event{Type: BeforeSignIn, SignInMethod: "emailLink", UID: "u"}, true, 200, true},
		{"Google into a password account removes the password", Event{Type: BeforeSignIn, SignInMethod: "google.com", UID: "u"}, true, 200, true},
		{"email link into an account without a password", Event{Type: BeforeSignIn, SignInMethod: "emailLink", UID: "u"}, false, 200, false},
		{"a password sign-in leaves the password", Event{Type: BeforeSignIn, SignInMethod: "password", UID: "u"}, true, 200, false},
		{"staff keep their password", Event{Type: BeforeSignIn, SignInMethod: "emailLink", UID: "u", Claims: staff}, true, 200, false},
		{"an unknown event fails closed", Event{Type: "providers/x", UID: "u"}, false, 500, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := &accounts{password: map[string]bool{"u": tc.hasPassword}}
			rec := post(t, New(events{}, a, slog.New(slog.DiscardHandler)), tc.ev)
			if rec.Code != tc.wantCode {
				t.Fatalf("status %d (%s), want %d", rec.Code, rec.Body, tc.wantCode)
			}
			if got := len(a.removed) == 1; got != tc.wantRemoved {
				t.Errorf("password removed: %v, want %v", got, tc.wantRemoved)
			}
			if tc.wantCode == 400 && !strings.Contains(rec.Body.String(), "PERMISSION_DENIED") {
				t.Errorf("refusal body %s, want status PERMISSION_DENIED", rec.Body)
			}
		})
	}
	// A failed lookup refuses the sign-in rather than let it through.
	a := &accounts{password: map[string]bool{}, err: errors.New("lookup down")}
	if rec := post(t, New(events{}, a, slog.New(slog.DiscardHandler)), Event{Type: BeforeSignIn, SignInMethod: "emailLink", UID: "u"}); rec.Code != 500 {
		t.Errorf("lookup failure: status %d, want 500", rec.Code)
	}
	for _, body := range []string{"", "{}", `{"data": {"jwt": "not json"}}`} {
		rec := httptest.NewRecorder()
		New(events{}, a, slog.New(slog.DiscardHandler)).ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body)))
		if rec.Code != 400 && rec.Code != 401 {
			t.Errorf("body %q: status %d, want 400 or 401", body, rec.Code)
		}
	}
	// Identity Platform only POSTs; anything else is told what is allowed.
	rec := httptest.NewRecorder()
	New(events{}, a, slog.New(slog.DiscardHandler)).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != http.MethodPost {
		t.Errorf("GET: status %d, Allow %q; want 405, Allow POST", rec.Code, rec.Header().Get("Allow"))
	}
}

// keyServer serves a certificate for key under kid, as Google's x509
// endpoint does.
func keyServer(t *testing.T, kid string, key *rsa.PrivateKey) *httptest.Server {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	certs, _ := json.Marshal(map[string]string{kid: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=600")
		_, _ = w.Write(certs)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestTokenDecoder(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	srv := keyServer(t, "k1", key)
	const project, aud = "proj", "https://fn.example/AuthBlocking"
	now := time.Now()
	good := func() jwt.MapClaims {
		return jwt.MapClaims{"iss": "https://securetoken.google.com/" + project, "aud": aud,
			"iat": now.Unix(), "exp": now.Add(time.Minute).Unix(), "event_type": BeforeSignIn,
			"sign_in_method": "emailLink", "user_record": map[string]any{"uid": "u1", "custom_claims": map[string]any{"staff": []any{"gala"}}}}
	}
	sign := func(c jwt.MapClaims, k *rsa.PrivateKey, kid string) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
		tok.Header["kid"] = kid
		s, err := tok.SignedString(k)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	with := func(k string, v any) jwt.MapClaims { c := good(); c[k] = v; return c }
	unsigned := func(c jwt.MapClaims) string {
		enc := func(v any) string { b, _ := json.Marshal(v); return base64.RawURLEncoding.EncodeToString(b) }
		return enc(map[string]any{"alg": "none"}) + "." + enc(c) + "."
	}
	for _, tc := range []struct {
		name     string
		raw      string
		emulator bool
		ok       bool
	}{
		{"signed by Google's key", sign(good(), key, "k1"), false, true},
		{"signed by another key", sign(good(), other, "k1"), false, false},
		{"unknown key id", sign(good(), key, "k2"), false, false},
		{"another project", sign(with("iss", "https://securetoken.google.com/other"), key, "k1"), false, false},
		{"another audience", sign(with("aud", "https://evil.example/"), key, "k1"), false, false},
		{"expired", sign(with("exp", now.Add(-time.Hour).Unix()), key, "k1"), false, false},
		{"unsigned outside the emulator", unsigned(good()), false, false},
		{"unsigned in the emulator", unsigned(good()), true, true},
		{"garbage", "a.b.c", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := NewTokenDecoder(project, aud, tc.emulator, srv.Client())
			d.keys.url = srv.URL
			ev, err := d.Decode(t.Context(), tc.raw)
			if !tc.ok {
				if !errors.Is(err, ErrInvalidToken) {
					t.Fatalf("Decode = %+v, %v; want ErrInvalidToken", ev, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ev.UID != "u1" || ev.Type != BeforeSignIn || ev.SignInMethod != "emailLink" || ev.Claims["staff"] == nil {
				t.Errorf("Decode = %+v", ev)
			}
		})
	}
}

func TestMaxAge(t *testing.T) {
	for cc, want := range map[string]time.Duration{"public, max-age=19060, must-revalidate": 19060 * time.Second, "": time.Hour, "no-cache": time.Hour} {
		if got := maxAge(cc); got != want {
			t.Errorf("maxAge(%q) = %v, want %v", cc, got, want)
		}
	}
}
