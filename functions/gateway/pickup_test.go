package gateway_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image/jpeg"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tigerstudio/studio/functions/gateway"
	"github.com/tigerstudio/studio/infra/jobs"
	"github.com/tigerstudio/studio/infra/testenv"
)

func (f *fixture) pickup(t *testing.T, contentType, body string, headers map[string]string) reply {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, f.url+"/v1/pickup", strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	return do(t, req)
}

func pickupBody(job, code string) string {
	b, _ := json.Marshal(map[string]string{"job": job, "code": code})
	return string(b)
}

// checkPickupCode fails unless code is 128 bits in base64url without
// padding.
func checkPickupCode(t *testing.T, what string, code any) string {
	t.Helper()
	s, _ := code.(string)
	if b, err := base64.RawURLEncoding.DecodeString(s); err != nil || len(b) != 16 || len(s) != 22 {
		t.Errorf("%s: pickup %q, want 128 bits in base64url without padding", what, s)
	}
	return s
}

// TestPickupCodes: every new request gets its own pick-up code, answered
// once and stored only as its hash; no later answer (replay, GET, list)
// shows it; the owner or the event's staff may issue a new one, which
// revokes the old; anyone else gets 404; a code expires with its job (the
// retention, RETENTION_DAYS), however late it was issued.
func TestPickupCodes(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	owner := f.stack.NewUser(t, testenv.UserOpts{EmailVerified: true})
	staff := f.staff(t)
	key := map[string]string{"Idempotency-Key": testenv.Unique("k")}

	first := f.submit(t, owner.Token, validForm(t), key)
	if first.status != http.StatusAccepted {
		t.Fatalf("submit = %d %v", first.status, first.body)
	}
	id := first.jobID()
	code := checkPickupCode(t, "POST /v1/jobs", first.job()["pickup"])
	snap, err := f.fs.Collection("requests").Doc(id).Get(testenv.Ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	// The job expires the retention (7 days by default) after it was made.
	var stored jobs.Request
	if err := snap.DataTo(&stored); err != nil {
		t.Fatal(err)
	}
	if want := stored.CreatedAt.Add(7 * 24 * time.Hour); !stored.ExpireAt.Equal(want) || !stored.PickupExpiresAt.Equal(want) {
		t.Errorf("expireAt %v, pickupExpiresAt %v; want both createdAt + 7 days = %v", stored.ExpireAt, stored.PickupExpiresAt, want)
	}
	sum := sha256.Sum256([]byte(code))
	if stored := snap.Data()["pickupHash"]; stored != hex.EncodeToString(sum[:]) {
		t.Errorf("requests/%s.pickupHash = %v, want the code's SHA-256", id, stored)
	}
	for k, v := range snap.Data() {
		if s, _ := v.(string); strings.Contains(s, code) {
			t.Errorf("requests/%s.%s holds the code in clear", id, k)
		}
	}
	other := f.submit(t, owner.Token, validForm(t), nil)
	if c := checkPickupCode(t, "second job", other.job()["pickup"]); c == code {
		t.Errorf("two jobs share the pick-up code %q", c)
	}
	opens := func(code string) bool {
		return f.pickup(t, "application/json", pickupBody(id, code), nil).status == http.StatusOK
	}
	if !opens(code) {
		t.Fatal("the answered code does not open the job")
	}

	for _, v := range []struct {
		name string
		get  func(t *testing.T) reply
		job  func(r reply) map[string]any
	}{
		{"replay", func(t *testing.T) reply { return f.submit(t, owner.Token, validForm(t), key) }, reply.job},
		{"owner gets", func(t *testing.T) reply { return f.get(t, owner.Token, "/v1/jobs/"+id) }, reply.job},
		{"staff gets", func(t *testing.T) reply { return f.get(t, staff.Token, "/v1/jobs/"+id) }, reply.job},
		{"owner lists", func(t *testing.T) reply { return f.get(t, owner.Token, "/v1/jobs?limit=100") }, listedJob(id)},
	} {
		r := v.get(t)
		j := v.job(r)
		if r.status/100 != 2 || j == nil {
			t.Fatalf("%s: got %d %v, want job %s", v.name, r.status, r.body, id)
		}
		if c, has := j["pickup"]; has {
			t.Errorf("%s shows a pick-up code %v", v.name, c)
		}
	}

	reissue := func(token string) reply {
		req, _ := http.NewRequest(http.MethodPost, f.url+"/v1/jobs/"+id+"/pickup", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		return do(t, req)
	}
	byOwner := reissue(owner.Token)
	newCode := checkPickupCode(t, "reissued by the owner", byOwner.body["pickup"])
	if byOwner.status != http.StatusOK || newCode == code || byOwner.body["expiresAt"] == nil {
		t.Fatalf("owner's reissue = %d %v", byOwner.status, byOwner.body)
	}
	if opens(code) || !opens(newCode) {
		t.Errorf("after a reissue the old code opens: %v, the new one: %v; want false, true", opens(code), opens(newCode))
	}
	byStaff := reissue(staff.Token)
	staffCode := checkPickupCode(t, "reissued by staff", byStaff.body["pickup"])
	if byStaff.status != http.StatusOK || opens(newCode) || !opens(staffCode) {
		t.Errorf("staff's reissue = %d %v; the owner's code must stop working", byStaff.status, byStaff.body)
	}
	for _, who := range []struct {
		name  string
		token string
	}{
		{"a stranger", f.stack.NewUser(t, testenv.UserOpts{EmailVerified: true}).Token},
		{"another event's staff", f.stack.NewUser(t, testenv.UserOpts{StaffOf: testenv.Unique("other"), EmailVerified: true}).Token},
	} {
		if r := reissue(who.token); r.status != http.StatusNotFound {
			t.Errorf("%s reissues: %d %v, want 404", who.name, r.status, r.body)
		}
	}
	if !opens(staffCode) {
		t.Error("a refused reissue changed the code")
	}
	// A code issued six days on still ends with the job, not 7 days later.
	req, _ := http.NewRequest(http.MethodPost, f.laterURL(t, 6*24*time.Hour)+"/v1/jobs/"+id+"/pickup", nil)
	req.Header.Set("Authorization", "Bearer "+staff.Token)
	lateIssue := do(t, req)
	staffCode = checkPickupCode(t, "reissued six days on", lateIssue.body["pickup"])
	if at, err := time.Parse(time.RFC3339, fmt.Sprint(lateIssue.body["expiresAt"])); err != nil || !at.Equal(stored.ExpireAt.Truncate(time.Second)) {
		t.Errorf("a code issued six days on expires %v (%v), want with its job at %v", lateIssue.body["expiresAt"], err, stored.ExpireAt)
	}
	// Past the retention the code no longer opens the job.
	late := f.laterURL(t, 7*24*time.Hour+time.Minute)
	req, _ = http.NewRequest(http.MethodPost, late+"/v1/pickup", strings.NewReader(pickupBody(id, staffCode)))
	req.Header.Set("Content-Type", "application/json")
	if r := do(t, req); r.status != http.StatusNotFound {
		t.Errorf("an expired code: %d %v, want 404", r.status, r.body)
	}
}

// listedJob picks job id out of a GET /v1/jobs answer.
func listedJob(id string) func(r reply) map[string]any {
	return func(r reply) map[string]any {
		page, _ := r.body["jobs"].([]any)
		for _, j := range page {
			if m, _ := j.(map[string]any); m["id"] == id {
				return m
			}
		}
		return nil
	}
}

// pickupFields are what a pick-up answer's job may hold: the job as
// GET /v1/jobs/{id} shows it, less the pick-up code; nothing about the
// owner.
var pickupFields = map[string]bool{
	"id": true, "status": true, "style": true, "priority": true, "createdAt": true,
	"outputs": true, "error": true, "timings": true, "queue": true,
}

// TestPickup: a phone with the kiosk's QR code (the job id and its pick-up
// code) follows the job without an account, through the stack's worker to
// the downloadable result; anything else gets one and the same 404.
func TestPickup(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	if s.QueuePrefix == "" || s.InputBucket == "" {
		testenv.Require(t, fmt.Errorf("TestPickup needs the stack's worker: QUEUE_PREFIX and INPUT_BUCKET are not set"))
	}
	// The stack's queue and input bucket, so its worker generates the job;
	// the fixture's own event keeps Notify (EVENT=local) from mailing.
	f := newFixture(t, func(c *gateway.Config) {
		c.QueuePrefix, c.InputBucket = s.QueuePrefix, s.InputBucket
		c.AppOrigins = []string{appOrigin}
	})
	staff := f.staff(t)
	fm := form{photo: jpegBytes(t, 320, 240), declared: "image/jpeg", fields: map[string]string{"style": "studio", "priority": "booth"}}
	sub := f.submit(t, staff.Token, fm, nil)
	if sub.status != http.StatusAccepted {
		t.Fatalf("submit = %d %v", sub.status, sub.body)
	}
	id := sub.jobID()
	code := checkPickupCode(t, "booth submit", sub.job()["pickup"])
	other := f.submit(t, staff.Token, validForm(t), nil)
	otherCode := checkPickupCode(t, "other submit", other.job()["pickup"])

	// The job as the phone sees it, straight away and until it is done.
	var done map[string]any
	testenv.Eventually(t, "the picked-up job to succeed", func() bool {
		r := f.pickup(t, "application/json", pickupBody(id, code), nil)
		if r.status != http.StatusOK || r.jobID() != id {
			t.Fatalf("pickup = %d %v", r.status, r.body)
		}
		for k := range r.job() {
			if !pickupFields[k] {
				t.Fatalf("pickup answer holds %q: %v", k, r.job())
			}
		}
		if st := r.job()["status"]; st == "failed" {
			t.Fatalf("job failed: %v", r.job())
		}
		done = r.job()
		return done["status"] == "succeeded"
	})
	outputs, _ := done["outputs"].([]any)
	if len(outputs) == 0 || done["style"] != "studio" || done["priority"] != "booth" {
		t.Fatalf("succeeded job = %v", done)
	}
	url, _ := outputs[0].(map[string]any)["url"].(string)
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	img, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if _, err := jpeg.DecodeConfig(bytes.NewReader(img)); resp.StatusCode != http.StatusOK || err != nil {
		t.Errorf("GET %s = %d, %d bytes (%v); want the output image", url, resp.StatusCode, len(img), err)
	}

	// A request made before pick-up codes existed opens with no code.
	old := testenv.Unique("old")
	_, err = f.fs.Collection("requests").Doc(old).Create(testenv.Ctx(t), map[string]any{
		"uid": staff.UID, "event": f.cfg.Event, "style": "sketch", "priority": "booth", "input": old + "/input.jpg",
		"contentType": "image/jpeg", "width": 120, "height": 90, "notify": map[string]any{}, "createdAt": time.Now(),
	})
	if err != nil {
		t.Fatal(err)
	}

	const jsonType = "application/json"
	refused := []struct {
		name, contentType, body string
		status                  int
		code                    string
	}{
		{"wrong code", jsonType, pickupBody(id, strings.Repeat("A", 22)), 404, "not_found"},
		{"another job's code", jsonType, pickupBody(id, otherCode), 404, "not_found"},
		{"code with a character more", jsonType, pickupBody(id, code+"A"), 404, "not_found"},
		{"code cut short", jsonType, pickupBody(id, code[:21]), 404, "not_found"},
		{"unknown job", jsonType, pickupBody(testenv.Unique("nope"), code), 404, "not_found"},
		{"reserved id", jsonType, pickupBody("__x__", code), 404, "not_found"},
		{"path in id", jsonType, pickupBody(id+"/x", code), 404, "not_found"},
		{"absurd id", jsonType, pickupBody(strings.Repeat("x", 2000), code), 404, "not_found"},
		{"request without a code", jsonType, pickupBody(old, code), 404, "not_found"},
		{"no code", jsonType, `{"job": "` + id + `"}`, 400, "invalid_argument"},
		{"empty code", jsonType, pickupBody(id, ""), 400, "invalid_argument"},
		{"no job", jsonType, `{"code": "` + code + `"}`, 400, "invalid_argument"},
		{"empty object", jsonType, `{}`, 400, "invalid_argument"},
		{"unknown field", jsonType, `{"job": "` + id + `", "code": "` + code + `", "uid": "x"}`, 400, "invalid_argument"},
		{"malformed JSON", jsonType, `{"job": `, 400, "invalid_argument"},
		{"not JSON", "application/x-www-form-urlencoded", "job=" + id + "&code=" + code, 415, "unsupported_media_type"},
	}
	notFound := ""
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			r := f.pickup(t, tc.contentType, tc.body, nil)
			if r.status != tc.status || r.errorCode() != tc.code {
				t.Fatalf("got %d %v, want %d %s", r.status, r.body, tc.status, tc.code)
			}
			if r.job() != nil {
				t.Errorf("a refusal carries a job: %v", r.body)
			}
			if tc.status != 404 {
				return
			}
			// Every 404 is the same answer: nothing tells an unknown id
			// from a wrong code.
			msg := fmt.Sprint(r.body)
			if notFound == "" {
				notFound = msg
			}
			if msg != notFound {
				t.Errorf("404 = %s, want the same as the others: %s", msg, notFound)
			}
		})
	}

	// The app on the event's origin may call it from a phone's browser: a
	// JSON POST's preflight asks for no Authorization header.
	req, _ := http.NewRequest(http.MethodOptions, f.url+"/v1/pickup", nil)
	req.Header.Set("Origin", appOrigin)
	req.Header.Set("Access-Control-Request-Method", http.MethodPost)
	req.Header.Set("Access-Control-Request-Headers", "content-type")
	pre, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	pre.Body.Close()
	if pre.StatusCode != http.StatusNoContent || pre.Header.Get("Access-Control-Allow-Origin") != appOrigin ||
		!strings.Contains(pre.Header.Get("Access-Control-Allow-Methods"), "POST") ||
		!strings.Contains(pre.Header.Get("Access-Control-Allow-Headers"), "Content-Type") {
		t.Errorf("preflight of POST /v1/pickup = %d, headers %v", pre.StatusCode, pre.Header)
	}
	r := f.pickup(t, jsonType, pickupBody(id, code), map[string]string{"Origin": appOrigin})
	if r.status != http.StatusOK || r.header.Get("Access-Control-Allow-Origin") != appOrigin {
		t.Errorf("pickup from the app's origin = %d, headers %v", r.status, r.header)
	}
}
