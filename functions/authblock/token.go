package authblock

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v4"

	"github.com/tigerstudio/studio/infra/auth"
)

// ErrInvalidToken means a blocking request's token failed a check.
var ErrInvalidToken = errors.New("invalid blocking token")

// claims is the blocking token's payload, as far as it is used.
type claims struct {
	jwt.RegisteredClaims
	EventType    string `json:"event_type"`
	SignInMethod string `json:"sign_in_method"`
	UserRecord   struct {
		UID          string         `json:"uid"`
		CustomClaims map[string]any `json:"custom_claims"`
	} `json:"user_record"`
}

// TokenDecoder checks a blocking token's issuer (the project's
// securetoken), audience (the function's own URL), expiry and, in the
// cloud, Google's RS256 signature.
type TokenDecoder struct {
	project, audience string
	// unsigned accepts the Auth emulator's unsigned tokens; set only when
	// FIREBASE_AUTH_EMULATOR_HOST is.
	unsigned bool
	keys     *googleKeys
	now      func() time.Time
}

// NewTokenDecoder builds a decoder. Without audience any audience is
// accepted: only for the emulator, which names the URL it was given.
func NewTokenDecoder(project, audience string, emulator bool, client *http.Client) *TokenDecoder {
	return &TokenDecoder{project: project, audience: audience, unsigned: emulator,
		keys: &googleKeys{url: googleCertsURL, client: client}, now: time.Now}
}

// googleCertsURL serves the keys Identity Platform signs blocking tokens
// (and ID tokens) with.
const googleCertsURL = "https://www.googleapis.com/robot/v1/metadata/x509/securetoken@system.gserviceaccount.com"

// Decode verifies raw and returns its event.
func (d *TokenDecoder) Decode(ctx context.Context, raw string) (Event, error) {
	var c claims
	if d.unsigned {
		if err := auth.UnverifiedPayload(raw, &c); err != nil {
			return Event{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
		}
	} else {
		p := jwt.NewParser(jwt.WithValidMethods([]string{"RS256"}), jwt.WithoutClaimsValidation())
		if _, err := p.ParseWithClaims(raw, &c, func(t *jwt.Token) (any, error) {
			kid, _ := t.Header["kid"].(string)
			return d.keys.key(ctx, kid)
		}); err != nil {
			return Event{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
		}
	}
	now := d.now()
	var err error
	switch {
	case c.Issuer != "https://securetoken.google.com/"+d.project:
		err = fmt.Errorf("iss %q", c.Issuer)
	case d.audience != "" && !c.VerifyAudience(d.audience, true):
		err = fmt.Errorf("aud %v, want %q", c.Audience, d.audience)
	case d.audience == "" && !d.unsigned:
		err = errors.New("no audience configured")
	case c.ExpiresAt == nil || !c.ExpiresAt.Add(time.Minute).After(now):
		err = errors.New("expired")
	case c.UserRecord.UID == "" || c.EventType == "":
		err = errors.New("no user or event type")
	}
	if err != nil {
		return Event{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	return Event{Type: c.EventType, SignInMethod: c.SignInMethod, UID: c.UserRecord.UID, Claims: c.UserRecord.CustomClaims}, nil
}

// googleKeys fetches and caches Google's signing certificates by key id,
// for as long as the answer's Cache-Control allows.
type googleKeys struct {
	url    string
	client *http.Client

	mu      sync.Mutex
	keys    map[string]*rsa.PublicKey
	expires time.Time
}

func (g *googleKeys) key(ctx context.Context, kid string) (*rsa.PublicKey, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.keys == nil || time.Now().After(g.expires) {
		if err := g.refresh(ctx); err != nil {
			return nil, err
		}
	}
	k, ok := g.keys[kid]
	if !ok {
		return nil, fmt.Errorf("unknown key id %q", kid)
	}
	return k, nil
}

func (g *googleKeys) refresh(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.url, nil)
	if err != nil {
		return err
	}
	resp, err := g.client.Do(req)
	if err != nil {
		return fmt.Errorf("fetching Google's keys: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("fetching Google's keys: %s", resp.Status)
	}
	var certs map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&certs); err != nil {
		return fmt.Errorf("the keys from Google: %w", err)
	}
	keys := make(map[string]*rsa.PublicKey, len(certs))
	for kid, p := range certs {
		block, _ := pem.Decode([]byte(p))
		if block == nil {
			return fmt.Errorf("the key %s from Google: not PEM", kid)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return fmt.Errorf("the key %s from Google: %w", kid, err)
		}
		pub, ok := cert.PublicKey.(*rsa.PublicKey)
		if !ok {
			return fmt.Errorf("the key %s from Google: not RSA", kid)
		}
		keys[kid] = pub
	}
	g.keys, g.expires = keys, time.Now().Add(maxAge(resp.Header.Get("Cache-Control")))
	return nil
}

// maxAge reads Cache-Control's max-age, an hour when absent.
func maxAge(cc string) time.Duration {
	for _, part := range strings.Split(cc, ",") {
		var s int
		if _, err := fmt.Sscanf(strings.TrimSpace(part), "max-age=%d", &s); err == nil && s > 0 {
			return time.Duration(s) * time.Second
		}
	}
	return time.Hour
}
