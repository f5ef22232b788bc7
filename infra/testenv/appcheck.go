package testenv

import (
	"fmt"
	"net/http"
	"os"
	"testing"

	"github.com/tigerstudio/studio/infra/appcheck"
)

// AppCheckToken is a Firebase App Check token for the stack's web app, from
// the stack's App Check stand-in (APPCHECK_STANDIN_URL, exchanging
// APP_CHECK_DEBUG_TOKEN): what the stack's Gateway demands on job
// submissions, as the web app gets it. Tokens last an hour.
func (s Stack) AppCheckToken(t testing.TB) string {
	t.Helper()
	url, debug, app := os.Getenv("APPCHECK_STANDIN_URL"), os.Getenv("APP_CHECK_DEBUG_TOKEN"), os.Getenv("APP_CHECK_APP_ID")
	if url == "" || debug == "" || app == "" {
		Require(t, fmt.Errorf("APPCHECK_STANDIN_URL, APP_CHECK_DEBUG_TOKEN and APP_CHECK_APP_ID must be set by the stack (its appcheck part)"))
	}
	tok, err := appcheck.ExchangeDebugToken(Ctx(t), http.DefaultClient, url, s.Project, app, debug)
	if err != nil {
		t.Fatalf("App Check token from the stand-in: %v", err)
	}
	return tok
}
