package store_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tigerstudio/studio/infra/testenv"
)

// loadRules puts this tree's firestore.rules into the emulator, so the
// rules tested are these whichever checkout started the stack (the
// emulator's own endpoint, which firebase-tools also uses).
func loadRules(t *testing.T, s testenv.Stack) {
	t.Helper()
	src, err := os.ReadFile("../../firestore.rules")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{"rules": map[string]any{
		"files": []map[string]string{{"name": "firestore.rules", "content": string(src)}},
	}})
	url := fmt.Sprintf("http://%s/emulator/v1/projects/%s:securityRules", s.FirestoreHost, s.Project)
	req, _ := http.NewRequest(http.MethodPut, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("loading firestore.rules: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(resp.Body)
		t.Fatalf("loading firestore.rules: %s: %s", resp.Status, msg)
	}
}

// TestSecurityRules checks this tree's firestore.rules (loaded into the
// emulator first) with real ID tokens of the Auth emulator through
// Firestore's REST API, as a client app would call it.
func TestSecurityRules(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	loadRules(t, s)
	fs := s.Firestore(t)
	ctx := testenv.Ctx(t)
	owner := s.NewUser(t, testenv.UserOpts{})
	stranger := s.NewUser(t, testenv.UserOpts{})
	event := testenv.Unique("gala")
	staff := s.NewUser(t, testenv.UserOpts{StaffOf: event, EmailVerified: true})
	otherStaff := s.NewUser(t, testenv.UserOpts{StaffOf: testenv.Unique("fair"), EmailVerified: true})
	unverifiedStaff := s.NewUser(t, testenv.UserOpts{StaffOf: event})
	oldStaff := s.NewUser(t, testenv.UserOpts{EmailVerified: true})
	if err := s.AuthClient(t).SetCustomUserClaims(ctx, oldStaff.UID, map[string]any{"staff": true}); err != nil {
		t.Fatal(err)
	}
	oldStaff.Token = s.SignIn(t, oldStaff.Email, testenv.Password)
	id := testenv.Unique("job")

	seed := map[string]map[string]any{
		"requests":      {"uid": owner.UID, "event": event, "style": "sketch", "createdAt": time.Now()},
		"responses":     {"state": "running", "attempt": 1},
		"errors":        {"code": "internal", "message": "x"},
		"notifications": {"channels": []string{"email"}},
	}
	for coll, data := range seed {
		if _, err := fs.Collection(coll).Doc(id).Set(ctx, data); err != nil {
			t.Fatalf("seed %s: %v", coll, err)
		}
	}
	if _, err := fs.Collection("devices").Doc(owner.UID).Set(ctx, map[string]any{"tokens": []string{"t"}}); err != nil {
		t.Fatal(err)
	}

	base := fmt.Sprintf("http://%s/v1/projects/%s/databases/(default)/documents", s.FirestoreHost, s.Project)
	call := func(method, token, path, body string) int {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	type check struct {
		name, method, token, path, body string
		want                            int
	}
	var checks []check
	var queryBy func(token, field, value string) int
	for _, coll := range []string{"requests", "responses", "errors", "notifications"} {
		p := "/" + coll + "/" + id
		checks = append(checks,
			check{"owner reads own " + coll, "GET", owner.Token, p, "", 200},
			check{"staff reads " + coll, "GET", staff.Token, p, "", 200},
			check{"stranger cannot read " + coll, "GET", stranger.Token, p, "", 403},
			check{"another event's staff cannot read " + coll, "GET", otherStaff.Token, p, "", 403},
			check{"staff with an unverified address cannot read " + coll, "GET", unverifiedStaff.Token, p, "", 403},
			check{"the old project-wide claim cannot read " + coll, "GET", oldStaff.Token, p, "", 403},
			check{"anonymous cannot read " + coll, "GET", "", p, "", 403},
			check{"owner cannot update " + coll, "PATCH", owner.Token, p, `{"fields":{"uid":{"stringValue":"x"}}}`, 403},
			check{"owner cannot delete " + coll, "DELETE", owner.Token, p, "", 403},
			check{"staff cannot update " + coll, "PATCH", staff.Token, p, `{"fields":{"state":{"stringValue":"succeeded"}}}`, 403},
			check{"owner cannot create " + coll, "PATCH", owner.Token, "/" + coll + "/" + testenv.Unique("new"), `{"fields":{"uid":{"stringValue":"` + owner.UID + `"}}}`, 403},
		)
	}
	checks = append(checks,
		check{"owner reads own devices", "GET", owner.Token, "/devices/" + owner.UID, "", 200},
		check{"stranger cannot read devices", "GET", stranger.Token, "/devices/" + owner.UID, "", 403},
		check{"owner cannot write devices", "PATCH", owner.Token, "/devices/" + owner.UID, `{"fields":{"tokens":{"nullValue":null}}}`, 403},
		check{"other collections are closed", "GET", owner.Token, "/anything/x", "", 403},
	)
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if got := call(c.method, c.token, c.path, c.body); got != c.want {
				t.Errorf("%s %s = %d, want %d", c.method, c.path, got, c.want)
			}
		})
	}

	// The owner's listing query is allowed only when scoped to their uid,
	// staff's only when scoped to their event.
	query := func(token, uid string) int { return queryBy(token, "uid", uid) }
	queryBy = func(token, field, value string) int {
		body := fmt.Sprintf(`{"structuredQuery":{"from":[{"collectionId":"requests"}],"where":{"fieldFilter":{"field":{"fieldPath":%q},"op":"EQUAL","value":{"stringValue":%q}}}}}`, field, value)
		req, _ := http.NewRequest("POST", base+":runQuery", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := query(owner.Token, owner.UID); got != 200 {
		t.Errorf("owner listing own requests = %d, want 200", got)
	}
	if got := query(stranger.Token, owner.UID); got != 403 {
		t.Errorf("stranger listing owner's requests = %d, want 403", got)
	}
	for _, tc := range []struct {
		name  string
		token string
		want  int
	}{
		{"staff listing their event's requests", staff.Token, 200},
		{"another event's staff listing them", otherStaff.Token, 403},
		{"unverified staff listing them", unverifiedStaff.Token, 403},
	} {
		if got := queryBy(tc.token, "event", event); got != tc.want {
			t.Errorf("%s = %d, want %d", tc.name, got, tc.want)
		}
	}
}
