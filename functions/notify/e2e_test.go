package notify_test

import (
	"bytes"
	"image/jpeg"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tigerstudio/studio/functions/gateway/client"
	"github.com/tigerstudio/studio/infra/testenv"
)

// TestEndToEndEmail goes through the whole local stack as a user would: the
// deployed Gateway, the stack's worker, the Firestore-to-CloudEvent bridge,
// Notify on the functions framework and the SMTP sink writing MAIL_DIR.
func TestEndToEndEmail(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	if s.GatewayURL == "" || s.MailDir == "" {
		t.Fatal("GATEWAY_URL and MAIL_DIR must be set by the stack")
	}
	user := s.NewUser(t, testenv.UserOpts{EmailVerified: true})
	photo, err := os.ReadFile("../../cmd/demo/astronaut.png")
	if err != nil {
		t.Fatal(err)
	}
	c := &client.Client{BaseURL: s.GatewayURL, Token: user.Token}
	ctx := testenv.Ctx(t)
	job, err := c.Submit(ctx, client.Submission{Photo: photo, ContentType: "image/png", Style: "studio"})
	if err != nil {
		t.Fatal(err)
	}
	done, err := c.Wait(ctx, job.ID, 100*time.Millisecond, nil)
	if err != nil || done.Status != "succeeded" {
		t.Fatalf("job ended %s: %v", done.Status, err)
	}

	mailsFor := func() []string {
		files, _ := filepath.Glob(filepath.Join(s.MailDir, "*.eml"))
		var found []string
		for _, f := range files {
			raw, _ := os.ReadFile(f)
			if bytes.Contains(raw, []byte(job.ID)) {
				found = append(found, string(raw))
			}
		}
		return found
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(mailsFor()) == 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second) // a duplicate would arrive about now
	mails := mailsFor()
	if len(mails) != 1 {
		t.Fatalf("%d mails about job %s, want exactly 1", len(mails), job.ID)
	}
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
}
