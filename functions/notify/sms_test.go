package notify_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/tigerstudio/studio/emulators/sms"
	"github.com/tigerstudio/studio/functions/notify"
	"github.com/tigerstudio/studio/infra/testenv"
)

// smsStandIn is the stack's stand-in of Twilio's Messages API, a test's
// own instance, with the drills' fault switch.
type smsStandIn struct {
	dir, url string
}

const (
	standInSID   = "ACstandin0000000000000000000000000"
	standInToken = "stand-in-token"
)

func startSMS(t *testing.T) *smsStandIn {
	t.Helper()
	dir := t.TempDir()
	srv, err := sms.New(dir, standInSID, standInToken, nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ctx, ln)
	}()
	t.Cleanup(func() { cancel(); <-done })
	return &smsStandIn{dir: dir, url: "http://" + ln.Addr().String()}
}

func (s *smsStandIn) texter() *notify.TwilioTexter {
	return &notify.TwilioTexter{BaseURL: s.url, AccountSID: standInSID, AuthToken: standInToken, From: "+15005550006"}
}

// fault makes the stand-in refuse the next count sends with status, or
// (status 0) keep the next count messages but lose their answers.
func (s *smsStandIn) fault(t *testing.T, status, count int) {
	t.Helper()
	body := fmt.Sprintf(`{"status": %d, "count": %d}`, status, count)
	if status == 0 {
		body = fmt.Sprintf(`{"lose": %d}`, count)
	}
	resp, err := http.Post(s.url+"/_standin/faults", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("fault %s: %d", body, resp.StatusCode)
	}
}

func (s *smsStandIn) messages(t *testing.T) []sms.Message {
	t.Helper()
	m, err := sms.Read(s.dir)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestTwilioTexter drives the Twilio client against the stand-in: what it
// sends, how it reads each kind of failure, and the lookup a retry makes.
func TestTwilioTexter(t *testing.T) {
	t.Parallel()
	ctx := testenv.Ctx(t)
	s := startSMS(t)
	tw := s.texter()
	msg := notify.Text{To: "+821012345678", Body: "Tiger Studio: ready (job j-1)", Key: "j-1"}
	if sent, err := tw.Sent(ctx, msg); err != nil || sent {
		t.Fatalf("Sent before sending = %v, %v", sent, err)
	}
	if err := tw.Text(ctx, msg); err != nil {
		t.Fatal(err)
	}
	got := s.messages(t)
	if len(got) != 1 || got[0].To != msg.To || got[0].Body != msg.Body || got[0].From != "+15005550006" || !strings.HasPrefix(got[0].SID, "SM") {
		t.Fatalf("stand-in holds %+v", got)
	}
	if sent, err := tw.Sent(ctx, msg); err != nil || !sent {
		t.Errorf("Sent after sending = %v, %v", sent, err)
	}
	if sent, err := tw.Sent(ctx, notify.Text{To: msg.To, Key: "j-2"}); err != nil || sent {
		t.Errorf("Sent for another job = %v, %v", sent, err)
	}

	tests := []struct {
		name      string
		prepare   func()
		texter    *notify.TwilioTexter
		to        string
		rejected  bool
		wantSaved int
	}{
		{"429", func() { s.fault(t, 429, 1) }, tw, msg.To, false, 0},
		{"503", func() { s.fault(t, 503, 1) }, tw, msg.To, false, 0},
		{"answer lost", func() { s.fault(t, 0, 1) }, tw, msg.To, false, 1},
		{"invalid number", func() {}, tw, "0101234", true, 0},
		{"wrong credentials", func() {}, &notify.TwilioTexter{BaseURL: s.url, AccountSID: standInSID, AuthToken: "wrong", From: "+15005550006"}, msg.To, false, 0},
	}
	for _, tc := range tests {
		before := len(s.messages(t))
		tc.prepare()
		err := tc.texter.Text(ctx, notify.Text{To: tc.to, Body: "x " + tc.name, Key: tc.name})
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		if errors.Is(err, notify.ErrTextRejected) != tc.rejected {
			t.Errorf("%s: %v; rejected for good = %v, want %v", tc.name, err, !tc.rejected, tc.rejected)
		}
		if n := len(s.messages(t)) - before; n != tc.wantSaved {
			t.Errorf("%s: %d messages kept, want %d", tc.name, n, tc.wantSaved)
		}
	}
	if err := tw.Text(ctx, notify.Text{To: msg.To, Body: "after the faults", Key: "after"}); err != nil {
		t.Errorf("send after the faults: %v", err)
	}
}

func TestSegments(t *testing.T) {
	for _, tc := range []struct {
		body string
		want int
	}{
		{"hello", 1},
		{strings.Repeat("a", 160), 1},
		{strings.Repeat("a", 161), 2},
		{strings.Repeat("가", 70), 1},
		{strings.Repeat("가", 71), 2},
		{string(bytes.Repeat([]byte("a"), 306)), 2},
	} {
		if got := sms.Segments(tc.body); got != tc.want {
			t.Errorf("Segments(%d chars) = %d, want %d", len([]rune(tc.body)), got, tc.want)
		}
	}
}
