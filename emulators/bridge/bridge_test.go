package bridge_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/firestore"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/tigerstudio/studio/emulators/bridge"
	"github.com/tigerstudio/studio/infra/firestoreevent"
	"github.com/tigerstudio/studio/infra/testenv"
)

// delivery is one POST the target received.
type delivery struct {
	header http.Header
	event  cloudevents.Event
	data   firestoreevent.Data
	status int
}

// target is an httptest server standing in for Notify. fail says how many
// first attempts of an event id it answers 500.
type target struct {
	t    *testing.T
	srv  *httptest.Server
	fail int

	mu       sync.Mutex
	attempts map[string]int
	got      []delivery
	arrived  chan struct{}
}

func newTarget(t *testing.T, fail int) *target {
	tg := &target{t: t, fail: fail, attempts: map[string]int{}, arrived: make(chan struct{}, 1000)}
	tg.srv = httptest.NewServer(http.HandlerFunc(tg.serve))
	t.Cleanup(tg.srv.Close)
	return tg
}

func (tg *target) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		tg.t.Errorf("read body: %v", err)
		return
	}
	r.Body = io.NopCloser(strings.NewReader(string(body)))
	e, err := binding.ToEvent(r.Context(), cehttp.NewMessageFromHttpRequest(r))
	if err != nil {
		tg.t.Errorf("not a CloudEvent: %v", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	data, err := firestoreevent.Decode(r.Header.Get("Content-Type"), body)
	if err != nil {
		tg.t.Errorf("event %s data: %v", e.ID(), err)
	}
	tg.mu.Lock()
	tg.attempts[e.ID()]++
	status := http.StatusNoContent
	if tg.attempts[e.ID()] <= tg.fail {
		status = http.StatusInternalServerError
	}
	tg.got = append(tg.got, delivery{header: r.Header.Clone(), event: *e, data: data, status: status})
	tg.mu.Unlock()
	w.WriteHeader(status)
	tg.arrived <- struct{}{}
}

// accepted returns the successfully delivered events about doc.
func (tg *target) accepted(doc string) []delivery {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	var out []delivery
	for _, d := range tg.got {
		if d.status < 300 && d.event.Subject() == "documents/"+doc {
			out = append(out, d)
		}
	}
	return out
}

// waitFor waits until n events about doc were accepted.
func (tg *target) waitFor(t *testing.T, ctx context.Context, doc string, n int) []delivery {
	t.Helper()
	for {
		if got := tg.accepted(doc); len(got) >= n {
			return got
		}
		select {
		case <-tg.arrived:
		case <-ctx.Done():
			t.Fatalf("waiting for %d events about %s: got %d", n, doc, len(tg.accepted(doc)))
		}
	}
}

// run starts a bridge and waits until it is ready; it stops when the test
// ends.
func run(t *testing.T, ctx context.Context, fs *firestore.Client, cfg bridge.Config) {
	t.Helper()
	start(t, ctx, fs, cfg)
}

// running is a started bridge.
type running struct {
	stop func() // cancels Run and waits for it to return; idempotent
	log  *testWriter
}

// start starts a bridge and waits until it is ready.
func start(t *testing.T, ctx context.Context, fs *firestore.Client, cfg bridge.Config) running {
	t.Helper()
	w := &testWriter{t: t, wrote: make(chan struct{}, 1)}
	cfg.Logger = slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
	b := bridge.New(fs, cfg)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	stop := sync.OnceFunc(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	t.Cleanup(stop)
	select {
	case <-b.Ready():
	case err := <-done:
		t.Fatalf("Run returned before ready: %v", err)
	case <-ctx.Done():
		t.Fatal("bridge not ready in time")
	}
	return running{stop: stop, log: w}
}

// testWriter sends the bridge's log to the test log and keeps its lines.
type testWriter struct {
	t     *testing.T
	wrote chan struct{} // signalled after each line
	mu    sync.Mutex
	lines []string
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	line := strings.TrimRight(string(p), "\n")
	w.mu.Lock()
	w.lines = append(w.lines, line)
	w.mu.Unlock()
	w.t.Log(line)
	select {
	case w.wrote <- struct{}{}:
	default:
	}
	return len(p), nil
}

// waitFor waits until a line contains every one of parts.
func (w *testWriter) waitFor(t *testing.T, ctx context.Context, parts ...string) {
	t.Helper()
	for len(w.grep(parts...)) == 0 {
		select {
		case <-w.wrote:
		case <-ctx.Done():
			t.Fatalf("no log line with %q", parts)
		}
	}
}

// grep returns the lines containing every one of parts.
func (w *testWriter) grep(parts ...string) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
next:
	for _, l := range w.lines {
		for _, p := range parts {
			if !strings.Contains(l, p) {
				continue next
			}
		}
		out = append(out, l)
	}
	return out
}

func TestLifecycle(t *testing.T) {
	s := testenv.Get(t)
	for _, ct := range []string{firestoreevent.ContentProtobuf, firestoreevent.ContentJSON} {
		t.Run(ct, func(t *testing.T) {
			t.Parallel()
			ctx := testenv.Ctx(t)
			fs := s.Firestore(t)
			coll := testenv.Unique("bridge-responses")
			pre := fs.Collection(coll).Doc("pre")
			if _, err := pre.Set(ctx, map[string]any{"state": "running", "attempt": 1}); err != nil {
				t.Fatal(err)
			}
			tg := newTarget(t, 0)
			run(t, ctx, fs, bridge.Config{Project: s.Project, Collections: []string{coll}, Target: tg.srv.URL, ContentType: ct})

			doc := fs.Collection(coll).Doc("job")
			path := coll + "/job"
			name := fmt.Sprintf("projects/%s/databases/(default)/documents/%s", s.Project, path)

			// Create: value only.
			if _, err := doc.Set(ctx, map[string]any{"state": "running", "attempt": 1}); err != nil {
				t.Fatal(err)
			}
			got := tg.waitFor(t, ctx, path, 1)
			created := got[0]
			if created.data.Value == nil || created.data.OldValue != nil || len(created.data.UpdateMask) != 0 {
				t.Errorf("create: value %v, oldValue %v, mask %v; want value only", created.data.Value != nil, created.data.OldValue != nil, created.data.UpdateMask)
			}
			if n := created.data.Value.GetName(); n != name {
				t.Errorf("value name %q, want %q", n, name)
			}
			if st := firestoreevent.String(created.data.Value, "state"); st != "running" {
				t.Errorf("value state %q", st)
			}
			checkEnvelope(t, created, s.Project, path, ct)

			// Update: value, oldValue and the changed fields.
			if _, err := doc.Set(ctx, map[string]any{"state": "succeeded", "attempt": 1, "backend": "cpu"}); err != nil {
				t.Fatal(err)
			}
			updated := tg.waitFor(t, ctx, path, 2)[1]
			if firestoreevent.String(updated.data.Value, "state") != "succeeded" || firestoreevent.String(updated.data.OldValue, "state") != "running" {
				t.Errorf("update: value %v, oldValue %v", updated.data.Value, updated.data.OldValue)
			}
			if want := []string{"backend", "state"}; !slices.Equal(updated.data.UpdateMask, want) {
				t.Errorf("update mask %v, want %v", updated.data.UpdateMask, want)
			}
			checkEnvelope(t, updated, s.Project, path, ct)
			if updated.event.ID() == created.event.ID() {
				t.Errorf("update reuses event id %s", created.event.ID())
			}

			// Delete: oldValue only.
			if _, err := doc.Delete(ctx); err != nil {
				t.Fatal(err)
			}
			deleted := tg.waitFor(t, ctx, path, 3)[2]
			if deleted.data.Value != nil || firestoreevent.String(deleted.data.OldValue, "state") != "succeeded" || len(deleted.data.UpdateMask) != 0 {
				t.Errorf("delete: value %v, oldValue %v, mask %v; want the last version as oldValue only", deleted.data.Value, deleted.data.OldValue, deleted.data.UpdateMask)
			}
			checkEnvelope(t, deleted, s.Project, path, ct)

			// The pre-existing document produced nothing, but the bridge
			// remembers it: an update carries the baseline as oldValue.
			if got := tg.accepted(coll + "/pre"); len(got) != 0 {
				t.Fatalf("pre-existing document produced %d events", len(got))
			}
			if _, err := pre.Update(ctx, []firestore.Update{{Path: "attempt", Value: 2}}); err != nil {
				t.Fatal(err)
			}
			preUpdate := tg.waitFor(t, ctx, coll+"/pre", 1)[0]
			if preUpdate.data.OldValue.GetFields()["attempt"].GetIntegerValue() != 1 ||
				preUpdate.data.Value.GetFields()["attempt"].GetIntegerValue() != 2 ||
				!slices.Equal(preUpdate.data.UpdateMask, []string{"attempt"}) {
				t.Errorf("update of baseline document: %+v", preUpdate.data)
			}
			if got := tg.accepted(path); len(got) != 3 {
				t.Errorf("%d events about %s, want 3", len(got), path)
			}
		})
	}
}

// checkEnvelope checks what Eventarc puts around a Firestore event.
func checkEnvelope(t *testing.T, d delivery, project, path, contentType string) {
	t.Helper()
	e := d.event
	for attr, want := range map[string]string{
		"type":    "google.cloud.firestore.document.v1.written",
		"source":  "//firestore.googleapis.com/projects/" + project + "/databases/(default)",
		"subject": "documents/" + path,
	} {
		var got string
		switch attr {
		case "type":
			got = e.Type()
		case "source":
			got = e.Source()
		case "subject":
			got = e.Subject()
		}
		if got != want {
			t.Errorf("ce %s = %q, want %q", attr, got, want)
		}
	}
	if e.Time().IsZero() || e.ID() == "" {
		t.Errorf("event id %q time %v", e.ID(), e.Time())
	}
	if p, err := firestoreevent.DocumentPath(e); err != nil || p != path {
		t.Errorf("DocumentPath = %q, %v", p, err)
	}
	// Binary content mode: attributes in ce- headers, the data as the body.
	for _, h := range []string{"Ce-Id", "Ce-Source", "Ce-Type", "Ce-Specversion", "Ce-Subject", "Ce-Time", "Ce-Project", "Ce-Database", "Ce-Document"} {
		if d.header.Get(h) == "" {
			t.Errorf("header %s missing", h)
		}
	}
	if got := d.header.Get("Content-Type"); got != contentType {
		t.Errorf("Content-Type %q, want %q", got, contentType)
	}
	if got := d.header.Get("Ce-Document"); got != path {
		t.Errorf("ce-document %q, want %q", got, path)
	}
}

func TestRetriesUntilAccepted(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	ctx := testenv.Ctx(t)
	fs := s.Firestore(t)
	coll := testenv.Unique("bridge-errors")
	tg := newTarget(t, 2)
	run(t, ctx, fs, bridge.Config{
		Project: s.Project, Collections: []string{coll}, Target: tg.srv.URL,
		RetryMin: 20 * time.Millisecond, RetryMax: 100 * time.Millisecond,
	})
	if _, err := fs.Collection(coll).Doc("job").Set(ctx, map[string]any{"code": "internal", "retryable": false}); err != nil {
		t.Fatal(err)
	}
	path := coll + "/job"
	got := tg.waitFor(t, ctx, path, 1)
	// Two refusals and the accepted try, and nothing after it.
	testenv.Consistently(t, "no delivery after the accepted one", 500*time.Millisecond, func() bool {
		tg.mu.Lock()
		defer tg.mu.Unlock()
		return len(tg.got) == 3
	})
	tg.mu.Lock()
	attempts := tg.attempts[got[0].event.ID()]
	total := len(tg.got)
	tg.mu.Unlock()
	if attempts != 3 || total != 3 {
		t.Errorf("%d attempts of the event, %d requests in all; want 3 and 3", attempts, total)
	}
	if got := tg.accepted(path); len(got) != 1 {
		t.Errorf("accepted %d times, want once", len(got))
	}
}

func TestOrderPerDocument(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	ctx := testenv.Ctx(t)
	fs := s.Firestore(t)
	coll := testenv.Unique("bridge-order")
	// A slow target makes later events queue behind earlier ones.
	tg := newTarget(t, 0)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(30 * time.Millisecond)
		tg.serve(w, r)
	}))
	t.Cleanup(slow.Close)
	run(t, ctx, fs, bridge.Config{Project: s.Project, Collections: []string{coll}, Target: slow.URL})
	const docs, writes = 3, 5
	for i := range writes {
		for d := range docs {
			if _, err := fs.Collection(coll).Doc(fmt.Sprint("d", d)).Set(ctx, map[string]any{"n": i}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for d := range docs {
		path := fmt.Sprintf("%s/d%d", coll, d)
		// The listener may coalesce writes that land between two
		// snapshots, so wait for the last write rather than a count.
		for {
			got := tg.waitFor(t, ctx, path, 1)
			last := got[len(got)-1].data.Value.GetFields()["n"].GetIntegerValue()
			if last == writes-1 {
				break
			}
			select {
			case <-tg.arrived:
			case <-ctx.Done():
				t.Fatalf("%s: last event has n=%d", path, last)
			}
		}
		got := tg.accepted(path)
		for i := 1; i < len(got); i++ {
			prev, cur := got[i-1].data.Value, got[i].data.Value
			if !prev.GetUpdateTime().AsTime().Before(cur.GetUpdateTime().AsTime()) {
				t.Errorf("%s: event %d (n=%d) after event %d (n=%d)", path, i, cur.GetFields()["n"].GetIntegerValue(), i-1, prev.GetFields()["n"].GetIntegerValue())
			}
			if old := got[i].data.OldValue; !old.GetUpdateTime().AsTime().Equal(prev.GetUpdateTime().AsTime()) {
				t.Errorf("%s: event %d's oldValue is not the previous event's value", path, i)
			}
		}
		if got[0].data.OldValue != nil {
			t.Errorf("%s: first event has an oldValue", path)
		}
	}
}

// TestSurvivesConnectionLoss cuts the bridge's connection to the emulator
// and checks that changes made meanwhile still arrive, with the right
// oldValue, once it is back.
func TestSurvivesConnectionLoss(t *testing.T) {
	s := testenv.Get(t)
	proxy := testenv.NewProxy(t, s.FirestoreHost)
	u, err := url.Parse(proxy.AMQPURL(t, "amqp://127.0.0.1:1/")) // the only way Proxy tells its address
	if err != nil {
		t.Fatal(err)
	}
	direct := s.Firestore(t)
	t.Setenv("FIRESTORE_EMULATOR_HOST", u.Host) // read by firestore.NewClient only
	viaProxy := s.Firestore(t)
	ctx := testenv.Ctx(t)
	coll := testenv.Unique("bridge-cut")
	tg := newTarget(t, 0)
	run(t, ctx, viaProxy, bridge.Config{Project: s.Project, Collections: []string{coll}, Target: tg.srv.URL})

	x := fs(direct, coll, "x")
	if _, err := x.Set(ctx, map[string]any{"state": "running"}); err != nil {
		t.Fatal(err)
	}
	tg.waitFor(t, ctx, coll+"/x", 1)

	proxy.Cut()
	if _, err := x.Set(ctx, map[string]any{"state": "succeeded"}); err != nil {
		t.Fatal(err)
	}
	if _, err := fs(direct, coll, "y").Set(ctx, map[string]any{"code": "internal"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // the outage: changes made while the listener is cut
	proxy.Restore(t)

	upd := tg.waitFor(t, ctx, coll+"/x", 2)[1]
	if firestoreevent.String(upd.data.OldValue, "state") != "running" || firestoreevent.String(upd.data.Value, "state") != "succeeded" {
		t.Errorf("update after reconnect: %+v", upd.data)
	}
	created := tg.waitFor(t, ctx, coll+"/y", 1)[0]
	if created.data.Value == nil || created.data.OldValue != nil {
		t.Errorf("create after reconnect: %+v", created.data)
	}
}

func fs(c *firestore.Client, coll, id string) *firestore.DocumentRef {
	return c.Collection(coll).Doc(id)
}

func TestRunRejectsBadConfig(t *testing.T) {
	for name, cfg := range map[string]bridge.Config{
		"no project":       {Target: "http://127.0.0.1:1/"},
		"no target":        {Project: "p"},
		"bad target":       {Project: "p", Target: "127.0.0.1:1"},
		"bad content type": {Project: "p", Target: "http://127.0.0.1:1/", ContentType: "text/plain"},
		"nested coll":      {Project: "p", Target: "http://127.0.0.1:1/", Collections: []string{"a/b/c"}},
	} {
		// No Firestore client is needed: Run validates before using it.
		if err := bridge.New(nil, cfg).Run(t.Context()); err == nil {
			t.Errorf("%s: Run succeeded", name)
		}
	}
}

// TestRestartCatchesUp stops a bridge, changes documents while it is down
// and starts another with the same state file: it delivers every change
// made meanwhile, with the version the first one delivered as oldValue,
// and nothing the first one had delivered.
func TestRestartCatchesUp(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	ctx := testenv.Ctx(t)
	fs := s.Firestore(t)
	coll := testenv.Unique("bridge-restart")
	cfg := bridge.Config{Project: s.Project, Collections: []string{coll}, StateFile: filepath.Join(t.TempDir(), "bridge.state")}
	set := func(id string, v map[string]any) {
		t.Helper()
		if _, err := fs.Collection(coll).Doc(id).Set(ctx, v); err != nil {
			t.Fatal(err)
		}
	}
	path := func(id string) string { return coll + "/" + id }

	// pre exists before any bridge: the first one's baseline.
	set("pre", map[string]any{"state": "running"})
	before := newTarget(t, 0)
	cfg.Target = before.srv.URL
	first := start(t, ctx, fs, cfg)
	set("kept", map[string]any{"state": "queued"})
	set("updated", map[string]any{"state": "running"})
	set("deleted", map[string]any{"code": "internal"})
	for _, id := range []string{"kept", "updated", "deleted"} {
		before.waitFor(t, ctx, path(id), 1)
		// The target answered; once the bridge logs that it took the
		// answer, the event leaves the outbox even if it stops at once.
		first.log.waitFor(t, ctx, "bridge delivered event", "doc="+path(id)+" ")
	}
	first.stop()

	// While no bridge runs.
	set("pre", map[string]any{"state": "succeeded"})
	set("updated", map[string]any{"state": "succeeded", "backend": "cpu"})
	if _, err := fs.Collection(coll).Doc("deleted").Delete(ctx); err != nil {
		t.Fatal(err)
	}
	set("created", map[string]any{"state": "running"})

	after := newTarget(t, 0)
	cfg.Target = after.srv.URL
	second := start(t, ctx, fs, cfg)
	// Every missed change was queued before Ready: the log says how many.
	if got := second.log.grep("caught up", "missedChanges=4"); len(got) != 1 {
		t.Errorf("no log line saying 4 changes were caught up: %q", second.log.grep("missedChanges"))
	}

	created := after.waitFor(t, ctx, path("created"), 1)[0].data
	if created.Value == nil || created.OldValue != nil || firestoreevent.String(created.Value, "state") != "running" {
		t.Errorf("create while down: %+v; want value only", created)
	}
	updated := after.waitFor(t, ctx, path("updated"), 1)[0].data
	if firestoreevent.String(updated.OldValue, "state") != "running" || firestoreevent.String(updated.Value, "state") != "succeeded" ||
		!slices.Equal(updated.UpdateMask, []string{"backend", "state"}) {
		t.Errorf("update while down: %+v; want the delivered version as oldValue", updated)
	}
	pre := after.waitFor(t, ctx, path("pre"), 1)[0].data
	if firestoreevent.String(pre.OldValue, "state") != "running" || firestoreevent.String(pre.Value, "state") != "succeeded" {
		t.Errorf("update of a baseline document while down: %+v; want the baseline as oldValue", pre)
	}
	deleted := after.waitFor(t, ctx, path("deleted"), 1)[0].data
	if deleted.Value != nil || firestoreevent.String(deleted.OldValue, "code") != "internal" {
		t.Errorf("delete while down: %+v; want the delivered version as oldValue only", deleted)
	}

	// The second bridge goes on from there: a live update of a document
	// only the first one saw carries that version as oldValue.
	set("kept", map[string]any{"state": "running"})
	kept := after.waitFor(t, ctx, path("kept"), 1)[0].data
	if firestoreevent.String(kept.OldValue, "state") != "queued" || firestoreevent.String(kept.Value, "state") != "running" {
		t.Errorf("live update after the restart: %+v", kept)
	}

	wants := map[string]int{"pre": 1, "kept": 1, "updated": 1, "deleted": 1, "created": 1}
	testenv.Consistently(t, "no repeated delivery", 300*time.Millisecond, func() bool {
		for id, want := range wants {
			if len(after.accepted(path(id))) > want {
				return false
			}
		}
		return true
	})
	for id, want := range wants {
		if got := after.accepted(path(id)); len(got) != want {
			t.Errorf("after the restart %s had %d events, want %d", id, len(got), want)
		}
	}
	if got := before.accepted(path("pre")); len(got) != 0 {
		t.Errorf("the baseline document produced %d events", len(got))
	}
}

// TestRestartDeliversWhatWasNotAccepted stops a bridge while the target
// refuses its events: the next bridge delivers them as they were queued
// (same ids), then what changed meanwhile, also for a document deleted
// while no bridge ran.
func TestRestartDeliversWhatWasNotAccepted(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	ctx := testenv.Ctx(t)
	fs := s.Firestore(t)
	coll := testenv.Unique("bridge-undelivered")
	cfg := bridge.Config{
		Project: s.Project, Collections: []string{coll}, StateFile: filepath.Join(t.TempDir(), "bridge.state"),
		RetryMin: 20 * time.Millisecond, RetryMax: 50 * time.Millisecond,
	}
	refusing := newTarget(t, math.MaxInt)
	cfg.Target = refusing.srv.URL
	first := start(t, ctx, fs, cfg)

	// A second bridge cannot use the state file while the first runs.
	if err := bridge.New(fs, cfg).Run(ctx); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("second bridge on the same state file: %v, want an error saying it is in use", err)
	}

	path := func(id string) string { return coll + "/" + id }
	refused := map[string]string{} // document path -> id of the refused event
	for _, id := range []string{"job", "gone"} {
		if _, err := fs.Collection(coll).Doc(id).Set(ctx, map[string]any{"code": "internal"}); err != nil {
			t.Fatal(err)
		}
	}
	for len(refused) < 2 {
		refusing.mu.Lock()
		for _, d := range refusing.got {
			refused[strings.TrimPrefix(d.event.Subject(), "documents/")] = d.event.ID()
		}
		refusing.mu.Unlock()
		select {
		case <-refusing.arrived:
		case <-ctx.Done():
			t.Fatalf("the refusing target got attempts about %v only", refused)
		}
	}
	first.stop()
	if _, err := fs.Collection(coll).Doc("gone").Delete(ctx); err != nil {
		t.Fatal(err)
	}

	accepting := newTarget(t, 0)
	cfg.Target = accepting.srv.URL
	start(t, ctx, fs, cfg)
	for _, id := range []string{"job", "gone"} {
		got := accepting.waitFor(t, ctx, path(id), 1)[0]
		if got.data.Value == nil || got.data.OldValue != nil || firestoreevent.String(got.data.Value, "code") != "internal" {
			t.Errorf("%s: redelivered create: %+v; want value only", id, got.data)
		}
		if got.event.ID() != refused[path(id)] {
			t.Errorf("%s: redelivered event id %s, want the refused one's %s", id, got.event.ID(), refused[path(id)])
		}
	}
	// The document the first bridge saw created and that was deleted while
	// no bridge ran: its create, then its delete.
	deleted := accepting.waitFor(t, ctx, path("gone"), 2)[1].data
	if deleted.Value != nil || firestoreevent.String(deleted.OldValue, "code") != "internal" {
		t.Errorf("delete while down after an undelivered create: %+v; want oldValue only", deleted)
	}
}
