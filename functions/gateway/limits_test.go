package gateway_test

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"testing"
	"time"

	"github.com/tigerstudio/studio/functions/gateway"
	"github.com/tigerstudio/studio/infra/testenv"
)

// slowUpload starts POST /v1/jobs whose body stops after its first half
// until the returned function is called with the rest; the reply arrives
// on the channel.
func (f *fixture) slowUpload(t *testing.T, token string, fm form) (finish func(), replies <-chan reply) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("style", fm.fields["style"])
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="photo"; filename="photo"`)
	pw, _ := mw.CreatePart(h)
	_, _ = pw.Write(fm.photo)
	mw.Close()
	body := buf.Bytes()
	pr, pwipe := io.Pipe()
	req, _ := http.NewRequest(http.MethodPost, f.url+"/v1/jobs", pr)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	out := make(chan reply, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			out <- reply{status: -1}
			return
		}
		defer resp.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		out <- reply{status: resp.StatusCode, body: body}
	}()
	half := len(body) / 2
	if _, err := pwipe.Write(body[:half]); err != nil {
		t.Fatalf("write first half: %v", err)
	}
	return func() {
		_, _ = pwipe.Write(body[half:])
		pwipe.Close()
	}, out
}

// TestUploadTurns checks that an instance reads at most MaxUploads
// submissions at once: one more waits UploadWait, then gets 503 with
// nothing stored, and a turn given back serves the next.
func TestUploadTurns(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *gateway.Config) {
		c.MaxUploads, c.UploadWait, c.UploadIdle = 1, 200*time.Millisecond, time.Minute
	})
	slow := f.stack.NewUser(t, testenv.UserOpts{})
	other := f.stack.NewUser(t, testenv.UserOpts{})
	finish, slowReply := f.slowUpload(t, slow.Token, validForm(t))

	// The slow upload holds the only turn once its handler runs; until
	// then another submission may still get through (and is counted).
	var r reply
	accepted := 0
	testenv.Eventually(t, "the second submission is turned away", func() bool {
		r = f.submit(t, other.Token, validForm(t), nil)
		if r.status == http.StatusAccepted {
			accepted++
		}
		return r.status == http.StatusServiceUnavailable
	})
	if r.errorCode() != "unavailable" || r.header.Get("Retry-After") == "" {
		t.Errorf("busy answer = %d %v (Retry-After %q)", r.status, r.body, r.header.Get("Retry-After"))
	}
	if ids := f.requestsOf(t, other.UID); len(ids) != accepted {
		t.Errorf("request documents %v, want only the %d accepted before the slow upload took the turn", ids, accepted)
	}

	finish()
	if got := <-slowReply; got.status != http.StatusAccepted {
		t.Fatalf("slow upload = %d, want 202", got.status)
	}
	if r := f.submit(t, other.Token, validForm(t), nil); r.status != http.StatusAccepted {
		t.Errorf("after the turn came back: %d %v", r.status, r.body)
	}
}

// TestStalledUploadLosesItsTurn: a client that stops sending its body
// loses its turn, leaving nothing behind: at UPLOAD_TIMEOUT for the whole
// body, or at UPLOAD_IDLE_TIMEOUT without a byte, long before the first
// (issue 25: eight stalled sockets held every turn for 60 s).
func TestStalledUploadLosesItsTurn(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name          string
		timeout, idle time.Duration
	}{
		{"whole upload's deadline", 300 * time.Millisecond, 5 * time.Second},
		{"no byte for the idle bound", time.Minute, 300 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, func(c *gateway.Config) { c.MaxUploads, c.UploadTimeout, c.UploadIdle = 1, tc.timeout, tc.idle })
			user := f.stack.NewUser(t, testenv.UserOpts{})
			finish, replies := f.slowUpload(t, user.Token, validForm(t))
			defer finish()
			select {
			case r := <-replies:
				if r.status == http.StatusAccepted {
					t.Fatalf("a stalled upload was accepted")
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("a stalled upload held its turn for 30 s (UPLOAD_TIMEOUT %s, UPLOAD_IDLE_TIMEOUT %s)", tc.timeout, tc.idle)
			}
			f.assertNothingLeft(t, user.UID)
			if r := f.submit(t, user.Token, validForm(t), nil); r.status != http.StatusAccepted {
				t.Errorf("next submission = %d %v", r.status, r.body)
			}
		})
	}
}

// TestUploadsPerUser: one account holds at most UPLOADS_PER_USER turns;
// its next submission gets 429 at once while another account's goes
// through (issue 25: one account's stalled uploads shut everyone out).
func TestUploadsPerUser(t *testing.T) {
	t.Parallel()
	// No rate limit: the probes below are not what it is about.
	f := newFixture(t, func(c *gateway.Config) {
		c.MaxUploads, c.UploadsPerUser, c.UploadIdle, c.PerMinute = 8, 1, time.Minute, 0
	})
	hog := f.stack.NewUser(t, testenv.UserOpts{})
	other := f.stack.NewUser(t, testenv.UserOpts{})
	var finish func()
	var slowReply <-chan reply
	start := func() { finish, slowReply = f.slowUpload(t, hog.Token, validForm(t)) }
	start()
	var r reply
	accepted := 0
	testenv.Eventually(t, "the account's second submission is refused", func() bool {
		select {
		case got := <-slowReply:
			// The slow upload arrived while one of these held the
			// account's turn, and was refused: start it again.
			if got.status != http.StatusTooManyRequests {
				t.Fatalf("slow upload = %d %v before it finished", got.status, got.body)
			}
			// Its body's writer may block for good now that nobody
			// reads it: let it go aside.
			go finish()
			start()
			return false
		default:
		}
		r = f.submit(t, hog.Token, validForm(t), nil)
		if r.status == http.StatusAccepted {
			accepted++ // before the slow upload's handler took its turn
		}
		return r.status == http.StatusTooManyRequests
	})
	if r.errorCode() != "resource_exhausted" {
		t.Errorf("refusal = %d %v", r.status, r.body)
	}
	if ids := f.requestsOf(t, hog.UID); len(ids) != accepted {
		t.Errorf("request documents %v, want the %d accepted", ids, accepted)
	}
	if r := f.submit(t, other.Token, validForm(t), nil); r.status != http.StatusAccepted {
		t.Errorf("another account meanwhile: %d %v", r.status, r.body)
	}
	finish()
	if got := <-slowReply; got.status != http.StatusAccepted {
		t.Fatalf("slow upload = %d %v, want 202", got.status, got.body)
	}
	if r := f.submit(t, hog.Token, validForm(t), nil); r.status != http.StatusAccepted {
		t.Errorf("after its upload finished: %d %v", r.status, r.body)
	}
}
