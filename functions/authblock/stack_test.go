package authblock_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tigerstudio/studio/functions/gateway/client"
	"github.com/tigerstudio/studio/infra/auth"
	"github.com/tigerstudio/studio/infra/samples"
	"github.com/tigerstudio/studio/infra/testenv"
)

// authREST posts to the Auth emulator's client API and returns the status
// and the decoded answer.
func authREST(t *testing.T, s testenv.Stack, path string, body any) (int, map[string]any) {
	t.Helper()
	raw, _ := json.Marshal(body)
	resp, err := http.Post(fmt.Sprintf("http://%s/identitytoolkit.googleapis.com/v1/%s?key=emulator", s.AuthHost, path), "application/json", bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	data, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(data, &out)
	if out == nil {
		out = map[string]any{"raw": string(data)}
	}
	return resp.StatusCode, out
}

// issuedAt reads a token's iat.
func issuedAt(t *testing.T, token string) int64 {
	t.Helper()
	var c struct {
		IAT int64 `json:"iat"`
	}
	if err := auth.UnverifiedPayload(token, &c); err != nil {
		t.Fatal(err)
	}
	return c.IAT
}

// gatewayCall calls the stack's Gateway with token.
func gatewayCall(t *testing.T, s testenv.Stack, method, path, token string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequestWithContext(testenv.Ctx(t), method, s.GatewayURL+path, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// TestPreRegisteredAddressIsTakenBack is issue 25's first attack, on the
// stack (the Auth emulator calls its AuthBlocking part, the Gateway is the
// stack's): someone gives an attendee's address a password of their own
// before the attendee proves it; the attendee, as a guest, submits a photo,
// then signs in with an emailed link and adopts the guest's photo. The
// password set beforehand must reach none of it.
func TestPreRegisteredAddressIsTakenBack(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	if s.GatewayURL == "" {
		testenv.Require(t, errors.New("GATEWAY_URL missing: the stack runs without its Gateway"))
	}
	victim := testenv.Unique("victim") + "@example.test"
	const password = "attacker-knows-this"

	// A client cannot sign up with a password at all.
	if code, out := authREST(t, s, "accounts:signUp", map[string]any{"email": victim, "password": password, "returnSecureToken": true}); code == http.StatusOK ||
		!strings.Contains(fmt.Sprint(out), "staff accounts are made by the event's operator") {
		t.Fatalf("password sign-up: %d %v, want the blocking function's refusal", code, out)
	}
	// A guest that links the address and a password is not a creation, so
	// that path is still open: the attacker's account.
	attackerGuest := s.NewGuest(t)
	code, out := authREST(t, s, "accounts:update", map[string]any{"idToken": attackerGuest.Token, "email": victim, "password": password, "returnSecureToken": true})
	if code != http.StatusOK {
		t.Fatalf("linking a password to a guest: %d %v", code, out)
	}
	attackerToken, _ := out["idToken"].(string)
	if code, out := authREST(t, s, "accounts:signInWithPassword", map[string]any{"email": victim, "password": password, "returnSecureToken": true}); code != http.StatusOK {
		t.Fatalf("the attacker's password before the owner came: %d %v", code, out)
	}

	// Revocation counts in whole seconds (a token issued in the second of
	// the revocation stays valid): the owner comes at least a second after
	// the attacker's session began, as any real owner does.
	issued := issuedAt(t, attackerToken)
	for time.Now().Unix() <= issued {
		time.Sleep(20 * time.Millisecond)
	}

	// The owner, as a guest, submits a photo; then proves the address.
	guest := s.NewGuest(t)
	job, err := (&client.Client{BaseURL: s.GatewayURL, Token: guest.Token, AppCheck: s.AppCheckToken(t)}).Submit(testenv.Ctx(t),
		client.Submission{Photo: samples.Astronaut(), ContentType: "image/png", Style: "sketch"})
	if err != nil {
		t.Fatal(err)
	}
	owner := s.SignInWithEmailLink(t, victim)
	if owner.UID != attackerGuest.UID {
		t.Fatalf("the link signed in to %s, want the pre-registered account %s (the attack's premise)", owner.UID, attackerGuest.UID)
	}
	if code, out := gatewayCall(t, s, http.MethodPost, "/v1/jobs:adopt", owner.Token, map[string]any{"guestToken": guest.Token}); code != http.StatusOK || out["moved"] != float64(1) {
		t.Fatalf("adopt: %d %v, want 1 moved", code, out)
	}

	// The password set beforehand is gone ...
	if code, out := authREST(t, s, "accounts:signInWithPassword", map[string]any{"email": victim, "password": password, "returnSecureToken": true}); code == http.StatusOK {
		t.Errorf("the attacker's password still signs in after the owner proved the address: %v", out)
	}
	// ... and the session it opened is revoked (the Gateway asks the
	// account; in the cloud its refresh token is refused too, which the
	// emulator does not check).
	if code, out := gatewayCall(t, s, http.MethodGet, "/v1/jobs", attackerToken, nil); code != http.StatusUnauthorized {
		t.Errorf("the attacker's earlier session lists jobs: %d %v, want 401", code, out)
	}
	// The owner keeps their session and their photo, and can sign in by
	// link again.
	code, out = gatewayCall(t, s, http.MethodGet, "/v1/jobs", owner.Token, nil)
	jobs, _ := out["jobs"].([]any)
	if code != http.StatusOK || len(jobs) != 1 || jobs[0].(map[string]any)["id"] != job.ID {
		t.Errorf("the owner's jobs: %d %v, want the adopted %s", code, out, job.ID)
	}
	if again := s.SignInWithEmailLink(t, victim); again.UID != owner.UID {
		t.Errorf("a second link signed in to %s, want %s", again.UID, owner.UID)
	}
}
