// Package appcheck verifies Firebase App Check tokens: the proof, sent by the
// web app in the X-Firebase-AppCheck header, that a request comes from the
// event's own app on a real browser (reCAPTCHA Enterprise attested it)
// rather than from a script. A token is an RS256 JWT that App Check signs;
// its keys are published as a JWKS (https://firebaseappcheck.googleapis.com/v1/jwks
// in the cloud, the stack's stand-in's locally). The checks are those
// Firebase documents for a custom backend: RS256 with a published key id,
// issuer https://firebaseappcheck.googleapis.com/PROJECT_NUMBER, audience
// naming projects/PROJECT_NUMBER, not expired, and the subject one of the
// event's app ids.
package appcheck

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v4"
)

// Header is the request header the Firebase JS SDK's App Check token is
// sent in.
const Header = "X-Firebase-AppCheck"

// FirebaseJWKS is where App Check publishes its signing keys.
const FirebaseJWKS = "https://firebaseappcheck.googleapis.com/v1/jwks"

// IssuerPrefix is the start of every App Check token's issuer; the project
// number follows.
const IssuerPrefix = "https://firebaseappcheck.googleapis.com/"

// ErrInvalid wraps every reason a token is refused.
var ErrInvalid = errors.New("invalid App Check token")

// Claims are an App Check token's claims.
type Claims struct {
	jwt.RegisteredClaims
}

// Config says which tokens are the event's.
type Config struct {
	// JWKSURL is where the signing keys are published.
	JWKSURL string
	// ProjectNumber is the Firebase project's number (issuer and audience).
	ProjectNumber string
	// AppIDs are the Firebase app ids whose tokens are accepted (the
	// event's web app); empty: any app of the project.
	AppIDs []string
	// Refresh is how long fetched keys are used before they are fetched
	// again (Firebase advises no more than 6 hours); a token with an
	// unknown key id fetches them at most once a minute.
	Refresh time.Duration
}

// Verifier checks App Check tokens against a JWKS it fetches and caches.
type Verifier struct {
	cfg    Config
	client *http.Client
	now    func() time.Time

	mu      sync.Mutex
	keys    map[string]*rsa.PublicKey
	fetched time.Time
	tried   time.Time // last fetch attempt, successful or not
}

// NewVerifier makes a verifier; the keys are fetched on first use.
func NewVerifier(cfg Config, client *http.Client) (*Verifier, error) {
	if cfg.JWKSURL == "" || cfg.ProjectNumber == "" {
		return nil, errors.New("appcheck: the JWKS URL and the project number are required")
	}
	if cfg.Refresh <= 0 {
		cfg.Refresh = 6 * time.Hour
	}
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	return &Verifier{cfg: cfg, client: client, now: time.Now}, nil
}

// Verify checks token and returns its claims. Errors wrap ErrInvalid when
// the token is at fault, and not when the keys could not be fetched.
func (v *Verifier) Verify(ctx context.Context, token string) (*Claims, error) {
	if token == "" {
		return nil, fmt.Errorf("%w: none sent (header %s)", ErrInvalid, Header)
	}
	var keyErr error
	claims := &Claims{}
	parser := jwt.NewParser(jwt.WithValidMethods([]string{"RS256"}), jwt.WithoutClaimsValidation())
	_, err := parser.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		if kid == "" {
			return nil, errors.New("no key id")
		}
		k, err := v.key(ctx, kid)
		if err != nil {
			keyErr = err
		}
		return k, err
	})
	if keyErr != nil && !errors.Is(keyErr, errUnknownKey) {
		return nil, fmt.Errorf("appcheck: %w", keyErr)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	now := v.now()
	switch {
	case claims.Issuer != IssuerPrefix+v.cfg.ProjectNumber:
		return nil, fmt.Errorf("%w: issuer %q is not this project's", ErrInvalid, claims.Issuer)
	case !slices.Contains(claims.Audience, "projects/"+v.cfg.ProjectNumber):
		return nil, fmt.Errorf("%w: audience %v does not name this project", ErrInvalid, claims.Audience)
	case claims.ExpiresAt == nil || !now.Before(claims.ExpiresAt.Time):
		return nil, fmt.Errorf("%w: expired", ErrInvalid)
	case claims.IssuedAt != nil && claims.IssuedAt.After(now.Add(time.Minute)):
		return nil, fmt.Errorf("%w: issued in the future", ErrInvalid)
	case claims.Subject == "" || (len(v.cfg.AppIDs) > 0 && !slices.Contains(v.cfg.AppIDs, claims.Subject)):
		return nil, fmt.Errorf("%w: app %q is not the event's", ErrInvalid, claims.Subject)
	}
	return claims, nil
}

var errUnknownKey = errors.New("unknown key id")

// key returns the public key kid, fetching the JWKS when the cached one is
// stale or lacks kid (at most once a minute for the latter, so forged key
// ids cannot make the Gateway hammer the JWKS endpoint).
func (v *Verifier) key(ctx context.Context, kid string) (*rsa.PublicKey, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	now := v.now()
	k, ok := v.keys[kid]
	stale := now.Sub(v.fetched) > v.cfg.Refresh
	if ok && !stale {
		return k, nil
	}
	if !stale && now.Sub(v.tried) < time.Minute {
		return nil, errUnknownKey
	}
	v.tried = now
	keys, err := fetchJWKS(ctx, v.client, v.cfg.JWKSURL)
	if err != nil {
		if ok {
			return k, nil // a stale key beats none while the endpoint is down
		}
		return nil, err
	}
	v.keys, v.fetched = keys, now
	if k, ok := keys[kid]; ok {
		return k, nil
	}
	return nil, errUnknownKey
}

// JWKS is a JSON Web Key Set of RSA keys, as App Check publishes it.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

// JWK is one RSA public key.
type JWK struct {
	Kty string `json:"kty"`
	Use string `json:"use,omitempty"`
	Alg string `json:"alg,omitempty"`
	Kid string `json:"kid"`
	N   string `json:"n"`
	E   string `json:"e"`
}

// PublicJWK describes key as a JWK with key id kid.
func PublicJWK(kid string, key *rsa.PublicKey) JWK {
	return JWK{Kty: "RSA", Use: "sig", Alg: "RS256", Kid: kid,
		N: base64.RawURLEncoding.EncodeToString(key.N.Bytes()),
		E: base64.RawURLEncoding.EncodeToString(big.NewInt(int64(key.E)).Bytes())}
}

func fetchJWKS(ctx context.Context, client *http.Client, url string) (map[string]*rsa.PublicKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("fetch App Check keys: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch App Check keys: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch App Check keys: %s", resp.Status)
	}
	var set JWKS
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&set); err != nil {
		return nil, fmt.Errorf("fetch App Check keys: decode: %w", err)
	}
	keys := map[string]*rsa.PublicKey{}
	for _, k := range set.Keys {
		if k.Kty != "RSA" || k.Kid == "" {
			continue
		}
		n, errN := base64.RawURLEncoding.DecodeString(k.N)
		e, errE := base64.RawURLEncoding.DecodeString(k.E)
		if errN != nil || errE != nil || len(e) == 0 || len(e) > 4 {
			continue
		}
		keys[k.Kid] = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	}
	if len(keys) == 0 {
		return nil, errors.New("fetch App Check keys: the set has no RSA key")
	}
	return keys, nil
}

// ExchangeDebugToken asks App Check's projects.apps.exchangeDebugToken at
// baseURL (the local stand-in; App Check's own in a project with debug
// tokens) for a token for app, as the web app's debug provider does: how
// the Go client, the demo and the tests get the token a Gateway that
// enforces App Check wants.
func ExchangeDebugToken(ctx context.Context, client *http.Client, baseURL, project, app, debugToken string) (string, error) {
	body, _ := json.Marshal(map[string]string{"debugToken": debugToken})
	url := fmt.Sprintf("%s/v1/projects/%s/apps/%s:exchangeDebugToken", baseURL, project, app)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("appcheck.ExchangeDebugToken: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("appcheck.ExchangeDebugToken: %w", err)
	}
	defer resp.Body.Close()
	var out struct {
		Token string `json:"token"`
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("appcheck.ExchangeDebugToken: %s", resp.Status)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&out); err != nil {
		return "", fmt.Errorf("appcheck.ExchangeDebugToken: decode: %w", err)
	}
	if out.Token == "" {
		return "", errors.New("appcheck.ExchangeDebugToken: no token in the answer")
	}
	return out.Token, nil
}
