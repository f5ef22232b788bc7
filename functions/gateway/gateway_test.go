package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"log/slog"
	"maps"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/firestore"
	"cloud.google.com/go/storage"

	"github.com/tigerstudio/studio/functions/gateway"
	"github.com/tigerstudio/studio/infra/appcheck"
	"github.com/tigerstudio/studio/infra/config"
	"github.com/tigerstudio/studio/infra/logging"
	"github.com/tigerstudio/studio/infra/queue"
	"github.com/tigerstudio/studio/infra/testenv"
)

// fixture is an in-process Gateway wired to the real local stack, with an
// input bucket and a queue topology of its own.
type fixture struct {
	stack  testenv.Stack
	url    string
	fs     *firestore.Client
	gcs    *storage.Client
	bucket string
	topo   queue.Topology
	cfg    *gateway.Config
}

// later builds a second Gateway on the fixture's stack whose clock runs
// ahead by d: to it, what the first one wrote is d old.
func (f *fixture) later(t testing.TB, d time.Duration) *gateway.Server {
	t.Helper()
	srv, closeFn, err := gateway.Build(context.Background(), f.cfg, logging.New(t.Output(), slog.LevelInfo),
		gateway.WithClock(func() time.Time { return time.Now().Add(d) }))
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	t.Cleanup(func() { _ = closeFn() })
	return srv
}

func newFixture(t testing.TB, mutate ...func(*gateway.Config)) *fixture {
	t.Helper()
	return newFixtureWith(t, nil, mutate...)
}

// newFixtureWith builds the Gateway with opts, e.g. collaborators wrapped
// to fail.
func newFixtureWith(t testing.TB, opts []gateway.Option, mutate ...func(*gateway.Config)) *fixture {
	t.Helper()
	s := testenv.Get(t)
	f := &fixture{stack: s, fs: s.Firestore(t), gcs: s.Storage(t)}
	f.bucket = s.Bucket(t, f.gcs)
	f.topo = s.Topology(t)
	// The service's defaults, with the stack's addresses and small limits.
	cfg := &gateway.Config{}
	err := config.Load(context.Background(), config.FromMap(map[string]string{
		"GCLOUD_PROJECT": s.Project, "EVENT": testenv.Unique("event"), "INPUT_BUCKET": f.bucket, "OUTPUT_BUCKET": s.OutputBucket,
		"AMQP_URL": s.AMQPURL, "QUEUE_PREFIX": f.topo.Prefix, "STORAGE_EMULATOR_HOST": s.StorageHost,
		"MAX_UPLOAD_BYTES": "2097152", "MAX_PIXELS": "4000000", "MIN_PHOTO_SIDE": "16", "SIGNED_URL_EXPIRY": "1h", "LOG_LEVEL": "debug",
	}), cfg)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	for _, m := range mutate {
		m(cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	level, _ := cfg.Level() // checked by Validate
	srv, closeFn, err := gateway.Build(context.Background(), cfg, logging.New(t.Output(), level), opts...)
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	f.cfg = cfg
	hs := httptest.NewServer(srv)
	t.Cleanup(func() { hs.Close(); _ = closeFn() })
	f.url = hs.URL
	return f
}

type form struct {
	photo    []byte
	declared string // Content-Type of the photo part
	fields   map[string]string
	noPhoto  bool
}

type reply struct {
	status int
	header http.Header
	body   map[string]any
}

func (r reply) errorCode() string {
	e, _ := r.body["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

func (r reply) job() map[string]any {
	j, _ := r.body["job"].(map[string]any)
	return j
}

func (r reply) jobID() string {
	id, _ := r.job()["id"].(string)
	return id
}

func do(t testing.TB, req *http.Request) reply {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := reply{status: resp.StatusCode, header: resp.Header}
	if err := json.Unmarshal(raw, &out.body); err != nil {
		t.Fatalf("%s %s: status %d, body not JSON: %q", req.Method, req.URL, resp.StatusCode, raw)
	}
	return out
}

func (f *fixture) submit(t testing.TB, token string, fm form, headers map[string]string) reply {
	t.Helper()
	return submitTo(t, f.url, token, fm, headers)
}

// laterURL serves a Gateway whose clock runs ahead by d (see later).
func (f *fixture) laterURL(t testing.TB, d time.Duration) string {
	t.Helper()
	hs := httptest.NewServer(f.later(t, d))
	t.Cleanup(hs.Close)
	return hs.URL
}

// submitTo posts a job to the Gateway at url.
func submitTo(t testing.TB, url, token string, fm form, headers map[string]string) reply {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fm.fields {
		_ = mw.WriteField(k, v)
	}
	if !fm.noPhoto {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="photo"; filename="photo"`)
		if fm.declared != "" {
			h.Set("Content-Type", fm.declared)
		}
		pw, _ := mw.CreatePart(h)
		_, _ = pw.Write(fm.photo)
	}
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, url+"/v1/jobs", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	return do(t, req)
}

func (f *fixture) get(t *testing.T, token, path string) reply {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, f.url+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return do(t, req)
}

// staff signs in a verified staff member of the fixture's event.
func (f *fixture) staff(t testing.TB) testenv.User {
	t.Helper()
	return f.stack.NewUser(t, testenv.UserOpts{StaffOf: f.cfg.Event, EmailVerified: true})
}

// requestsOf returns the ids of uid's request documents.
func (f *fixture) requestsOf(t *testing.T, uid string) []string {
	t.Helper()
	snaps, err := f.fs.Collection("requests").Where("uid", "==", uid).Documents(testenv.Ctx(t)).GetAll()
	if err != nil {
		t.Fatalf("query requests: %v", err)
	}
	ids := make([]string, len(snaps))
	for i, s := range snaps {
		ids[i] = s.Ref.ID
	}
	return ids
}

// assertNothingLeft checks a rejected submission stored and enqueued nothing.
func (f *fixture) assertNothingLeft(t *testing.T, uid string) {
	t.Helper()
	if ids := f.requestsOf(t, uid); len(ids) != 0 {
		t.Errorf("request documents left behind: %v", ids)
	}
	if objs := testenv.Objects(t, f.gcs, f.bucket); len(objs) != 0 {
		t.Errorf("input objects left behind: %v", objs)
	}
	if n := f.stack.QueueDepth(t, f.topo.Queue()); n != 0 {
		t.Errorf("%d messages enqueued", n)
	}
}

func photo(w, h int) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 3), uint8(y * 5), uint8(x ^ y), 255})
		}
	}
	return img
}

func jpegBytes(t testing.TB, w, h int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, photo(w, h), &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func pngBytes(t testing.TB, w, h int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, photo(w, h)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func validForm(t testing.TB) form {
	return form{photo: jpegBytes(t, 120, 90), declared: "image/jpeg", fields: map[string]string{"style": "sketch"}}
}

func TestHealthzAndStyles(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if r := f.get(t, "", "/healthz"); r.status != http.StatusOK {
		t.Errorf("healthz = %d", r.status)
	}
	r := f.get(t, "", "/v1/styles")
	styles, _ := r.body["styles"].([]any)
	if r.status != http.StatusOK || len(styles) < 3 {
		t.Fatalf("styles = %d %v", r.status, r.body)
	}
	first, _ := styles[0].(map[string]any)
	for _, k := range []string{"id", "name", "description"} {
		if s, _ := first[k].(string); s == "" {
			t.Errorf("style has no %s: %v", k, first)
		}
	}
	for _, leak := range []string{"params", "steps", "backend"} {
		if _, leaked := first[leak]; leaked {
			t.Errorf("style exposes its %s: %v", leak, first)
		}
	}
	// Every style's preview is an absolute URL (the app is on another
	// origin) that serves a JPEG, cacheable.
	for _, st := range styles {
		m, _ := st.(map[string]any)
		preview, _ := m["preview"].(string)
		if !strings.HasPrefix(preview, f.url+"/v1/styles/") {
			t.Errorf("style %v: preview %q, want an absolute URL of this Gateway", m["id"], preview)
			continue
		}
		resp, err := http.Get(preview)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if _, err := jpeg.DecodeConfig(bytes.NewReader(body)); resp.StatusCode != 200 || err != nil || !strings.Contains(resp.Header.Get("Cache-Control"), "max-age") {
			t.Errorf("preview %s: %d %v, cache %q", preview, resp.StatusCode, err, resp.Header.Get("Cache-Control"))
		}
	}
	if r := f.get(t, "", "/v1/styles/nope/preview.jpg"); r.status != http.StatusNotFound || r.errorCode() != "not_found" {
		t.Errorf("preview of an unknown style = %d %v", r.status, r.body)
	}
	// Each style's translations, for the app's Korean (and its fallback).
	for _, st := range styles {
		m, _ := st.(map[string]any)
		loc, _ := m["localized"].(map[string]any)
		ko, _ := loc["ko"].(map[string]any)
		if name, _ := ko["name"].(string); name == "" || name == m["name"] {
			t.Errorf("style %v: localized %v, want a Korean name", m["id"], m["localized"])
		}
	}
	// The photo's limits, as configured (the fixture's MIN_PHOTO_SIDE is
	// 16), for the app's check before upload.
	limits, _ := r.body["photo"].(map[string]any)
	if limits["minSide"] != float64(f.cfg.MinSide) || limits["maxAspect"] != f.cfg.MaxAspect ||
		limits["maxBytes"] != float64(f.cfg.MaxBytes) || limits["maxPixels"] != float64(f.cfg.MaxPixels) {
		t.Errorf("photo limits = %v, want the config's %d, %g, %d, %d", limits, f.cfg.MinSide, f.cfg.MaxAspect, f.cfg.MaxBytes, f.cfg.MaxPixels)
	}
	if r := f.get(t, "", "/nope"); r.status != http.StatusNotFound || r.errorCode() != "not_found" {
		t.Errorf("unknown path = %d %v", r.status, r.body)
	}
}

// TestDeployedGateway talks to the Gateway that `make dev` serves through the
// functions framework, the way the app reaches it.
func TestDeployedGateway(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	if s.GatewayURL == "" {
		t.Fatal("GATEWAY_URL is not set although the stack is")
	}
	f := &fixture{stack: s, url: s.GatewayURL}
	if r := f.get(t, "", "/healthz"); r.status != http.StatusOK {
		t.Fatalf("healthz = %d", r.status)
	}
	user := s.NewUser(t, testenv.UserOpts{EmailVerified: true})
	// The deployed Gateway has the production limits: a photo-sized photo.
	fm := form{photo: jpegBytes(t, 320, 400), declared: "image/jpeg", fields: map[string]string{"style": "sketch"}}
	// It enforces App Check, as in the cloud: the web app's token, from
	// the stack's stand-in, or 401.
	if r := f.submit(t, user.Token, fm, nil); r.status != http.StatusUnauthorized {
		t.Fatalf("submit without App Check = %d %v, want 401", r.status, r.body)
	}
	r := f.submit(t, user.Token, fm, map[string]string{appcheck.Header: s.AppCheckToken(t)})
	if r.status != http.StatusAccepted || r.jobID() == "" {
		t.Fatalf("submit = %d %v", r.status, r.body)
	}
	got := f.get(t, user.Token, "/v1/jobs/"+r.jobID())
	if got.status != http.StatusOK || got.jobID() != r.jobID() {
		t.Fatalf("get = %d %v", got.status, got.body)
	}
}

func TestCreateJob(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	user := f.stack.NewUser(t, testenv.UserOpts{EmailVerified: true})
	fm := validForm(t)
	r := f.submit(t, user.Token, fm, nil)
	if r.status != http.StatusAccepted {
		t.Fatalf("status = %d %v", r.status, r.body)
	}
	job := r.job()
	id := r.jobID()
	if job["status"] != "queued" || job["style"] != "sketch" || job["priority"] != "online" {
		t.Errorf("job = %v", job)
	}

	snap, err := f.fs.Collection("requests").Doc(id).Get(testenv.Ctx(t))
	if err != nil {
		t.Fatalf("request document: %v", err)
	}
	doc := snap.Data()
	for k, want := range map[string]any{
		"uid": user.UID, "event": f.cfg.Event, "style": "sketch", "priority": "online",
		"contentType": "image/jpeg", "width": int64(120), "height": int64(90),
	} {
		if doc[k] != want {
			t.Errorf("request.%s = %v, want %v", k, doc[k], want)
		}
	}
	if n, _ := doc["notify"].(map[string]any); n["email"] != user.Email {
		t.Errorf("notify = %v, want the verified email %s", doc["notify"], user.Email)
	}
	input, _ := doc["input"].(string)
	rd, err := f.gcs.Bucket(f.bucket).Object(input).NewReader(testenv.Ctx(t))
	if err != nil {
		t.Fatalf("input object %s: %v", input, err)
	}
	stored, _ := io.ReadAll(rd)
	rd.Close()
	if !bytes.Equal(stored, fm.photo) {
		t.Errorf("stored input differs from the upload (%d vs %d bytes)", len(stored), len(fm.photo))
	}

	msg, ok := f.stack.GetMessage(t, f.topo.Queue())
	if !ok {
		t.Fatal("no message enqueued")
	}
	if msg.MessageId != id || msg.DeliveryMode != 2 || msg.ContentType != "application/json" || msg.Priority != queue.PriorityOf("online") {
		t.Errorf("message properties: id=%q mode=%d type=%q prio=%d", msg.MessageId, msg.DeliveryMode, msg.ContentType, msg.Priority)
	}
	var body map[string]any
	if err := json.Unmarshal(msg.Body, &body); err != nil {
		t.Fatalf("message body: %v", err)
	}
	// The body carries what the consumer uses before it reads the request
	// document, and nothing more (DESIGN.md, Queue topology).
	want := map[string]any{"jobId": id, "event": f.cfg.Event, "priority": "online"}
	if !maps.Equal(body, want) {
		t.Errorf("message body = %v, want %v", body, want)
	}
	if n := f.stack.QueueDepth(t, f.topo.Queue()); n != 0 {
		t.Errorf("%d more messages than the one job", n)
	}

	got := f.get(t, user.Token, "/v1/jobs/"+id)
	if got.status != http.StatusOK || got.jobID() != id || got.job()["status"] != "queued" {
		t.Errorf("get job = %d %v", got.status, got.body)
	}
}

func TestCreateJobFormats(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	user := f.stack.NewUser(t, testenv.UserOpts{})
	webp, err := os.ReadFile("upload/testdata/photo.webp")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, declared, wantType string
		data                     []byte
	}{
		{"png", "image/png", "image/png", pngBytes(t, 50, 40)},
		{"webp", "image/webp", "image/webp", webp},
		{"jpeg sent as octet-stream", "application/octet-stream", "image/jpeg", jpegBytes(t, 20, 20)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := f.submit(t, user.Token, form{photo: tc.data, declared: tc.declared, fields: map[string]string{"style": "studio"}}, nil)
			if r.status != http.StatusAccepted {
				t.Fatalf("status = %d %v", r.status, r.body)
			}
			snap, err := f.fs.Collection("requests").Doc(r.jobID()).Get(testenv.Ctx(t))
			if err != nil {
				t.Fatal(err)
			}
			if ct, _ := snap.Data()["contentType"].(string); ct != tc.wantType {
				t.Errorf("contentType = %q, want %q", ct, tc.wantType)
			}
		})
	}
}
