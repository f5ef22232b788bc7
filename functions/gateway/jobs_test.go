package gateway_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/tigerstudio/studio/functions/gateway"
	"github.com/tigerstudio/studio/infra/queue"
	"github.com/tigerstudio/studio/infra/testenv"
)

func TestBoothPriority(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	staff := f.staff(t)
	fm := validForm(t)
	fm.fields["priority"] = "booth"
	r := f.submit(t, staff.Token, fm, nil)
	if r.status != http.StatusAccepted || r.job()["priority"] != "booth" {
		t.Fatalf("got %d %v", r.status, r.body)
	}
	msg, ok := f.stack.GetMessage(t, f.topo.Queue())
	if !ok || msg.Priority != queue.PriorityOf("booth") || msg.Priority <= queue.PriorityOf("online") {
		t.Fatalf("booth message priority = %d (ok=%v), want above every online priority", msg.Priority, ok)
	}
}

// TestStaffRightsArePerEventAndVerified: the staff claim of another event,
// the old project-wide claim, or a claim on an address nobody proved give
// neither booth priority nor the booth's board nor a pass on the rate
// limit (issue 25: staff rights by pre-registering a staff member's
// address; staff of one event were staff of every event).
func TestStaffRightsArePerEventAndVerified(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *gateway.Config) { c.PerMinute = 1 })
	oldClaim := f.stack.NewUser(t, testenv.UserOpts{EmailVerified: true})
	if err := f.stack.AuthClient(t).SetCustomUserClaims(testenv.Ctx(t), oldClaim.UID, map[string]any{"staff": true}); err != nil {
		t.Fatal(err)
	}
	oldClaim.Token = f.stack.SignIn(t, oldClaim.Email, testenv.Password)
	for _, tc := range []struct {
		name string
		user testenv.User
	}{
		{"another event's staff", f.stack.NewUser(t, testenv.UserOpts{StaffOf: testenv.Unique("other-event"), EmailVerified: true})},
		{"unverified address", f.stack.NewUser(t, testenv.UserOpts{StaffOf: f.cfg.Event})},
		{"old project-wide claim", oldClaim},
	} {
		t.Run(tc.name, func(t *testing.T) {
			booth := validForm(t)
			booth.fields["priority"] = "booth"
			if r := f.submit(t, tc.user.Token, booth, nil); r.status != 403 || r.errorCode() != "permission_denied" {
				t.Errorf("booth priority: %d %v, want 403", r.status, r.body)
			}
			if r := f.get(t, tc.user.Token, "/v1/jobs?scope=booth"); r.status != 403 {
				t.Errorf("the booth's board: %d %v, want 403", r.status, r.body)
			}
			for i, want := range []int{202, 429} {
				if r := f.submit(t, tc.user.Token, validForm(t), nil); r.status != want {
					t.Errorf("online job %d: %d %v, want %d (the rate limit applies)", i+1, r.status, r.body, want)
				}
			}
		})
	}
	// The event's own, verified staff keep every right.
	staff := f.staff(t)
	booth := validForm(t)
	booth.fields["priority"] = "booth"
	if r := f.submit(t, staff.Token, booth, nil); r.status != 202 {
		t.Errorf("staff's booth job: %d %v", r.status, r.body)
	}
	if r := f.get(t, staff.Token, "/v1/jobs?scope=booth"); r.status != 200 {
		t.Errorf("staff's board: %d %v", r.status, r.body)
	}
}

func TestNotifyEmail(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	verified := f.stack.NewUser(t, testenv.UserOpts{EmailVerified: true})
	unverified := f.stack.NewUser(t, testenv.UserOpts{})
	staff := f.staff(t)
	tests := []struct {
		name     string
		user     testenv.User
		email    string
		priority string
		status   int
		want     string
	}{
		{"verified token email by default", verified, "", "", 202, verified.Email},
		{"unverified token email is not used", unverified, "", "", 202, ""},
		{"own verified address, other case", verified, strings.ToUpper(verified.Email), "", 202, strings.ToUpper(verified.Email)},
		{"staff enter a guest's address", staff, "guest@example.test", "", 202, "guest@example.test"},
		{"a booth job with the attendee's address", staff, "guest@example.test", "booth", 202, "guest@example.test"},
		// An attendee without an address picks up by QR code: the job's
		// owner is the kiosk's staff account, which is never mailed.
		{"a booth job without an address mails nobody", staff, "", "booth", 202, ""},
		{"a user names a stranger", verified, "stranger@example.test", "", 403, ""},
		{"own address, unverified", unverified, unverified.Email, "", 403, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fm := validForm(t)
			if tc.email != "" {
				fm.fields["email"] = tc.email
			}
			if tc.priority != "" {
				fm.fields["priority"] = tc.priority
			}
			r := f.submit(t, tc.user.Token, fm, nil)
			if r.status != tc.status {
				t.Fatalf("got %d %v, want %d", r.status, r.body, tc.status)
			}
			if tc.status != http.StatusAccepted {
				if r.errorCode() != "permission_denied" {
					t.Errorf("code %s, want permission_denied", r.errorCode())
				}
				return
			}
			snap, err := f.fs.Collection("requests").Doc(r.jobID()).Get(testenv.Ctx(t))
			if err != nil {
				t.Fatal(err)
			}
			n, _ := snap.Data()["notify"].(map[string]any)
			if got, _ := n["email"].(string); got != tc.want {
				t.Errorf("notify.email = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	alice := f.stack.NewUser(t, testenv.UserOpts{})
	bob := f.stack.NewUser(t, testenv.UserOpts{})
	key := map[string]string{"Idempotency-Key": "booth-7-upload-42"}

	first := f.submit(t, alice.Token, validForm(t), key)
	again := f.submit(t, alice.Token, validForm(t), key)
	if first.status != 202 || again.status != 202 {
		t.Fatalf("statuses %d, %d: %v %v", first.status, again.status, first.body, again.body)
	}
	if first.jobID() != again.jobID() {
		t.Errorf("retry got job %s, want the first job %s", again.jobID(), first.jobID())
	}
	if again.header.Get("Idempotent-Replayed") != "true" {
		t.Error("replay is not marked Idempotent-Replayed")
	}
	other := f.submit(t, bob.Token, validForm(t), key)
	if other.status != 202 || other.jobID() == first.jobID() {
		t.Errorf("another user's same key gave %d job %s; want a job of their own", other.status, other.jobID())
	}
	if n := f.stack.QueueDepth(t, f.topo.Queue()); n != 2 {
		t.Errorf("%d messages, want 2 (one per user)", n)
	}
	if ids := f.requestsOf(t, alice.UID); len(ids) != 1 {
		t.Errorf("alice has %d request documents, want 1", len(ids))
	}
}

// TestIdempotencyKeyConcurrent is a booth tablet retrying while the first
// upload is still in flight: one job, one message, whatever the interleaving.
func TestIdempotencyKeyConcurrent(t *testing.T) {
	t.Parallel()
	// Six at once from one account: more than UPLOADS_PER_USER allows,
	// which is not what this test is about.
	f := newFixture(t, func(c *gateway.Config) { c.UploadsPerUser = 6 })
	user := f.stack.NewUser(t, testenv.UserOpts{})
	key := map[string]string{"Idempotency-Key": testenv.Unique("k")}
	var wg sync.WaitGroup
	replies := make([]reply, 6)
	for i := range replies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			replies[i] = f.submit(t, user.Token, validForm(t), key)
		}()
	}
	wg.Wait()
	ids := map[string]bool{}
	for _, r := range replies {
		switch r.status {
		case 202:
			ids[r.jobID()] = true
		case 409:
			if r.errorCode() != "already_exists" {
				t.Errorf("409 with code %s", r.errorCode())
			}
		default:
			t.Errorf("unexpected %d %v", r.status, r.body)
		}
	}
	if len(ids) != 1 {
		t.Errorf("job ids %v, want exactly one", ids)
	}
	if n := f.stack.QueueDepth(t, f.topo.Queue()); n != 1 {
		t.Errorf("%d messages, want 1", n)
	}
	// Every attempt uploads under its own name; the losers remove theirs.
	if objs := testenv.Objects(t, f.gcs, f.bucket); len(objs) != 1 {
		t.Errorf("input objects %v, want 1", objs)
	}
}

// TestIdempotencyKeyMismatch: a key reused for another photo, style or
// priority is refused (422), as payment APIs do, instead of silently
// answering with the first job.
func TestIdempotencyKeyMismatch(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	user := f.staff(t)
	key := map[string]string{"Idempotency-Key": testenv.Unique("k")}
	first := f.submit(t, user.Token, validForm(t), key)
	if first.status != 202 {
		t.Fatalf("first: %d %v", first.status, first.body)
	}
	otherStyle := validForm(t)
	otherStyle.fields["style"] = "watercolour"
	booth := validForm(t)
	booth.fields["priority"] = "booth"
	for name, fm := range map[string]form{
		"another photo":    {photo: pngBytes(t, 30, 30), declared: "image/png", fields: map[string]string{"style": "sketch"}},
		"another style":    otherStyle,
		"another priority": booth,
	} {
		r := f.submit(t, user.Token, fm, key)
		if r.status != http.StatusUnprocessableEntity || r.errorCode() != "idempotency_mismatch" {
			t.Errorf("%s: got %d %v, want 422 idempotency_mismatch", name, r.status, r.body)
		}
	}
	if again := f.submit(t, user.Token, validForm(t), key); again.status != 202 || again.jobID() != first.jobID() {
		t.Errorf("the same submission again: %d %v", again.status, again.body)
	}
	if n := f.stack.QueueDepth(t, f.topo.Queue()); n != 1 {
		t.Errorf("%d messages, want 1", n)
	}
	if objs := testenv.Objects(t, f.gcs, f.bucket); len(objs) != 1 {
		t.Errorf("input objects %v, want 1", objs)
	}
}

func TestGetJobOwnership(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	owner := f.stack.NewUser(t, testenv.UserOpts{})
	stranger := f.stack.NewUser(t, testenv.UserOpts{})
	staff := f.staff(t)
	otherEventStaff := f.stack.NewUser(t, testenv.UserOpts{StaffOf: testenv.Unique("other-event"), EmailVerified: true})
	unverifiedStaff := f.stack.NewUser(t, testenv.UserOpts{StaffOf: f.cfg.Event})
	id := f.submit(t, owner.Token, validForm(t), nil).jobID()
	tests := []struct {
		name, token, path string
		want              int
	}{
		{"owner", owner.Token, "/v1/jobs/" + id, 200},
		{"staff", staff.Token, "/v1/jobs/" + id, 200},
		{"another event's staff", otherEventStaff.Token, "/v1/jobs/" + id, 404},
		{"staff with an unverified address", unverifiedStaff.Token, "/v1/jobs/" + id, 404},
		{"someone else", stranger.Token, "/v1/jobs/" + id, 404},
		{"no such job", owner.Token, "/v1/jobs/does-not-exist", 404},
		{"absurd id", owner.Token, "/v1/jobs/" + strings.Repeat("x", 2000), 404},
		{"reserved id", owner.Token, "/v1/jobs/__x__", 404},
		{"dot id", owner.Token, "/v1/jobs/..", 404},
		{"no token", "", "/v1/jobs/" + id, 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := f.get(t, tc.token, tc.path)
			if r.status != tc.want {
				t.Fatalf("got %d %v, want %d", r.status, r.body, tc.want)
			}
			if tc.want == 200 && r.jobID() != id {
				t.Errorf("got job %s, want %s", r.jobID(), id)
			}
			if tc.want == 404 && r.errorCode() != "not_found" {
				t.Errorf("code %s, want not_found", r.errorCode())
			}
		})
	}
}

func TestListJobs(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	alice := f.stack.NewUser(t, testenv.UserOpts{})
	bob := f.stack.NewUser(t, testenv.UserOpts{})
	var created []string // oldest first
	for range 5 {
		created = append(created, f.submit(t, alice.Token, validForm(t), nil).jobID())
	}
	bobs := f.submit(t, bob.Token, validForm(t), nil).jobID()

	var listed []string
	token := ""
	pages := 0
	for {
		path := "/v1/jobs?limit=2"
		if token != "" {
			path += "&pageToken=" + token
		}
		r := f.get(t, alice.Token, path)
		if r.status != 200 {
			t.Fatalf("list = %d %v", r.status, r.body)
		}
		jobs, _ := r.body["jobs"].([]any)
		if len(jobs) > 2 {
			t.Fatalf("page of %d jobs with limit 2", len(jobs))
		}
		for _, j := range jobs {
			listed = append(listed, j.(map[string]any)["id"].(string))
		}
		pages++
		token, _ = r.body["nextPageToken"].(string)
		if token == "" || pages > 5 {
			break
		}
	}
	want := make([]string, len(created))
	for i, id := range created {
		want[len(created)-1-i] = id
	}
	if strings.Join(listed, ",") != strings.Join(want, ",") {
		t.Errorf("listed %v, want newest first %v", listed, want)
	}
	if pages != 3 {
		t.Errorf("%d pages, want 3", pages)
	}
	for _, id := range listed {
		if id == bobs {
			t.Error("alice's list shows bob's job")
		}
	}
	for _, bad := range []string{"limit=0", "limit=101", "limit=x", "pageToken=garbage"} {
		if r := f.get(t, alice.Token, "/v1/jobs?"+bad); r.status != 400 || r.errorCode() != "invalid_argument" {
			t.Errorf("%s: got %d %v", bad, r.status, r.body)
		}
	}
}

// TestSucceededJobLinksOutputs plays the worker's part by writing a
// succeeded response and an output object, and checks the link downloads it.
func TestSucceededJobLinksOutputs(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	user := f.stack.NewUser(t, testenv.UserOpts{})
	id := f.submit(t, user.Token, validForm(t), nil).jobID()
	out := jpegBytes(t, 32, 32)
	name := id + "/out-0.jpg"
	w := f.gcs.Bucket(f.stack.OutputBucket).Object(name).NewWriter(testenv.Ctx(t))
	w.ContentType = "image/jpeg"
	if _, err := w.Write(out); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := f.fs.Collection("responses").Doc(id).Set(testenv.Ctx(t), map[string]any{
		"state": "succeeded", "attempt": 1, "startedAt": time.Now(),
		"outputs": []map[string]any{{"name": name, "contentType": "image/jpeg", "width": 32, "height": 32}},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := f.get(t, user.Token, "/v1/jobs/"+id)
	outputs, _ := r.job()["outputs"].([]any)
	if r.job()["status"] != "succeeded" || len(outputs) != 1 {
		t.Fatalf("job = %v", r.body)
	}
	url := outputs[0].(map[string]any)["url"].(string)
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(got, out) {
		t.Errorf("GET %s = %d, %d bytes; want the output image", url, resp.StatusCode, len(got))
	}

	_, err = f.fs.Collection("errors").Doc(id).Set(testenv.Ctx(t), map[string]any{
		"code": "internal", "message": "GPU fell over", "retryable": false, "attempts": 3, "failedAt": time.Now(),
	})
	if err != nil {
		t.Fatal(err)
	}
	r = f.get(t, user.Token, "/v1/jobs/"+id)
	e, _ := r.job()["error"].(map[string]any)
	if r.job()["status"] != "failed" || e["code"] != "internal" || e["message"] != "GPU fell over" {
		t.Errorf("failed job = %v", r.body)
	}
}

func TestRegisterDevice(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	user := f.stack.NewUser(t, testenv.UserOpts{})
	post := func(body string) reply {
		req, _ := http.NewRequest(http.MethodPost, f.url+"/v1/devices", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+user.Token)
		return do(t, req)
	}
	for _, tok := range []string{"fcm-token-a", "fcm-token-b", "fcm-token-a"} {
		if r := post(fmt.Sprintf(`{"token":%q}`, tok)); r.status != 200 {
			t.Fatalf("register %s = %d %v", tok, r.status, r.body)
		}
	}
	snap, err := f.fs.Collection("devices").Doc(user.UID).Get(testenv.Ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(snap.Data()["tokens"])
	if string(b) != `["fcm-token-b","fcm-token-a"]` {
		t.Errorf("tokens = %s, want each once, the latest registration last", b)
	}
	for i := range 12 {
		if r := post(fmt.Sprintf(`{"token":"t%d"}`, i)); r.status != 200 {
			t.Fatal(r.body)
		}
	}
	snap, err = f.fs.Collection("devices").Doc(user.UID).Get(testenv.Ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	tokens, _ := snap.Data()["tokens"].([]any)
	if len(tokens) != 10 || tokens[0] != "t2" || tokens[9] != "t11" {
		t.Errorf("tokens = %v, want the newest 10 (t2..t11)", tokens)
	}
	if r := post(`{"token":""}`); r.status != 400 {
		t.Errorf("empty token = %d", r.status)
	}
}

func TestBrokerUnreachable(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *gateway.Config) { c.AMQPURL = "amqp://guest:guest@127.0.0.1:1/" })
	user := f.stack.NewUser(t, testenv.UserOpts{})
	r := f.submit(t, user.Token, validForm(t), nil)
	if r.status != 503 || r.errorCode() != "unavailable" {
		t.Fatalf("got %d %v, want 503 unavailable", r.status, r.body)
	}
	f.assertNothingLeft(t, user.UID)
}

// TestBrokerGoesAway cuts the Gateway's broker connection between two jobs:
// the next job is refused with 503 and leaves nothing; once the broker is
// back, jobs are accepted again without restarting the Gateway.
func TestBrokerGoesAway(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	proxy := testenv.NewProxy(t, s.AMQPHost(t))
	// A limit of two: the refused job must give its turn back, or the
	// job after the broker's return would be refused as over the limit.
	f := newFixture(t, func(c *gateway.Config) { c.AMQPURL = proxy.AMQPURL(t, s.AMQPURL); c.PerMinute = 2 })
	user := f.stack.NewUser(t, testenv.UserOpts{})
	if r := f.submit(t, user.Token, validForm(t), nil); r.status != 202 {
		t.Fatalf("before: %d %v", r.status, r.body)
	}
	before := f.requestsOf(t, user.UID)
	proxy.Cut()
	r := f.submit(t, user.Token, validForm(t), nil)
	if r.status != 503 || r.errorCode() != "unavailable" {
		t.Fatalf("broker gone: got %d %v, want 503", r.status, r.body)
	}
	if after := f.requestsOf(t, user.UID); len(after) != len(before) {
		t.Errorf("request documents %v after a refused job, want %v", after, before)
	}
	if objs := testenv.Objects(t, f.gcs, f.bucket); len(objs) != 1 {
		t.Errorf("input objects %v, want only the first job's", objs)
	}
	proxy.Restore(t)
	// A client retries its 503s; within a second of the broker's return
	// (the Gateway's dial backoff) the job is accepted.
	testenv.Eventually(t, "a job accepted after the broker's return", func() bool {
		r := f.submit(t, user.Token, validForm(t), nil)
		if r.status != 202 && r.status != 503 {
			t.Fatalf("after restore: %d %v", r.status, r.body)
		}
		return r.status == 202
	})
	if n := f.stack.QueueDepth(t, f.topo.Queue()); n != 2 {
		t.Errorf("%d messages, want 2", n)
	}
}

// TestUnroutableMessageIsRefused removes the queue binding after the
// Gateway connected (it declares the topology on connect): the broker
// confirms but returns the message, which must count as not enqueued.
func TestUnroutableMessageIsRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	user := f.stack.NewUser(t, testenv.UserOpts{})
	if r := f.submit(t, user.Token, validForm(t), nil); r.status != 202 {
		t.Fatalf("warm-up job: %d %v", r.status, r.body)
	}
	if _, ok := f.stack.GetMessage(t, f.topo.Queue()); !ok {
		t.Fatal("warm-up job was not enqueued")
	}
	f.stack.WithChannel(t, func(ch *amqp.Channel) error {
		return ch.QueueUnbind(f.topo.Queue(), f.topo.RoutingKey(), f.topo.Exchange(), nil)
	})
	r := f.submit(t, user.Token, validForm(t), nil)
	if r.status != 503 || r.errorCode() != "unavailable" {
		t.Fatalf("got %d %v, want 503", r.status, r.body)
	}
	if ids := f.requestsOf(t, user.UID); len(ids) != 1 {
		t.Errorf("request documents %v, want only the warm-up job's", ids)
	}
	if objs := testenv.Objects(t, f.gcs, f.bucket); len(objs) != 1 {
		t.Errorf("input objects %v, want only the warm-up job's", objs)
	}
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *gateway.Config) { c.PerMinute = 3 })
	user := f.stack.NewUser(t, testenv.UserOpts{})
	staff := f.staff(t)
	key := map[string]string{"Idempotency-Key": "k1"}
	first := f.submit(t, user.Token, validForm(t), key)
	for range 2 {
		if r := f.submit(t, user.Token, validForm(t), nil); r.status != 202 {
			t.Fatalf("within the limit: %d %v", r.status, r.body)
		}
	}
	r := f.submit(t, user.Token, validForm(t), nil)
	if r.status != 429 || r.errorCode() != "resource_exhausted" || r.header.Get("Retry-After") == "" {
		t.Fatalf("over the limit: %d %v (Retry-After %q)", r.status, r.body, r.header.Get("Retry-After"))
	}
	if ids := f.requestsOf(t, user.UID); len(ids) != 3 {
		t.Errorf("%d request documents, want 3", len(ids))
	}
	if again := f.submit(t, user.Token, validForm(t), key); again.status != 202 || again.jobID() != first.jobID() {
		t.Errorf("a replay over the limit: %d %v, want the first job again", again.status, again.body)
	}
	for range 4 {
		if r := f.submit(t, staff.Token, validForm(t), nil); r.status != 202 {
			t.Fatalf("staff are not limited: %d %v", r.status, r.body)
		}
	}
	if n := f.stack.QueueDepth(t, f.topo.Queue()); n != 7 {
		t.Errorf("%d messages, want 7", n)
	}
}

// TestRateLimitWindow: the window slides (a submission counts for one
// minute after it was made, then frees its turn), and Retry-After says how
// long until the oldest counted one leaves it. Gateways whose clocks run
// ahead stand for the minutes passing.
func TestRateLimitWindow(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *gateway.Config) { c.PerMinute = 2 })
	user := f.stack.NewUser(t, testenv.UserOpts{})
	at := func(d time.Duration) string { return f.laterURL(t, d) }
	for _, step := range []struct {
		at         time.Duration
		wantStatus int
		retryAfter int // seconds, ±1 for the test's own running time
	}{
		{0, 202, 0},
		{20 * time.Second, 202, 0},
		{30 * time.Second, 429, 30}, // the first leaves the window at 60 s
		{61 * time.Second, 202, 0},  // ... and has
		{62 * time.Second, 429, 18}, // the second (20 s) leaves at 80 s
		{100 * time.Second, 202, 0}, // only the one at 61 s is still counted
	} {
		r := submitTo(t, at(step.at), user.Token, validForm(t), nil)
		if r.status != step.wantStatus {
			t.Fatalf("at +%s: %d %v, want %d", step.at, r.status, r.body, step.wantStatus)
		}
		if step.wantStatus != 429 {
			continue
		}
		got, err := strconv.Atoi(r.header.Get("Retry-After"))
		if err != nil || got < step.retryAfter-1 || got > step.retryAfter+1 {
			t.Errorf("at +%s: Retry-After %q, want %d s (the time left)", step.at, r.header.Get("Retry-After"), step.retryAfter)
		}
	}
}

// TestRateLimitConcurrent: the check and the count are one atomic step, so
// 40 posts at once from one user get exactly the limit through.
func TestRateLimitConcurrent(t *testing.T) {
	t.Parallel()
	const limit, posts = 20, 40
	// Turns for all 40 at once: only the rate limit may refuse here.
	f := newFixture(t, func(c *gateway.Config) { c.PerMinute, c.MaxUploads, c.UploadsPerUser = limit, posts, posts })
	user := f.stack.NewUser(t, testenv.UserOpts{})
	fm := validForm(t)
	statuses := make([]int, posts)
	var wg sync.WaitGroup
	for i := range posts {
		wg.Go(func() { statuses[i] = f.submit(t, user.Token, fm, nil).status })
	}
	wg.Wait()
	count := map[int]int{}
	for _, st := range statuses {
		count[st]++
	}
	if count[202] != limit || count[429] != posts-limit {
		t.Errorf("statuses %v, want %d accepted and %d refused", count, limit, posts-limit)
	}
	if ids := f.requestsOf(t, user.UID); len(ids) != limit {
		t.Errorf("%d request documents, want %d", len(ids), limit)
	}
	if n := f.stack.QueueDepth(t, f.topo.Queue()); n != limit {
		t.Errorf("%d messages, want %d", n, limit)
	}
}

// TestConsentStored: the version of the consent text the app sends is
// stored on the request (DESIGN.md's consent field); anything but a version
// name is refused and leaves nothing; a request without one stores none.
func TestConsentStored(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	user := f.stack.NewUser(t, testenv.UserOpts{})
	stored := func(t *testing.T, id string) (string, bool) {
		snap, err := f.fs.Collection("requests").Doc(id).Get(testenv.Ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		v, err := snap.DataAt("consent")
		if err != nil {
			return "", false
		}
		s, _ := v.(string)
		return s, true
	}
	bad := validForm(t)
	bad.fields["consent"] = "I agree <script>"
	if r := f.submit(t, user.Token, bad, nil); r.status != 400 || r.errorCode() != "invalid_argument" {
		t.Fatalf("a consent that is no version: %d %v, want 400", r.status, r.body)
	}
	f.assertNothingLeft(t, user.UID)
	fm := validForm(t)
	fm.fields["consent"] = "2025-06-v1"
	r := f.submit(t, user.Token, fm, nil)
	if r.status != 202 {
		t.Fatalf("%d %v", r.status, r.body)
	}
	if got, ok := stored(t, r.jobID()); !ok || got != "2025-06-v1" {
		t.Errorf("stored consent %q (%v), want 2025-06-v1", got, ok)
	}
	r = f.submit(t, user.Token, validForm(t), nil)
	if got, ok := stored(t, r.jobID()); ok {
		t.Errorf("a request without consent stored %q", got)
	}
}

// TestGuestFloodCapped: fresh guest accounts cost nothing, so together the
// event's guests may submit GUEST_JOBS_PER_MINUTE jobs a minute (issue 25:
// three new guests each got 202 after the first hit its own limit); past
// it a guest is told to sign in, nothing is left, and its own turn is given
// back; signed-in attendees are not held up by the flood.
func TestGuestFloodCapped(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *gateway.Config) { c.GuestsPerMinute = 3 })
	for i := range 3 {
		if r := f.submit(t, f.stack.NewGuest(t).Token, validForm(t), nil); r.status != 202 {
			t.Fatalf("guest %d: %d %v, want 202", i+1, r.status, r.body)
		}
	}
	flood := f.stack.NewGuest(t)
	r := f.submit(t, flood.Token, validForm(t), nil)
	if r.status != 429 || r.errorCode() != "resource_exhausted" || r.header.Get("Retry-After") == "" {
		t.Fatalf("the fourth guest: %d %v (Retry-After %q), want 429", r.status, r.body, r.header.Get("Retry-After"))
	}
	if msg, _ := r.body["error"].(map[string]any)["message"].(string); !strings.Contains(msg, "sign in") {
		t.Errorf("refusal %q does not say to sign in", msg)
	}
	if ids := f.requestsOf(t, flood.UID); len(ids) != 0 {
		t.Errorf("the refused guest left requests %v", ids)
	}
	if snap, err := f.fs.Collection("quotas").Doc(flood.UID).Get(testenv.Ctx(t)); err == nil {
		if entries, _ := snap.DataAt("entries"); entries != nil && len(entries.([]any)) != 0 {
			t.Errorf("the refused guest's own turn was kept: %v", entries)
		}
	}
	if r := f.submit(t, f.stack.NewUser(t, testenv.UserOpts{EmailVerified: true}).Token, validForm(t), nil); r.status != 202 {
		t.Errorf("a signed-in attendee during the flood: %d %v, want 202", r.status, r.body)
	}
	if n := f.stack.QueueDepth(t, f.topo.Queue()); n != 4 {
		t.Errorf("%d messages, want 4", n)
	}
}
