package notify_test

import (
	"bytes"
	"context"
	fbauth "firebase.google.com/go/v4/auth"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/firestore"
	"cloud.google.com/go/storage"
	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/tigerstudio/studio/emulators/smtp"
	"github.com/tigerstudio/studio/functions/notify"
	"github.com/tigerstudio/studio/functions/notify/internal/notifydb"
	"github.com/tigerstudio/studio/infra/blob"
	"github.com/tigerstudio/studio/infra/firestoreevent"
	"github.com/tigerstudio/studio/infra/jobs"
	"github.com/tigerstudio/studio/infra/logging"
	"github.com/tigerstudio/studio/infra/store"
	"github.com/tigerstudio/studio/infra/styles"
	"github.com/tigerstudio/studio/infra/testenv"
)

// recordingMessenger is the one fake allowed here: FCM has no emulator.
// Tokens in reject are answered as FCM answers an unregistered token.
type recordingMessenger struct {
	mu     sync.Mutex
	sends  []sentPush
	reject []string
}

type sentPush struct {
	tokens []string
	push   notify.Push
}

func (r *recordingMessenger) Send(_ context.Context, tokens []string, p notify.Push) ([]string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sends = append(r.sends, sentPush{tokens, p})
	var rejected []string
	for _, tok := range tokens {
		if slices.Contains(r.reject, tok) {
			rejected = append(rejected, tok)
		}
	}
	return rejected, nil
}

func (r *recordingMessenger) all() []sentPush {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]sentPush(nil), r.sends...)
}

// sink is an SMTP sink of the test's own (the stack's sink code) on a port
// that can be taken down and brought back.
type sink struct {
	dir    string
	addr   string
	cancel context.CancelFunc
	done   chan struct{}
}

func startSink(t *testing.T, dir, addr string) *sink {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("sink listen: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &sink{dir: dir, addr: ln.Addr().String(), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		_ = smtp.New(dir, nil).Serve(ctx, ln)
	}()
	t.Cleanup(s.stop)
	return s
}

func (s *sink) stop() {
	s.cancel()
	<-s.done
}

func (s *sink) mails(t *testing.T) []*mail.Message {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(s.dir, "*.eml"))
	var out []*mail.Message
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("%s is not a mail: %v", f, err)
		}
		out = append(out, m)
	}
	return out
}

// parts returns the decoded text and HTML bodies of a multipart message.
func parts(t *testing.T, m *mail.Message) (text, html string) {
	t.Helper()
	_, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p) // multipart decodes quoted-printable itself
		switch ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type")); ct {
		case "text/plain":
			text = string(b)
		case "text/html":
			html = string(b)
		}
	}
}

type fixture struct {
	stack  testenv.Stack
	fs     *firestore.Client
	gcs    *storage.Client
	out    string
	sink   *sink
	push   *recordingMessenger
	sms    *smsStandIn
	svc    *notify.Service
	now    time.Time
	mailer *notify.SMTPMailer
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return newEventFixture(t, "")
}

// newEventFixture builds a Notify limited to one event's jobs.
func newEventFixture(t *testing.T, event string) *fixture {
	t.Helper()
	s := testenv.Get(t)
	f := &fixture{stack: s, fs: s.Firestore(t), gcs: s.Storage(t), push: &recordingMessenger{}, sms: startSMS(t), now: time.Now()}
	f.out = s.Bucket(t, f.gcs)
	f.sink = startSink(t, t.TempDir(), "127.0.0.1:0")
	host, port, _ := net.SplitHostPort(f.sink.addr)
	p, _ := strconv.Atoi(port)
	f.mailer = &notify.SMTPMailer{Host: host, Port: p, From: "Tiger Studio <studio@tiger.test>", Timeout: 5 * time.Second}
	cat, err := styles.Load("")
	if err != nil {
		t.Fatal(err)
	}
	f.svc = notify.New(notify.Deps{
		Jobs: store.NewReader(f.fs), Ledger: notifydb.NewWriter(f.fs),
		Mailer: f.mailer, Messenger: f.push, Texter: f.sms.texter(), AppURL: "https://studio.example",
		Owners: notify.AuthOwners{Client: s.AuthClient(t)},
		URLs:   blob.EmulatorURLs{Host: s.StorageHost}, Styles: cat, OutputBucket: f.out, Event: event,
		MaxAge: 24 * time.Hour, Logger: logging.New(t.Output(), -4),
	})
	return f
}

// job seeds a request of a user unknown to Auth (and, for succeeded jobs,
// a response and its output).
func (f *fixture) job(t *testing.T, email string, state jobs.Status) string {
	t.Helper()
	return f.jobOf(t, testenv.Unique("uid"), email, state)
}

// jobOf seeds a job of uid.
func (f *fixture) jobOf(t *testing.T, uid, email string, state jobs.Status) string {
	t.Helper()
	return f.jobWith(t, uid, jobs.Online, jobs.Notify{Email: email}, state)
}

// jobWith seeds a job of uid with the given priority and channels.
func (f *fixture) jobWith(t *testing.T, uid string, priority jobs.Priority, n jobs.Notify, state jobs.Status) string {
	t.Helper()
	ctx := testenv.Ctx(t)
	id := testenv.Unique("job")
	req := jobs.Request{UID: uid, Event: "spring-gala", Style: "sketch", Priority: priority, Input: id + "/input.jpg",
		Notify: n, CreatedAt: f.now}
	if _, err := f.fs.Collection(store.Requests).Doc(id).Set(ctx, req); err != nil {
		t.Fatal(err)
	}
	switch state {
	case jobs.Succeeded:
		name := id + "/sketch-a1-0.jpg"
		w := f.gcs.Bucket(f.out).Object(name).NewWriter(ctx)
		if _, err := w.Write([]byte("the portrait")); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		resp := jobs.Response{State: jobs.StateSucceeded, Attempt: 1, StartedAt: f.now, CompletedAt: f.now,
			Outputs: []jobs.Output{{Name: name, ContentType: "image/jpeg", Width: 512, Height: 512}}}
		if _, err := f.fs.Collection(store.Responses).Doc(id).Set(ctx, resp); err != nil {
			t.Fatal(err)
		}
	case jobs.Failed:
		fail := jobs.Failure{Code: jobs.CodeInvalidInput, Message: "decode: bad", Attempts: 1, FailedAt: f.now}
		if _, err := f.fs.Collection(store.Errors).Doc(id).Set(ctx, fail); err != nil {
			t.Fatal(err)
		}
	}
	return id
}

func (f *fixture) devices(t *testing.T, id string, tokens ...string) {
	t.Helper()
	uid := f.request(t, id).UID
	if _, err := f.fs.Collection(store.Devices).Doc(uid).Set(testenv.Ctx(t), map[string]any{"tokens": tokens}); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) request(t *testing.T, id string) jobs.Request {
	t.Helper()
	r, err := store.NewReader(f.fs).Request(testenv.Ctx(t), id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// event builds the CloudEvent Eventarc delivers for a change of
// collection/id from old to new (nil: absent).
func (f *fixture) event(t *testing.T, collection, id string, old, cur map[string]any, contentType string) cloudevents.Event {
	t.Helper()
	name := fmt.Sprintf("projects/%s/databases/(default)/documents/%s/%s", f.stack.Project, collection, id)
	var d firestoreevent.Data
	var err error
	if old != nil {
		if d.OldValue, err = firestoreevent.Document(name, old, f.now, f.now); err != nil {
			t.Fatal(err)
		}
	}
	if cur != nil {
		if d.Value, err = firestoreevent.Document(name, cur, f.now, f.now); err != nil {
			t.Fatal(err)
		}
	}
	e, err := firestoreevent.NewEvent(testenv.Unique("ev"), f.stack.Project, "(default)", collection+"/"+id, f.now, d, contentType)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

var (
	running   = map[string]any{"state": "running", "attempt": int64(1)}
	succeeded = map[string]any{"state": "succeeded", "attempt": int64(1)}
	errorDoc  = map[string]any{"code": "invalid_input", "message": "decode: bad"}
)

var urlPattern = regexp.MustCompile(`https?://\S+`)

func TestSucceededJobSendsOneEmailWithAWorkingLink(t *testing.T) {
	t.Parallel()
	for _, ct := range []string{firestoreevent.ContentProtobuf, firestoreevent.ContentJSON} {
		t.Run(ct, func(t *testing.T) {
			f := newFixture(t)
			id := f.job(t, "owner@example.test", jobs.Succeeded)
			e := f.event(t, store.Responses, id, running, succeeded, ct)
			if err := f.svc.Handle(testenv.Ctx(t), e); err != nil {
				t.Fatal(err)
			}
			mails := f.sink.mails(t)
			if len(mails) != 1 {
				t.Fatalf("%d mails, want 1", len(mails))
			}
			m := mails[0]
			if to := m.Header.Get("To"); to != "owner@example.test" {
				t.Errorf("To = %q", to)
			}
			if subj := m.Header.Get("Subject"); !strings.Contains(subj, "ready") {
				t.Errorf("Subject = %q", subj)
			}
			text, html := parts(t, m)
			if !strings.Contains(html, "<img") || !strings.Contains(text, id) {
				t.Errorf("bodies lack the image or the job id:\n%s\n%s", text, html)
			}
			link := urlPattern.FindString(text)
			resp, err := http.Get(link)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(body) != "the portrait" {
				t.Errorf("link %s gave %d %q", link, resp.StatusCode, body)
			}
			snap, err := f.fs.Collection(store.Notifications).Doc(id).Get(testenv.Ctx(t))
			if err != nil {
				t.Fatal(err)
			}
			var n store.Notification
			if err := snap.DataTo(&n); err != nil {
				t.Fatal(err)
			}
			if n.SentAt.IsZero() || len(n.Channels) != 1 || n.Channels[0] != "email" {
				t.Errorf("notification record %+v", n)
			}
		})
	}
}

func TestFailedJobSendsOneFailureEmail(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	id := f.job(t, "owner@example.test", jobs.Failed)
	if err := f.svc.Handle(testenv.Ctx(t), f.event(t, store.Errors, id, nil, errorDoc, firestoreevent.ContentProtobuf)); err != nil {
		t.Fatal(err)
	}
	mails := f.sink.mails(t)
	if len(mails) != 1 {
		t.Fatalf("%d mails, want 1", len(mails))
	}
	text, _ := parts(t, mails[0])
	if !strings.Contains(text, "What happened") || !strings.Contains(text, "What to do") || !strings.Contains(text, "another photo") {
		t.Errorf("failure mail does not explain:\n%s", text)
	}
}

func TestDuplicateEventSendsOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	id := f.job(t, "owner@example.test", jobs.Succeeded)
	f.devices(t, id, "token-1", "token-2")
	e := f.event(t, store.Responses, id, running, succeeded, firestoreevent.ContentProtobuf)
	var wg sync.WaitGroup
	for range 3 { // concurrent redeliveries, as a retrying trigger can cause
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = f.svc.Handle(context.Background(), e) // a busy claim returns an error: the trigger would retry
		}()
	}
	wg.Wait()
	if err := f.svc.Handle(testenv.Ctx(t), e); err != nil {
		t.Fatal(err)
	}
	if n := len(f.sink.mails(t)); n != 1 {
		t.Errorf("%d mails, want 1", n)
	}
	sends := f.push.all()
	if len(sends) != 1 || strings.Join(sends[0].tokens, ",") != "token-1,token-2" || sends[0].push.Data["jobId"] != id {
		t.Errorf("push sends %+v, want one to both devices", sends)
	}
}

func TestSMTPDownThenUp(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	id := f.job(t, "owner@example.test", jobs.Succeeded)
	f.devices(t, id, "token-1")
	e := f.event(t, store.Responses, id, running, succeeded, firestoreevent.ContentProtobuf)
	addr := f.sink.addr
	f.sink.stop()
	if err := f.svc.Handle(testenv.Ctx(t), e); err == nil {
		t.Fatal("Handle succeeded with the SMTP server down; the trigger would not retry")
	}
	if n := len(f.push.all()); n != 1 {
		t.Errorf("%d pushes while mail was down, want 1 (one channel failing does not hold back the other)", n)
	}
	back := startSink(t, f.sink.dir, addr)
	if err := f.svc.Handle(testenv.Ctx(t), e); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if err := f.svc.Handle(testenv.Ctx(t), e); err != nil {
		t.Fatalf("second retry: %v", err)
	}
	if n := len(back.mails(t)); n != 1 {
		t.Errorf("%d mails, want 1", n)
	}
	if n := len(f.push.all()); n != 1 {
		t.Errorf("%d pushes after the retries, want still 1", n)
	}
}

func TestIgnoredChanges(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	id := f.job(t, "owner@example.test", jobs.Succeeded)
	tests := []struct {
		name       string
		collection string
		old, cur   map[string]any
	}{
		{"response created running", store.Responses, nil, running},
		{"response already succeeded", store.Responses, succeeded, succeeded},
		{"response deleted", store.Responses, succeeded, nil},
		{"error document updated", store.Errors, errorDoc, errorDoc},
		{"request written", store.Requests, nil, map[string]any{"uid": "u"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := f.svc.Handle(testenv.Ctx(t), f.event(t, tc.collection, id, tc.old, tc.cur, firestoreevent.ContentProtobuf)); err != nil {
				t.Fatal(err)
			}
		})
	}
	if n := len(f.sink.mails(t)); n != 0 {
		t.Errorf("%d mails for changes Notify must ignore", n)
	}
}

func TestNobodyToNotify(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	id := f.job(t, "", jobs.Succeeded)
	if err := f.svc.Handle(testenv.Ctx(t), f.event(t, store.Responses, id, running, succeeded, firestoreevent.ContentProtobuf)); err != nil {
		t.Fatal(err)
	}
	if n := len(f.sink.mails(t)); n != 0 || len(f.push.all()) != 0 {
		t.Errorf("%d mails, %d pushes for a user without email or device", n, len(f.push.all()))
	}
}

// TestOwnerVerifiedLater: a request without an address (a guest's) is
// mailed to the address its owner verified since, once; an owner whose
// address is not verified is not mailed, nor is a booth job's owner (the
// kiosk's staff account).
func TestOwnerVerifiedLater(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := testenv.Ctx(t)
	user := f.stack.NewUser(t, testenv.UserOpts{EmailVerified: false})
	id := f.jobOf(t, user.UID, "", jobs.Succeeded)
	ev := func() cloudevents.Event {
		return f.event(t, store.Responses, id, running, succeeded, firestoreevent.ContentProtobuf)
	}
	if err := f.svc.Handle(ctx, ev()); err != nil {
		t.Fatal(err)
	}
	if n := len(f.sink.mails(t)); n != 0 {
		t.Fatalf("%d mails to an unverified address", n)
	}
	if _, err := f.stack.AuthClient(t).UpdateUser(ctx, user.UID, (&fbauth.UserToUpdate{}).EmailVerified(true)); err != nil {
		t.Fatal(err)
	}
	// The sweep (or a redelivery) asks again; then a duplicate.
	for range 2 {
		if err := f.svc.Handle(ctx, ev()); err != nil {
			t.Fatal(err)
		}
	}
	// A booth job of the same (now verified) account: not the attendee's
	// address, so not mailed.
	booth := f.jobOf(t, user.UID, "", jobs.Succeeded)
	if _, err := f.fs.Collection(store.Requests).Doc(booth).Update(ctx, []firestore.Update{{Path: "priority", Value: jobs.Booth}}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Handle(ctx, f.event(t, store.Responses, booth, running, succeeded, firestoreevent.ContentProtobuf)); err != nil {
		t.Fatal(err)
	}
	mails := f.sink.mails(t)
	if len(mails) != 1 || mails[0].Header.Get("To") != user.Email {
		var to []string
		for _, m := range mails {
			to = append(to, m.Header.Get("To"))
		}
		t.Fatalf("mails to %v, want one to the verified %s", to, user.Email)
	}
}

func TestStaleEventDropped(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	id := f.job(t, "owner@example.test", jobs.Succeeded)
	e := f.event(t, store.Responses, id, running, succeeded, firestoreevent.ContentProtobuf)
	e.SetTime(time.Now().Add(-48 * time.Hour))
	if err := f.svc.Handle(testenv.Ctx(t), e); err != nil {
		t.Fatal(err)
	}
	if n := len(f.sink.mails(t)); n != 0 {
		t.Errorf("%d mails for a two-day-old event", n)
	}
}

func TestOtherEventsJobsIgnored(t *testing.T) {
	t.Parallel()
	tests := []struct {
		event string
		want  int
	}{
		{"spring-gala", 1},
		{"autumn-fair", 0},
	}
	for _, tc := range tests {
		t.Run(tc.event, func(t *testing.T) {
			f := newEventFixture(t, tc.event)
			id := f.job(t, "owner@example.test", jobs.Succeeded)
			if err := f.svc.Handle(testenv.Ctx(t), f.event(t, store.Responses, id, running, succeeded, firestoreevent.ContentProtobuf)); err != nil {
				t.Fatal(err)
			}
			if n := len(f.sink.mails(t)); n != tc.want {
				t.Errorf("Notify for %s sent %d mails for a spring-gala job, want %d", tc.event, n, tc.want)
			}
		})
	}
}
