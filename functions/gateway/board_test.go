package gateway_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/tigerstudio/studio/infra/testenv"
)

// listAll pages through path (a GET /v1/jobs query) with limit=2 and
// returns every job listed, in order, and how many pages it took.
func (f *fixture) listAll(t *testing.T, token, path string) (listed []map[string]any, pages int) {
	t.Helper()
	next := ""
	for pages < 10 {
		p := path + "&limit=2"
		if next != "" {
			p += "&pageToken=" + next
		}
		r := f.get(t, token, p)
		if r.status != http.StatusOK {
			t.Fatalf("GET %s = %d %v", p, r.status, r.body)
		}
		page, _ := r.body["jobs"].([]any)
		if len(page) > 2 {
			t.Fatalf("page of %d jobs with limit 2", len(page))
		}
		for _, j := range page {
			listed = append(listed, j.(map[string]any))
		}
		pages++
		if next, _ = r.body["nextPageToken"].(string); next == "" {
			return listed, pages
		}
	}
	t.Fatalf("GET %s: more than 10 pages", path)
	return nil, 0
}

func ids(listed []map[string]any) []string {
	out := make([]string, len(listed))
	for i, j := range listed {
		out[i], _ = j["id"].(string)
	}
	return out
}

// TestBoothBoard: GET /v1/jobs?scope=booth gives staff the kiosk's board,
// every owner's booth jobs of the Gateway's event, newest first and paged;
// no one else gets it, and no scope still lists the caller's own jobs.
func TestBoothBoard(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	otherEvent := newFixture(t)
	kiosk1 := f.staff(t)
	kiosk2 := f.staff(t)
	attendee := f.stack.NewUser(t, testenv.UserOpts{EmailVerified: true})

	booth := func(t *testing.T, f *fixture, token string) string {
		t.Helper()
		fm := validForm(t)
		fm.fields["priority"] = "booth"
		r := f.submit(t, token, fm, nil)
		if r.status != http.StatusAccepted {
			t.Fatalf("booth submit = %d %v", r.status, r.body)
		}
		return r.jobID()
	}
	online := func(t *testing.T, f *fixture, token string) string {
		t.Helper()
		r := f.submit(t, token, validForm(t), nil)
		if r.status != http.StatusAccepted {
			t.Fatalf("online submit = %d %v", r.status, r.body)
		}
		return r.jobID()
	}
	// Oldest first; createdAt comes from each submission's own clock read.
	var boothJobs []string
	boothJobs = append(boothJobs, booth(t, f, kiosk1.Token))
	onlineJobs := []string{online(t, f, attendee.Token)}
	boothJobs = append(boothJobs, booth(t, f, kiosk2.Token))
	onlineJobs = append(onlineJobs, online(t, f, kiosk1.Token))
	boothJobs = append(boothJobs, booth(t, f, kiosk1.Token))
	// Another event's booth job (its own staff's) is on no board here;
	// kiosk1 is nobody at that event, so its job there is an online one.
	booth(t, otherEvent, otherEvent.staff(t).Token)
	elsewhere := online(t, otherEvent, kiosk1.Token)

	listed, pages := f.listAll(t, kiosk2.Token, "/v1/jobs?scope=booth")
	want := slices.Clone(boothJobs)
	slices.Reverse(want)
	if got := ids(listed); !slices.Equal(got, want) {
		t.Errorf("board = %v, want the booth jobs newest first %v (online %v, another event's %s)", got, want, onlineJobs, elsewhere)
	}
	if pages != 2 {
		t.Errorf("%d pages of 2 for 3 jobs, want 2", pages)
	}
	for _, j := range listed {
		if j["priority"] != "booth" {
			t.Errorf("board lists a %v job: %v", j["priority"], j)
		}
		// The board shows no attendee's pick-up code (a tap issues a new
		// one: POST /v1/jobs/{id}/pickup).
		if code, has := j["pickup"]; has {
			t.Errorf("board job %v shows pick-up code %v", j["id"], code)
		}
	}

	// No scope is still the caller's own jobs, booth and online alike, of
	// every event, as before.
	own, _ := f.listAll(t, kiosk1.Token, "/v1/jobs?")
	wantOwn := []string{elsewhere, boothJobs[2], onlineJobs[1], boothJobs[0]}
	if got := ids(own); !slices.Equal(got, wantOwn) {
		t.Errorf("kiosk1's own list = %v, want %v", got, wantOwn)
	}

	refused := []struct {
		name, token, query string
		status             int
		code               string
	}{
		{"an attendee", attendee.Token, "scope=booth", http.StatusForbidden, "permission_denied"},
		{"no token", "", "scope=booth", http.StatusUnauthorized, "unauthenticated"},
		{"unknown scope", kiosk1.Token, "scope=everyone", http.StatusBadRequest, "invalid_argument"},
		{"unknown scope, not staff", attendee.Token, "scope=all", http.StatusBadRequest, "invalid_argument"},
		{"scope in another case", kiosk1.Token, "scope=Booth", http.StatusBadRequest, "invalid_argument"},
		{"bad limit", kiosk1.Token, "scope=booth&limit=0", http.StatusBadRequest, "invalid_argument"},
		{"bad page token", kiosk1.Token, "scope=booth&pageToken=garbage", http.StatusBadRequest, "invalid_argument"},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			r := f.get(t, tc.token, "/v1/jobs?"+tc.query)
			if r.status != tc.status || r.errorCode() != tc.code {
				t.Errorf("GET /v1/jobs?%s = %d %v, want %d %s", tc.query, r.status, r.body, tc.status, tc.code)
			}
		})
	}
}
