package notify_test

import (
	"bytes"
	"encoding/json"
	"image/jpeg"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tigerstudio/studio/functions/gateway/api"
	"github.com/tigerstudio/studio/functions/gateway/client"
	"github.com/tigerstudio/studio/infra/jobs"
	"github.com/tigerstudio/studio/infra/samples"
	"github.com/tigerstudio/studio/infra/store"
	"github.com/tigerstudio/studio/infra/testenv"
)

// TestEndToEndEmail goes through the whole local stack as a user would: the
// deployed Gateway, the stack's worker, the Firestore-to-CloudEvent bridge,
// Notify on the functions framework and the SMTP sink writing MAIL_DIR.
func TestEndToEndEmail(t *testing.T) {
	t.Parallel()
	// The flagship AI style, through the stack's worker and its real models.
	s, user, job, done := submitToStack(t, samples.Astronaut(), "headshot")
	if done.Status != "succeeded" {
		t.Fatalf("job ended %s", done.Status)
	}

	if o := done.Outputs; len(o) != 1 || o[0].Width != 1024 || o[0].Height != 1024 {
		t.Errorf("outputs %+v, want one 1024x1024 headshot", o)
	}
	mails := onlyMail(t, s.MailDir, job.ID)
	if !strings.Contains(mails[0], "To: "+user.Email) {
		t.Errorf("mail not addressed to %s", user.Email)
	}
	link := urlPattern.FindString(strings.ReplaceAll(mails[0], "=\r\n", ""))
	link = strings.ReplaceAll(link, "=3D", "=")
	resp, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if _, err := jpeg.DecodeConfig(bytes.NewReader(body)); resp.StatusCode != 200 || err != nil {
		t.Errorf("link %s: %d, not a JPEG: %v", link, resp.StatusCode, err)
	}
	expiresTogether(t, job.ID, store.Responses)
}

// expiresTogether checks the retention promise on one finished job: its
// request expires RETENTION_DAYS (the stack's one setting) after its
// creation, the consent text the app shows (studio.json's retentionDays)
// states the same days, and the worker's document (outcome) and Notify's
// repeat the request's expireAt, so Firestore's TTL deletes them together.
func expiresTogether(t *testing.T, jobID, outcome string) {
	t.Helper()
	days, err := strconv.Atoi(os.Getenv("RETENTION_DAYS"))
	if err != nil || days < 1 {
		t.Fatalf("RETENTION_DAYS=%q in the stack's environment: %v", os.Getenv("RETENTION_DAYS"), err)
	}
	resp, err := http.Get(os.Getenv("WEB_URL") + "/studio.json")
	if err != nil {
		t.Fatal(err)
	}
	var app struct {
		RetentionDays int `json:"retentionDays"`
	}
	err = json.NewDecoder(resp.Body).Decode(&app)
	resp.Body.Close()
	if err != nil || app.RetentionDays != days {
		t.Errorf("studio.json retentionDays = %d (%v): the consent text would promise other days than RETENTION_DAYS=%d", app.RetentionDays, err, days)
	}

	fs := testenv.Get(t).Firestore(t)
	ctx := testenv.Ctx(t)
	var req jobs.Request
	snap, err := fs.Collection(store.Requests).Doc(jobID).Get(ctx)
	if err == nil {
		err = snap.DataTo(&req)
	}
	if err != nil {
		t.Fatalf("read request: %v", err)
	}
	if want := req.CreatedAt.Add(time.Duration(days) * 24 * time.Hour); !req.ExpireAt.Equal(want) {
		t.Errorf("request expireAt = %v, want createdAt + %d days = %v", req.ExpireAt, days, want)
	}
	for _, c := range []string{outcome, store.Notifications} {
		snap, err := fs.Collection(c).Doc(jobID).Get(ctx)
		if err != nil {
			t.Fatalf("read %s/%s: %v", c, jobID, err)
		}
		got, err := snap.DataAt("expireAt")
		if at, ok := got.(time.Time); err != nil || !ok || !at.Equal(req.ExpireAt) {
			t.Errorf("%s/%s expireAt = %v (%v), want the request's %v", c, jobID, got, err, req.ExpireAt)
		}
	}
}

// submitToStack signs a new user in and submits photo to the stack's own
// Gateway, as the app does, and waits for the job to end.
func submitToStack(t *testing.T, photo []byte, style string) (testenv.Stack, testenv.User, api.Job, api.Job) {
	t.Helper()
	s := testenv.Get(t)
	if s.GatewayURL == "" || s.MailDir == "" {
		t.Fatal("GATEWAY_URL and MAIL_DIR must be set by the stack")
	}
	user := s.NewUser(t, testenv.UserOpts{EmailVerified: true})
	c := &client.Client{BaseURL: s.GatewayURL, Token: user.Token, AppCheck: s.AppCheckToken(t)}
	ctx := testenv.Ctx(t)
	job, err := c.Submit(ctx, client.Submission{Photo: photo, ContentType: "image/png", Style: style})
	if err != nil {
		t.Fatal(err)
	}
	done, err := c.Wait(ctx, job.ID, 100*time.Millisecond, nil)
	if err != nil {
		t.Fatalf("job %s: %v", job.ID, err)
	}
	return s, user, job, done
}

// onlyMail waits for the mail about a job and checks no second one follows.
func onlyMail(t *testing.T, dir, jobID string) []string {
	t.Helper()
	mailsFor := func() []string {
		files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
		var found []string
		for _, f := range files {
			raw, _ := os.ReadFile(f)
			if bytes.Contains(raw, []byte(jobID)) {
				found = append(found, string(raw))
			}
		}
		return found
	}
	// Once the notification is closed (sentAt), every mail for the job has
	// been written: a duplicate event finds it closed and sends nothing.
	fs := testenv.Get(t).Firestore(t)
	testenv.Eventually(t, "the notification closed", func() bool {
		snap, err := fs.Collection(store.Notifications).Doc(jobID).Get(testenv.Ctx(t))
		if err != nil || !snap.Exists() {
			return false
		}
		var n store.Notification
		return snap.DataTo(&n) == nil && !n.SentAt.IsZero()
	})
	mails := mailsFor()
	if len(mails) != 1 {
		t.Fatalf("%d mails about job %s, want exactly 1", len(mails), jobID)
	}
	return mails
}

// TestEndToEndNoFace sends a real photo without a person (the coffee cup)
// to a style that needs a face, through the whole stack: the worker's face
// gate ends the job with a no_face error document before any generation,
// and the owner's email says to retake the photo.
func TestEndToEndNoFace(t *testing.T) {
	t.Parallel()
	s, _, job, done := submitToStack(t, samples.Coffee(), "headshot")
	if done.Status != "failed" {
		t.Fatalf("job ended %s, want failed", done.Status)
	}
	if done.Error == nil || done.Error.Code != "no_face" || !strings.Contains(done.Error.Message, "Retake") {
		t.Errorf("error %+v, want no_face telling the user to retake the photo", done.Error)
	}
	if len(done.Outputs) != 0 {
		t.Errorf("outputs %+v for a failed job", done.Outputs)
	}
	mail := strings.ReplaceAll(onlyMail(t, s.MailDir, job.ID)[0], "=\r\n", "")
	if !strings.Contains(mail, "could not find a face") || !strings.Contains(mail, "retake the photo") {
		t.Errorf("failure mail does not explain the missing face:\n%s", mail)
	}
	expiresTogether(t, job.ID, store.Errors)
}
