package notify_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tigerstudio/studio/emulators/sms"
	"github.com/tigerstudio/studio/functions/gateway/client"
	"github.com/tigerstudio/studio/infra/samples"
	"github.com/tigerstudio/studio/infra/store"
	"github.com/tigerstudio/studio/infra/testenv"
)

// TestEndToEndText: an attendee proves a number with the Auth emulator's
// phone verification, chooses a text message and no email on the stack's
// Gateway, and the stand-in of the SMS provider holds exactly one message
// for the job, to that number, with the link to the job's page; no mail.
// A number the attendee did not prove, or none at all, is refused.
func TestEndToEndText(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	dir := os.Getenv("SMS_DIR")
	if dir == "" || s.GatewayURL == "" {
		t.Fatal("SMS_DIR and GATEWAY_URL must be set by the stack (make dev starts its sms part)")
	}
	ctx := testenv.Ctx(t)
	user := s.NewUser(t, testenv.UserOpts{EmailVerified: true})
	phone := fmt.Sprintf("+8210%08d", rand.IntN(1e8))
	anon := &client.Client{BaseURL: s.GatewayURL, Token: user.Token, AppCheck: s.AppCheckToken(t)}
	photo := samples.Astronaut()
	refused := []struct {
		name   string
		sub    client.Submission
		status int
	}{
		{"a number not proved", client.Submission{Phone: phone, Notify: "phone"}, http.StatusForbidden},
		{"text chosen without a number", client.Submission{Notify: "phone"}, http.StatusBadRequest},
		{"unknown channel", client.Submission{Notify: "pigeon"}, http.StatusBadRequest},
		{"not a number", client.Submission{Phone: "010-1234", Notify: "phone"}, http.StatusBadRequest},
	}
	for _, tc := range refused {
		tc.sub.Photo, tc.sub.ContentType, tc.sub.Style = photo, "image/png", "sketch"
		_, err := anon.Submit(ctx, tc.sub)
		var apiErr *client.APIError
		if !errors.As(err, &apiErr) || apiErr.Status != tc.status {
			t.Errorf("%s: %v, want HTTP %d", tc.name, err, tc.status)
		}
	}

	token, err := client.EmulatorVerifyPhone(ctx, s.AuthHost, s.Project, user.Token, phone)
	if err != nil {
		t.Fatal(err)
	}
	c := &client.Client{BaseURL: s.GatewayURL, Token: token, AppCheck: s.AppCheckToken(t)}
	job, err := c.Submit(ctx, client.Submission{Photo: photo, ContentType: "image/png", Style: "sketch", Notify: "phone"})
	if err != nil {
		t.Fatal(err)
	}
	done, err := c.Wait(ctx, job.ID, 100*time.Millisecond, nil)
	if err != nil || done.Status != "succeeded" {
		t.Fatalf("job %s: %s, %v", job.ID, done.Status, err)
	}
	texts := onlyText(t, dir, job.ID)
	if m := texts[0]; m.To != phone || !strings.Contains(m.Body, "#/job/"+job.ID) {
		t.Errorf("text %+v: want to %s linking the job's page", m, phone)
	}
	if n := mailsAbout(t, s.MailDir, job.ID); n != 0 {
		t.Errorf("%d mails for a job whose owner chose only a text", n)
	}
}

// onlyText waits until the job's notification is closed (every message
// for it has been handed over: a duplicate event finds it closed and sends
// nothing) and returns its texts in the stand-in's directory, exactly one.
func onlyText(t *testing.T, dir, jobID string) []sms.Message {
	t.Helper()
	fs := testenv.Get(t).Firestore(t)
	testenv.Eventually(t, "the notification closed", func() bool {
		snap, err := fs.Collection(store.Notifications).Doc(jobID).Get(testenv.Ctx(t))
		if err != nil || !snap.Exists() {
			return false
		}
		var n store.Notification
		return snap.DataTo(&n) == nil && !n.SentAt.IsZero()
	})
	all, err := sms.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []sms.Message
	for _, m := range all {
		if strings.Contains(m.Body, jobID) {
			got = append(got, m)
		}
	}
	if len(got) != 1 {
		t.Fatalf("%d texts about job %s, want exactly 1", len(got), jobID)
	}
	return got
}

// mailsAbout counts the mails in dir that name the job.
func mailsAbout(t *testing.T, dir, jobID string) int {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	n := 0
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err == nil && bytes.Contains(raw, []byte(jobID)) {
			n++
		}
	}
	return n
}
