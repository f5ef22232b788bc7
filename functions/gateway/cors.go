package gateway

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tigerstudio/studio/functions/gateway/api"
	"github.com/tigerstudio/studio/infra/appcheck"
)

// The app runs on the event's Hosting origin, not the Gateway's, so the
// browser asks before each call (CORS). Only the configured origins get an
// answer; the Gateway still authenticates every call by its ID token, so
// CORS is what keeps other sites' pages from using a visitor's session, not
// what protects the API.
const corsMaxAge = 10 * time.Minute

var (
	corsMethods = strings.Join([]string{http.MethodGet, http.MethodPost}, ", ")
	corsHeaders = strings.Join([]string{"Authorization", "Content-Type", "Idempotency-Key", appcheck.Header}, ", ")
	// Headers the app reads from answers.
	corsExposed = strings.Join([]string{"Retry-After", "Idempotent-Replayed"}, ", ")
)

// cors answers preflights and marks answers to the allowed origins; a
// request from another origin is served without CORS headers, so the
// browser withholds the answer from that page.
func (s *Server) cors(w http.ResponseWriter, r *http.Request) (handled bool) {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return false // not a browser's cross-origin call
	}
	w.Header().Add("Vary", "Origin")
	allowed := slices.Contains(s.d.AppOrigins, origin)
	if allowed {
		w.Header().Set("Access-Control-Allow-Origin", origin)
		w.Header().Set("Access-Control-Expose-Headers", corsExposed)
	}
	if r.Method != http.MethodOptions || r.Header.Get("Access-Control-Request-Method") == "" {
		return false
	}
	if !allowed {
		writeError(w, answerErr(api.CodePermissionDenied, "origin "+strconv.Quote(origin)+" may not call this API"))
		return true
	}
	w.Header().Add("Vary", "Access-Control-Request-Method")
	w.Header().Add("Vary", "Access-Control-Request-Headers")
	w.Header().Set("Access-Control-Allow-Methods", corsMethods)
	w.Header().Set("Access-Control-Allow-Headers", corsHeaders)
	w.Header().Set("Access-Control-Max-Age", strconv.Itoa(int(corsMaxAge.Seconds())))
	w.WriteHeader(http.StatusNoContent)
	return true
}
