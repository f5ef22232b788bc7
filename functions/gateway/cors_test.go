package gateway_test

import (
	"net/http"
	"testing"

	"github.com/tigerstudio/studio/functions/gateway"
	"github.com/tigerstudio/studio/infra/testenv"
)

const appOrigin = "https://spring-gala.web.app"

// preflight sends a CORS preflight and returns its status and headers (the
// body, empty, is closed here).
func preflight(t *testing.T, url, origin, method string) (int, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodOptions, url, nil)
	req.Header.Set("Origin", origin)
	req.Header.Set("Access-Control-Request-Method", method)
	req.Header.Set("Access-Control-Request-Headers", "authorization,content-type,idempotency-key")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header
}

// TestCORS: the web app's origin may call the API from a browser (the
// preflight is answered, answers carry the origin and expose the headers
// the app reads); any other origin gets no CORS grant.
func TestCORS(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *gateway.Config) { c.AppOrigins = []string{appOrigin + "/"} })
	user := f.stack.NewUser(t, testenv.UserOpts{})

	tests := []struct {
		name, origin, path, method string
		wantStatus                 int
		wantAllowed                bool
	}{
		{"app submits a job", appOrigin, "/v1/jobs", http.MethodPost, http.StatusNoContent, true},
		{"app reads a job", appOrigin, "/v1/jobs/x", http.MethodGet, http.StatusNoContent, true},
		{"another site", "https://evil.example", "/v1/jobs", http.MethodPost, http.StatusForbidden, false},
		{"a lookalike origin", appOrigin + ".evil.example", "/v1/jobs", http.MethodPost, http.StatusForbidden, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, header := preflight(t, f.url+tc.path, tc.origin, tc.method)
			got := header.Get("Access-Control-Allow-Origin")
			if status != tc.wantStatus || (got == tc.origin) != tc.wantAllowed {
				t.Fatalf("preflight = %d, Allow-Origin %q; want %d, allowed %v", status, got, tc.wantStatus, tc.wantAllowed)
			}
			if tc.wantAllowed {
				for h, want := range map[string]string{
					"Access-Control-Allow-Methods": "GET, POST",
					"Access-Control-Allow-Headers": "Authorization, Content-Type, Idempotency-Key, X-Firebase-AppCheck",
				} {
					if header.Get(h) != want {
						t.Errorf("%s = %q, want %q", h, header.Get(h), want)
					}
				}
			}
		})
	}

	// The actual call carries the grant and exposes what the app reads.
	fm := validForm(t)
	r := f.submit(t, user.Token, fm, map[string]string{"Origin": appOrigin, "Idempotency-Key": testenv.Unique("k")})
	if r.status != http.StatusAccepted || r.header.Get("Access-Control-Allow-Origin") != appOrigin ||
		r.header.Get("Access-Control-Expose-Headers") != "Retry-After, Idempotent-Replayed" {
		t.Errorf("submit from the app: %d, headers %v", r.status, r.header)
	}
	other := f.submit(t, user.Token, fm, map[string]string{"Origin": "https://evil.example"})
	if other.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("a call from another origin got a CORS grant: %v", other.header)
	}
}
