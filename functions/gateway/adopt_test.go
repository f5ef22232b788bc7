package gateway_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	fbauth "firebase.google.com/go/v4/auth"

	"github.com/tigerstudio/studio/infra/testenv"
)

func (f *fixture) adopt(t *testing.T, token, contentType, body string) reply {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, f.url+"/v1/jobs:adopt", strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return do(t, req)
}

// TestAdoptGuestJobs: an account that signs in after being a guest takes
// the guest's jobs (when Firebase could not link the two), and nothing
// else can be taken that way.
func TestAdoptGuestJobs(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	guest := f.stack.NewGuest(t)
	var ids []string
	for range 2 {
		r := f.submit(t, guest.Token, validForm(t), nil)
		if r.status != http.StatusAccepted {
			t.Fatalf("guest submit = %d %v", r.status, r.body)
		}
		ids = append(ids, r.jobID())
	}
	slices.Sort(ids)
	account := f.stack.NewUser(t, testenv.UserOpts{EmailVerified: true})
	other := f.stack.NewUser(t, testenv.UserOpts{EmailVerified: true})
	if r := f.submit(t, other.Token, validForm(t), nil); r.status != http.StatusAccepted {
		t.Fatalf("other submit = %d %v", r.status, r.body)
	}
	otherGuest := f.stack.NewGuest(t)
	// A guest linked to a sign-in method since its token was issued: the
	// token still says "anonymous", the account no longer is a guest's. The
	// link is a phone number: an email or password change also revokes the
	// account's tokens issued before that second, so the refusal would be
	// 400 (revoked) or 403 (this check) by the clock (CI saw both).
	linked := f.stack.NewGuest(t)
	phone := fmt.Sprintf("+1555%07d", time.Now().UnixNano()%10_000_000)
	if _, err := f.stack.AuthClient(t).UpdateUser(testenv.Ctx(t), linked.UID,
		(&fbauth.UserToUpdate{}).PhoneNumber(phone)); err != nil {
		t.Fatal(err)
	}

	refused := []struct {
		name        string
		token       string
		contentType string
		body        string
		status      int
		code        string
	}{
		{"no token", "", "application/json", `{"guestToken": "` + guest.Token + `"}`, 401, "unauthenticated"},
		{"not JSON", account.Token, "text/plain", guest.Token, 415, "unsupported_media_type"},
		{"no guest token", account.Token, "application/json", `{}`, 400, "invalid_argument"},
		{"unknown field", account.Token, "application/json", `{"guestToken": "x", "uid": "` + guest.UID + `"}`, 400, "invalid_argument"},
		{"forged guest token", account.Token, "application/json", `{"guestToken": "` + f.stack.UnsignedToken(guest.UID, map[string]any{"iss": "https://evil.example"}) + `"}`, 400, "invalid_argument"},
		// A real account's jobs are never taken, even with its token.
		{"not a guest", account.Token, "application/json", `{"guestToken": "` + other.Token + `"}`, 403, "permission_denied"},
		// A guest cannot take another guest's jobs.
		{"guest adopts", otherGuest.Token, "application/json", `{"guestToken": "` + guest.Token + `"}`, 403, "permission_denied"},
		{"guest linked since its token", account.Token, "application/json", `{"guestToken": "` + linked.Token + `"}`, 403, "permission_denied"},
	}
	for _, c := range refused {
		r := f.adopt(t, c.token, c.contentType, c.body)
		if r.status != c.status || r.errorCode() != c.code {
			t.Errorf("%s: %d %s, want %d %s (%v)", c.name, r.status, r.errorCode(), c.status, c.code, r.body)
		}
	}
	if got := f.requestsOf(t, guest.UID); len(got) != 2 {
		t.Fatalf("refused adoptions moved jobs: the guest has %v", got)
	}
	if got := f.requestsOf(t, other.UID); len(got) != 1 {
		t.Fatalf("refused adoptions moved another user's job: %v", got)
	}

	r := f.adopt(t, account.Token, "application/json", `{"guestToken": "`+guest.Token+`"}`)
	if r.status != http.StatusOK || r.body["moved"] != float64(2) {
		t.Fatalf("adopt = %d %v, want 200 moved 2", r.status, r.body)
	}
	got := f.requestsOf(t, account.UID)
	slices.Sort(got)
	if !slices.Equal(got, ids) {
		t.Errorf("the account's requests = %v, want the guest's %v", got, ids)
	}
	// The API follows: the account lists and reads them, the guest no longer.
	list := f.get(t, account.Token, "/v1/jobs")
	if jobs, _ := list.body["jobs"].([]any); list.status != http.StatusOK || len(jobs) != 2 {
		t.Errorf("the account's list = %d %v", list.status, list.body)
	}
	if r := f.get(t, account.Token, "/v1/jobs/"+ids[0]); r.status != http.StatusOK {
		t.Errorf("the account reads an adopted job: %d %v", r.status, r.body)
	}
	if r := f.get(t, guest.Token, "/v1/jobs/"+ids[0]); r.status != http.StatusNotFound {
		t.Errorf("the guest still reads an adopted job: %d %v", r.status, r.body)
	}
	// Asking again (a retry after a lost answer) moves nothing more.
	if r := f.adopt(t, account.Token, "application/json", `{"guestToken": "`+guest.Token+`"}`); r.status != http.StatusOK || r.body["moved"] != float64(0) {
		t.Errorf("second adopt = %d %v, want 200 moved 0", r.status, r.body)
	}
}
