// Package appcheck is the local STAND-IN for Firebase App Check's token
// exchange. In the cloud the web app proves itself with reCAPTCHA Enterprise
// and App Check's servers answer a signed token; neither can be reached
// offline, so the stack runs this: it answers exchangeDebugToken in App
// Check's REST shape (POST /v1/projects/P/apps/A:exchangeDebugToken
// {"debugToken"} -> {"token", "ttl"}) for the stack's one debug token, as
// App Check does for a registered debug token, and publishes its signing key
// at /v1/jwks like https://firebaseappcheck.googleapis.com/v1/jwks. Its
// tokens carry App Check's claims (issuer, audience, subject = app id), so
// the Gateway verifies them with the same code as in the cloud, pointed at
// this JWKS. It attests nothing: anyone with the debug token gets tokens.
package appcheck

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v4"

	"github.com/tigerstudio/studio/emulators/internal/googleapi"
	appcheckv "github.com/tigerstudio/studio/infra/appcheck"
)

// TTL is how long a token lives (App Check's default is an hour).
const TTL = time.Hour

// Server is the stand-in.
type Server struct {
	key           *rsa.PrivateKey
	kid           string
	projectID     string
	projectNumber string
	debugToken    string
	now           func() time.Time
}

// New makes a stand-in with a fresh signing key. Tokens are issued to the
// holder of debugToken for apps of projectID.
func New(projectID, projectNumber, debugToken string) (*Server, error) {
	if projectID == "" || projectNumber == "" || debugToken == "" {
		return nil, fmt.Errorf("appcheck stand-in: project id, project number and debug token are required")
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("appcheck stand-in: key: %w", err)
	}
	kid := fmt.Sprintf("standin-%d", time.Now().UnixNano())
	return &Server{key: key, kid: kid, projectID: projectID, projectNumber: projectNumber, debugToken: debugToken, now: time.Now}, nil
}

// Handler serves the JWKS and the exchange, with CORS for the web app (the
// browser calls the exchange, as it calls App Check's servers).
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/jwks", func(w http.ResponseWriter, r *http.Request) {
		googleapi.WriteJSON(w, http.StatusOK, appcheckv.JWKS{Keys: []appcheckv.JWK{appcheckv.PublicJWK(s.kid, &s.key.PublicKey)}})
	})
	mux.HandleFunc("POST /v1/projects/{project}/apps/{app}", s.exchange)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set("X-Stand-In", "Firebase App Check (local stand-in; attests nothing)")
		if r.Method == http.MethodOptions {
			w.Header().Set("Access-Control-Allow-Methods", "GET, POST")
			w.Header().Set("Access-Control-Allow-Headers", "Content-Type")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// exchange is projects.apps.exchangeDebugToken.
func (s *Server) exchange(w http.ResponseWriter, r *http.Request) {
	app, ok := strings.CutSuffix(r.PathValue("app"), ":exchangeDebugToken")
	if !ok || app == "" {
		googleapi.Error(w, http.StatusNotFound, "NOT_FOUND", "only :exchangeDebugToken is served by this stand-in")
		return
	}
	if p := r.PathValue("project"); p != s.projectID && p != s.projectNumber {
		googleapi.Error(w, http.StatusNotFound, "NOT_FOUND", "unknown project "+p)
		return
	}
	var body struct {
		DebugToken string `json:"debugToken"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&body); err != nil {
		googleapi.Error(w, http.StatusBadRequest, "INVALID_ARGUMENT", "body must be {\"debugToken\": ...}")
		return
	}
	if subtle.ConstantTimeCompare([]byte(body.DebugToken), []byte(s.debugToken)) != 1 {
		googleapi.Error(w, http.StatusForbidden, "PERMISSION_DENIED", "App attestation failed.")
		return
	}
	token, err := s.Mint(app, s.now())
	if err != nil {
		googleapi.Error(w, http.StatusInternalServerError, "INTERNAL", err.Error())
		return
	}
	googleapi.WriteJSON(w, http.StatusOK, map[string]string{"token": token, "ttl": fmt.Sprintf("%ds", int(TTL.Seconds()))})
}

// Mint signs a token for app as App Check would.
func (s *Server) Mint(app string, now time.Time) (string, error) {
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, appcheckv.Claims{RegisteredClaims: jwt.RegisteredClaims{
		Issuer:    appcheckv.IssuerPrefix + s.projectNumber,
		Subject:   app,
		Audience:  jwt.ClaimStrings{"projects/" + s.projectNumber, "projects/" + s.projectID},
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(TTL)),
	}})
	t.Header["kid"] = s.kid
	t.Header["typ"] = "JWT"
	return t.SignedString(s.key)
}
