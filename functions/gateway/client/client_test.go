package client_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/tigerstudio/studio/functions/gateway/client"
	"github.com/tigerstudio/studio/infra/testenv"
)

// TestEmulatorAccounts: the demo's booth account is staff to the stack's
// Gateway (it may list the booth's jobs); an attendee's is not.
func TestEmulatorAccounts(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	if s.GatewayURL == "" {
		testenv.Require(t, errors.New("GATEWAY_URL missing: the stack runs without its Gateway"))
	}
	ctx := testenv.Ctx(t)
	const password = "pw-123456"
	const stackEvent = "local" // the stack's Gateway's EVENT
	booth := testenv.Unique("booth") + "@example.test"
	if err := client.EmulatorStaffAccount(ctx, s.AuthHost, s.Project, stackEvent, booth, password); err != nil {
		t.Fatal(err)
	}
	attendee, err := client.EmulatorSignUp(ctx, s.AuthHost, s.Project, testenv.Unique("attendee")+"@example.test", password)
	if err != nil {
		t.Fatal(err)
	}
	if err := client.EmulatorStaffAccount(ctx, s.AuthHost, s.Project, stackEvent, booth, password); err == nil {
		t.Error("a second account with the same address was created")
	}
	for _, c := range []struct {
		name  string
		token string
		want  int
	}{
		{"booth staff", s.SignIn(t, booth, password), http.StatusOK},
		{"attendee", attendee, http.StatusForbidden},
	} {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.GatewayURL+"/v1/jobs?scope=booth", nil)
		req.Header.Set("Authorization", "Bearer "+c.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%s: GET /v1/jobs?scope=booth = %d, want %d", c.name, resp.StatusCode, c.want)
		}
	}
}
