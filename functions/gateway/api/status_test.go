package api_test

import (
	"net/http"
	"testing"

	"github.com/tigerstudio/studio/functions/gateway/api"
)

// TestStatus pins each error code's HTTP status to DESIGN.md's table
// ("HTTP API"), which clients rely on as much as on the code.
func TestStatus(t *testing.T) {
	for _, c := range []struct {
		code string
		want int
	}{
		{"invalid_argument", http.StatusBadRequest},
		{"unauthenticated", http.StatusUnauthorized},
		{"permission_denied", http.StatusForbidden},
		{"not_found", http.StatusNotFound},
		{"already_exists", http.StatusConflict},
		{"too_large", http.StatusRequestEntityTooLarge},
		{"unsupported_media_type", http.StatusUnsupportedMediaType},
		{"idempotency_mismatch", http.StatusUnprocessableEntity},
		{"resource_exhausted", http.StatusTooManyRequests},
		{"unavailable", http.StatusServiceUnavailable},
		{"no_such_code", http.StatusInternalServerError},
		{"", http.StatusInternalServerError},
	} {
		if got := api.Status(c.code); got != c.want {
			t.Errorf("Status(%q) = %d, want %d", c.code, got, c.want)
		}
	}
}
