package store_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tigerstudio/studio/infra/testenv"
)

// TestPhoneNumberReaders: the number a job texts (requests/{id}.notify.phone)
// is read by the job's owner and its event's staff (the kiosk that typed
// it), and by the server side, which bypasses the rules; no other client
// reads it or finds a request by it.
func TestPhoneNumberReaders(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	loadRules(t, s)
	ctx := testenv.Ctx(t)
	owner := s.NewUser(t, testenv.UserOpts{})
	stranger := s.NewUser(t, testenv.UserOpts{EmailVerified: true})
	event := testenv.Unique("gala")
	staff := s.NewUser(t, testenv.UserOpts{StaffOf: event, EmailVerified: true})
	otherStaff := s.NewUser(t, testenv.UserOpts{StaffOf: testenv.Unique("fair"), EmailVerified: true})
	id := testenv.Unique("job")
	phone := "+821055556666"
	if _, err := s.Firestore(t).Collection("requests").Doc(id).Set(ctx, map[string]any{
		"uid": owner.UID, "event": event, "style": "sketch", "createdAt": time.Now(),
		"notify": map[string]any{"phone": phone, "chosen": true},
	}); err != nil {
		t.Fatal(err)
	}
	base := fmt.Sprintf("http://%s/v1/projects/%s/databases/(default)/documents", s.FirestoreHost, s.Project)
	do := func(method, token, path, body string) (int, string) {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	byPhone := fmt.Sprintf(`{"structuredQuery":{"from":[{"collectionId":"requests"}],"where":{"fieldFilter":{"field":{"fieldPath":"notify.phone"},"op":"EQUAL","value":{"stringValue":%q}}}}}`, phone)
	tests := []struct {
		name, method, token, path, body string
		want                            int
		sees                            bool
	}{
		{"owner", "GET", owner.Token, "/requests/" + id, "", 200, true},
		{"the event's staff", "GET", staff.Token, "/requests/" + id, "", 200, true},
		{"another user", "GET", stranger.Token, "/requests/" + id, "", 403, false},
		{"another event's staff", "GET", otherStaff.Token, "/requests/" + id, "", 403, false},
		{"no sign-in", "GET", "", "/requests/" + id, "", 403, false},
		{"another user looking it up by number", "POST", stranger.Token, ":runQuery", byPhone, 403, false},
		{"another event's staff looking it up by number", "POST", otherStaff.Token, ":runQuery", byPhone, 403, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, body := do(tc.method, tc.token, tc.path, tc.body)
			if got != tc.want || strings.Contains(body, phone) != tc.sees {
				t.Errorf("%s %s = %d (number in the answer: %v), want %d (%v)", tc.method, tc.path, got, strings.Contains(body, phone), tc.want, tc.sees)
			}
		})
	}
}
