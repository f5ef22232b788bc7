package gateway_test

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/tigerstudio/studio/functions/gateway"
	"github.com/tigerstudio/studio/infra/appcheck"
	"github.com/tigerstudio/studio/infra/testenv"
)

// appCheckOn configures the Gateway as the stack runs it: App Check
// enforced against the stack's stand-in's keys, the stack's web app only.
func appCheckOn(t *testing.T, jwks string) func(*gateway.Config) {
	t.Helper()
	app := os.Getenv("APP_CHECK_APP_ID") // 1:NUMBER:web:NAME
	parts := strings.Split(app, ":")
	if len(parts) != 4 {
		testenv.Require(t, fmt.Errorf("APP_CHECK_APP_ID=%q is not the stack's (its appcheck part)", app))
	}
	return func(c *gateway.Config) {
		c.AppCheck, c.AppCheckJWKS, c.AppCheckProjectNumber, c.AppCheckAppIDs = "enforce", jwks, parts[1], []string{app}
	}
}

// TestAppCheckEnforced: with APP_CHECK=enforce a submission needs a valid
// App Check token of the event's app; without one (a script making guest
// accounts) it is refused with 401 before anything is stored or counted,
// and when the keys cannot be fetched the answer is 503, not a refusal.
func TestAppCheckEnforced(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	standin := os.Getenv("APPCHECK_STANDIN_URL")
	f := newFixture(t, appCheckOn(t, standin+"/v1/jwks"))
	user := s.NewUser(t, testenv.UserOpts{})
	good := s.AppCheckToken(t)
	parts := strings.Split(os.Getenv("APP_CHECK_APP_ID"), ":")
	otherApp, err := appcheck.ExchangeDebugToken(testenv.Ctx(t), http.DefaultClient, standin, s.Project,
		"1:"+parts[1]+":web:another-app", os.Getenv("APP_CHECK_DEBUG_TOKEN"))
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name   string
		header map[string]string
		status int
	}{
		{"no token", nil, http.StatusUnauthorized},
		{"not a token", map[string]string{appcheck.Header: "abc.def.ghi"}, http.StatusUnauthorized},
		{"another app's token", map[string]string{appcheck.Header: otherApp}, http.StatusUnauthorized},
		{"the event's app", map[string]string{appcheck.Header: good}, http.StatusAccepted},
	} {
		r := f.submit(t, user.Token, validForm(t), tc.header)
		if r.status != tc.status {
			t.Fatalf("%s: %d %v, want %d", tc.name, r.status, r.body, tc.status)
		}
		if tc.status == http.StatusUnauthorized {
			if r.errorCode() != "unauthenticated" || !strings.Contains(r.body["error"].(map[string]any)["message"].(string), "App Check") {
				t.Errorf("%s: %v, want unauthenticated naming App Check", tc.name, r.body)
			}
			docs, err := f.fs.Collection("requests").Where("uid", "==", user.UID).Documents(testenv.Ctx(t)).GetAll()
			if err != nil || len(docs) != 0 {
				t.Errorf("%s: %d request documents after the refusal (%v), want none", tc.name, len(docs), err)
			}
		}
	}

	down := newFixture(t, appCheckOn(t, "http://127.0.0.1:1/v1/jwks"))
	if r := down.submit(t, user.Token, validForm(t), map[string]string{appcheck.Header: good}); r.status != http.StatusServiceUnavailable {
		t.Errorf("keys unreachable: %d %v, want 503", r.status, r.body)
	}
}
