package main

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	firebase "firebase.google.com/go/v4"
	fbauth "firebase.google.com/go/v4/auth"

	tigerauth "github.com/tigerstudio/studio/infra/auth"
	"github.com/tigerstudio/studio/infra/jobs"
	"github.com/tigerstudio/studio/infra/store"
	"github.com/tigerstudio/studio/infra/testenv"
)

func authClient(t *testing.T, project string) *fbauth.Client {
	t.Helper()
	app, err := firebase.NewApp(testenv.Ctx(t), &firebase.Config{ProjectID: project})
	if err != nil {
		t.Fatalf("firebase app: %v", err)
	}
	c, err := app.Auth(testenv.Ctx(t))
	if err != nil {
		t.Fatalf("auth client: %v", err)
	}
	return c
}

func TestStaff(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	user := f.stack.NewUser(t, testenv.UserOpts{EmailVerified: true})
	auth := authClient(t, f.stack.Project)
	ctx := testenv.Ctx(t)
	// A claim of another kind, and staff rights at another event, survive
	// grant and revoke.
	if err := auth.SetCustomUserClaims(ctx, user.UID, map[string]any{"tier": "gold", "staff": []string{"other-event"}}); err != nil {
		t.Fatal(err)
	}
	claims := func() map[string]any {
		u, err := auth.GetUser(ctx, user.UID)
		if err != nil {
			t.Fatal(err)
		}
		return u.CustomClaims
	}
	listed := func() bool {
		out, errOut, err := f.ctl(t, "staff", "list")
		if err != nil {
			t.Fatalf("staff list: %v (%s)", err, errOut)
		}
		return slices.Contains(strings.Split(out, "\n"), user.Email+"\t"+user.UID)
	}
	if listed() {
		t.Fatal("a new user is listed as staff")
	}

	for _, step := range []struct {
		args      []string
		wantOut   string
		wantStaff bool
	}{
		{[]string{"staff", "grant", user.Email}, "is now staff", true},
		{[]string{"staff", "grant", user.Email}, "is already staff", true},
		{[]string{"staff", "revoke", "--sign-out", user.Email}, "is now not staff", false},
		{[]string{"staff", "revoke", user.Email}, "is already not staff", false},
	} {
		out, errOut, err := f.ctl(t, step.args...)
		if err != nil {
			t.Fatalf("%v: %v (%s)", step.args, err, errOut)
		}
		if !strings.Contains(out, step.wantOut) {
			t.Errorf("%v: output %q, want %q", step.args, out, step.wantOut)
		}
		c := claims()
		if got := slices.Contains(tigerauth.StaffEvents(c), f.event); got != step.wantStaff {
			t.Errorf("%v: staff of %s %v, want %v (claims %v)", step.args, f.event, got, step.wantStaff, c)
		}
		if !slices.Contains(tigerauth.StaffEvents(c), "other-event") {
			t.Errorf("%v: staff rights at another event lost: %v", step.args, c)
		}
		if c["tier"] != "gold" {
			t.Errorf("%v: other claims lost: %v", step.args, c)
		}
		if got := listed(); got != step.wantStaff {
			t.Errorf("%v: listed %v, want %v", step.args, got, step.wantStaff)
		}
	}
	if _, _, err := f.ctl(t, "staff", "grant", testenv.Unique("nobody")+"@example.test"); err == nil || !strings.Contains(err.Error(), "no user") {
		t.Errorf("grant to an unknown email: %v, want no user", err)
	}
	// An address nobody proved is not granted: whoever registered it first
	// would get the rights.
	squatter := f.stack.NewUser(t, testenv.UserOpts{})
	if _, _, err := f.ctl(t, "staff", "grant", squatter.Email); err == nil || !strings.Contains(err.Error(), "not verified") {
		t.Errorf("grant to an unverified address: %v, want a refusal saying it is not verified", err)
	}
	if u, err := auth.GetUser(ctx, squatter.UID); err != nil || len(tigerauth.StaffEvents(u.CustomClaims)) != 0 {
		t.Errorf("the unverified account got claims %v (%v)", u.CustomClaims, err)
	}
}

func TestStatus(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	queuedBooth := f.seedJob(t, seed{status: jobs.Queued, priority: jobs.Booth})
	queuedOnline1 := f.seedJob(t, seed{status: jobs.Queued})
	queuedOnline2 := f.seedJob(t, seed{status: jobs.Queued})
	running := f.seedJob(t, seed{status: jobs.Running})
	f.seedJob(t, seed{status: jobs.Succeeded, priority: jobs.Booth, total: 1000 * time.Millisecond, ago: time.Minute})
	f.seedJob(t, seed{status: jobs.Succeeded, total: 3000 * time.Millisecond, ago: 2 * time.Minute})
	f.seedJob(t, seed{status: jobs.Succeeded, total: 2000 * time.Millisecond, ago: 3 * time.Minute})
	// Outside the 10 minutes: counted by state, not in the recent figures.
	f.seedJob(t, seed{status: jobs.Succeeded, total: 90_000 * time.Millisecond, ago: time.Hour})
	failed := f.seedJob(t, seed{status: jobs.Failed, ago: time.Minute})
	// Another event's job is not counted.
	f.seedJob(t, seed{status: jobs.Queued, event: testenv.Unique("other")})

	f.deadLetter(t, failed)
	f.enqueue(t, queuedBooth, jobs.Booth)
	f.enqueue(t, queuedOnline1, jobs.Online)
	f.enqueue(t, queuedOnline2, jobs.Online)

	var st Status
	f.ctlJSON(t, &st, "status", "--json")
	wantJobs := JobCounts{
		jobs.Queued:    {jobs.Booth: 1, jobs.Online: 2},
		jobs.Running:   {jobs.Online: 1},
		jobs.Succeeded: {jobs.Booth: 1, jobs.Online: 3},
		jobs.Failed:    {jobs.Online: 1},
	}
	gotJSON, _ := json.Marshal(st.Jobs)
	wantJSON, _ := json.Marshal(wantJobs)
	if string(gotJSON) != string(wantJSON) {
		t.Errorf("jobs = %s, want %s", gotJSON, wantJSON)
	}
	if st.Queue.Name != f.topo.Queue() || st.Queue.Ready != 3 {
		t.Errorf("queue = %+v, want 3 ready in %s", st.Queue, f.topo.Queue())
	}
	if st.Dead.Ready != 1 || st.Retry.Ready != 0 {
		t.Errorf("dead = %+v, retry = %+v, want 1 and 0", st.Dead, st.Retry)
	}
	if len(st.Running) != 1 || st.Running[0].ID != running || st.Running[0].Attempt != 1 {
		t.Errorf("in flight = %+v, want %s at attempt 1", st.Running, running)
	}
	want := Recent{Window: "10m0s", Succeeded: 3, Failed: 1, PerMinute: 0.3, P50Ms: 2000, P95Ms: 3000}
	if st.Recent != want {
		t.Errorf("recent = %+v, want %+v", st.Recent, want)
	}

	// The human form says the same, and is honest about priorities.
	out, errOut, err := f.ctl(t, "status")
	if err != nil {
		t.Fatalf("status: %v (%s)", err, errOut)
	}
	for _, s := range []string{"3 ready", "AMQP gives the total only", "1 dead letters", "in flight: 1", running,
		"3 succeeded (0.3/min), 1 failed", "p50 2s, p95 3s"} {
		if !strings.Contains(out, s) {
			t.Errorf("status output lacks %q:\n%s", s, out)
		}
	}
}

func TestStatusWatchEndsOnCancel(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.seedJob(t, seed{status: jobs.Queued})
	ctx, cancel := contextWithCancel(t)
	var out syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"status", "--watch", "--interval", "500ms"}, configFromMap(f.env()), &out, &out)
	}()
	testenv.Eventually(t, "two refreshes", func() bool { return strings.Count(out.String(), "event "+f.event) >= 2 })
	cancel()
	if err := <-done; err != nil {
		t.Errorf("watch ended with %v, want nil on Ctrl-C", err)
	}
}

func TestDeadListAndRequeue(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	failed := f.seedJob(t, seed{status: jobs.Failed, notified: true})
	succeeded := f.seedJob(t, seed{status: jobs.Succeeded, outputs: 1})
	gone := f.seedJob(t, seed{status: jobs.Failed}) // its letter dropped: only the error document
	f.deadLetter(t, failed)
	f.deadLetter(t, succeeded)

	var entries []DeadEntry
	f.ctlJSON(t, &entries, "dead", "list", "--json")
	byID := map[string]DeadEntry{}
	for _, e := range entries {
		byID[e.JobID] = e
	}
	if len(entries) != 3 {
		t.Fatalf("dead list = %+v, want 3 entries", entries)
	}
	if e := byID[failed]; e.Letter == nil || e.Letter.Reason != "rejected" || e.Letter.Queue != f.topo.Queue() ||
		e.Status != jobs.Failed || e.Error == nil || e.Error.Code != jobs.CodeAttemptsExhausted {
		t.Errorf("failed job's entry = %+v (letter %+v)", e, e.Letter)
	}
	if e := byID[succeeded]; e.Letter == nil || e.Status != jobs.Succeeded {
		t.Errorf("succeeded job's entry = %+v", e)
	}
	if e := byID[gone]; e.Letter != nil || e.Error == nil {
		t.Errorf("letterless failed job's entry = %+v", e)
	}
	// Listing leaves the letters in place.
	if n := f.stack.QueueDepth(t, f.topo.DeadQueue()); n != 2 {
		t.Fatalf("dead queue holds %d after list, want 2", n)
	}

	// The succeeded job is refused: no second result, nothing changed.
	_, _, err := f.ctl(t, "dead", "requeue", succeeded)
	if err == nil || !strings.Contains(err.Error(), "succeeded") {
		t.Errorf("requeue of a succeeded job: %v, want a refusal", err)
	}
	if !f.exists(t, store.Responses, succeeded) {
		t.Error("the succeeded job's response is gone")
	}
	if n := f.stack.QueueDepth(t, f.topo.Queue()); n != 0 {
		t.Errorf("job queue holds %d after a refused requeue, want 0", n)
	}

	// The failed job: attempts restored, error gone, back in the queue once.
	out, errOut, err := f.ctl(t, "dead", "requeue", failed)
	if err != nil {
		t.Fatalf("requeue: %v (%s)", err, errOut)
	}
	if !strings.Contains(out, "requeued "+failed) {
		t.Errorf("requeue output %q", out)
	}
	for _, c := range []string{store.Errors, store.Responses, store.Notifications} {
		if f.exists(t, c, failed) {
			t.Errorf("%s/%s still exists after the requeue", c, failed)
		}
	}
	if !f.exists(t, store.Requests, failed) {
		t.Error("the request is gone")
	}
	d, ok := f.stack.GetMessage(t, f.topo.Queue())
	if !ok || d.MessageId != failed {
		t.Fatalf("job queue's message = %q (ok %v), want %s", d.MessageId, ok, failed)
	}
	var msg jobs.Message
	if err := json.Unmarshal(d.Body, &msg); err != nil || msg != (jobs.Message{JobID: failed, Event: f.event, Priority: jobs.Online}) {
		t.Errorf("body %s (%v), want the Gateway's message", d.Body, err)
	}
	if d.DeliveryMode != 2 || d.Priority != 1 || d.ContentType != "application/json" {
		t.Errorf("message mode %d priority %d type %q, want persistent, 1, JSON", d.DeliveryMode, d.Priority, d.ContentType)
	}
	testenv.Consistently(t, "no second copy in the job queue", 300*time.Millisecond, func() bool {
		return f.stack.QueueDepth(t, f.topo.Queue()) == 0
	})
	// Only the requeued job's letter was removed.
	var after []DeadEntry
	f.ctlJSON(t, &after, "dead", "list", "--json")
	var letters []string
	for _, e := range after {
		if e.Letter != nil {
			letters = append(letters, e.JobID)
		}
	}
	if !slices.Equal(letters, []string{succeeded}) {
		t.Errorf("letters after requeue = %v, want only %s", letters, succeeded)
	}
}

func TestExport(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.seedJob(t, seed{status: jobs.Succeeded, outputs: 2, priority: jobs.Booth, total: time.Second})
	b := f.seedJob(t, seed{status: jobs.Succeeded, outputs: 1, total: time.Second})
	f.seedJob(t, seed{status: jobs.Failed})
	f.seedJob(t, seed{status: jobs.Running})
	f.seedJob(t, seed{status: jobs.Succeeded, outputs: 1, event: testenv.Unique("other")})

	dir := t.TempDir()
	out, errOut, err := f.ctl(t, "export", "--every", "1", dir)
	if err != nil {
		t.Fatalf("export: %v (%s)", err, errOut)
	}
	if !strings.Contains(out, "exported 3 files (3 downloaded") || !strings.Contains(errOut, "3/3 files") {
		t.Errorf("export said %q / %q", out, errOut)
	}
	var manifest []ManifestEntry
	data, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &manifest); err != nil {
		t.Fatal(err)
	}
	if len(manifest) != 3 {
		t.Fatalf("manifest = %+v, want 3 files", manifest)
	}
	for _, e := range manifest {
		if e.JobID != a && e.JobID != b {
			t.Errorf("manifest names job %s of no succeeded job of the event", e.JobID)
		}
		if e.UID != "uid-"+e.JobID || e.Email != e.JobID+"@example.test" || e.Style != "sketch" || e.CompletedAt.IsZero() || e.CreatedAt.IsZero() {
			t.Errorf("entry %+v lacks its owner, style or times", e)
		}
		if e.JobID == a && e.Priority != jobs.Booth {
			t.Errorf("entry %+v: priority %s, want booth", e, e.Priority)
		}
		content, err := os.ReadFile(filepath.Join(dir, e.File))
		if err != nil || string(content) != "output "+e.Object {
			t.Errorf("file %s = %q (%v), want the object's bytes", e.File, content, err)
		}
	}
	csvFile, err := os.Open(filepath.Join(dir, "manifest.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer csvFile.Close()
	rows, err := csv.NewReader(csvFile).ReadAll()
	if err != nil || len(rows) != 4 || rows[0][0] != "file" || rows[0][4] != "email" {
		t.Errorf("manifest.csv = %v (%v), want a header and 3 rows", rows, err)
	}

	// Again: nothing to download, same manifest.
	out, _, err = f.ctl(t, "export", dir)
	if err != nil || !strings.Contains(out, "exported 3 files (0 downloaded, 3 already there") {
		t.Errorf("second export: %q, %v", out, err)
	}
}

// TestExportModes: the export holds portraits and email addresses, so what
// it writes is the operator's alone (files 0600, the folders it creates
// 0700), whatever the umask, in a DIR that exists already and over the
// world-readable files of an earlier export it resumes.
func TestExportModes(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.seedJob(t, seed{status: jobs.Succeeded, outputs: 2, total: time.Second})
	f.seedJob(t, seed{status: jobs.Succeeded, outputs: 1, total: time.Second})
	tests := []struct {
		name string
		// prepare returns the DIR to export to, and whether export creates it.
		prepare func(t *testing.T) (dir string, created bool)
	}{
		{"DIR and its parents created", func(t *testing.T) (string, bool) {
			return filepath.Join(t.TempDir(), "event", "export"), true
		}},
		{"DIR exists, readable by all", func(t *testing.T) (string, bool) {
			dir := t.TempDir()
			if err := os.Chmod(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			return dir, false
		}},
		{"resuming an earlier export's world-readable files", func(t *testing.T) (string, bool) {
			dir := t.TempDir()
			if _, errOut, err := f.ctl(t, "export", dir); err != nil {
				t.Fatalf("first export: %v (%s)", err, errOut)
			}
			// As an older studioctl left them: 0644 files, a stale
			// temporary manifest.
			err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				return os.Chmod(path, 0o644)
			})
			if err == nil {
				err = os.WriteFile(filepath.Join(dir, "manifest.json.tmp"), []byte("[]"), 0o644)
			}
			if err != nil {
				t.Fatal(err)
			}
			return dir, false
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir, created := tc.prepare(t)
			if _, errOut, err := f.ctl(t, "export", dir); err != nil {
				t.Fatalf("export: %v (%s)", err, errOut)
			}
			files := 0
			err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if path == filepath.Join(dir, "manifest.json.tmp") {
					return nil // not export's: left as it was
				}
				fi, err := d.Info()
				if err != nil {
					return err
				}
				want := os.FileMode(0o600)
				if d.IsDir() {
					want = 0o700
					if path == dir && !created {
						return nil // the operator's folder keeps its mode
					}
				} else {
					files++
				}
				if got := fi.Mode().Perm(); got != want {
					t.Errorf("%s has mode %#o, want %#o", path, got, want)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if files != 5 { // 3 outputs and the two manifests
				t.Errorf("%d files exported, want 5", files)
			}
		})
	}
}

func TestPurge(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s1 := f.seedJob(t, seed{status: jobs.Succeeded, outputs: 2, notified: true})
	s2 := f.seedJob(t, seed{status: jobs.Failed, notified: true})
	s3 := f.seedJob(t, seed{status: jobs.Succeeded, outputs: 1})
	// A second attempt's input, named by no document, is found by prefix.
	f.object(t, f.input, s3+"/input-2.png", "retry upload")
	otherEvent := testenv.Unique("other")
	other := f.seedJob(t, seed{status: jobs.Succeeded, outputs: 1, event: otherEvent, notified: true})
	ours := []string{s1, s2, s3}

	snapshot := func() (docs, objects int) {
		for _, id := range append(slices.Clone(ours), other) {
			for _, c := range []string{store.Requests, store.Responses, store.Errors, store.Notifications} {
				if f.exists(t, c, id) {
					docs++
				}
			}
		}
		return docs, len(testenv.Objects(t, f.gcs, f.input)) + len(testenv.Objects(t, f.gcs, f.output))
	}
	docs0, objs0 := snapshot()

	var dry PurgeCounts
	f.ctlJSON(t, &dry, "purge", "--event", f.event, "--json")
	want := PurgeCounts{Event: f.event, DryRun: true, Jobs: 3, Requests: 3, Responses: 3, Errors: 1, Notifications: 2, Inputs: 4, Outputs: 3}
	if dry != want {
		t.Errorf("dry run = %+v, want %+v", dry, want)
	}
	if docs, objs := snapshot(); docs != docs0 || objs != objs0 {
		t.Fatalf("the dry run deleted something: %d/%d documents, %d/%d objects left", docs, docs0, objs, objs0)
	}

	var done PurgeCounts
	f.ctlJSON(t, &done, "purge", "--event", f.event, "--yes", "--json")
	want.DryRun = false
	if done != want {
		t.Errorf("purge = %+v, want %+v", done, want)
	}
	for _, id := range ours {
		if got := testenv.Collections(t, f.fs, id); len(got) != 0 {
			t.Errorf("job %s still has %v", id, got)
		}
	}
	// Only the other event's job is left: 4 documents, its input and output.
	if got := testenv.Collections(t, f.fs, other); !slices.Equal(got, []string{store.Notifications, store.Requests, store.Responses}) {
		t.Errorf("the other event's job has %v", got)
	}
	if in, outp := testenv.Objects(t, f.gcs, f.input), testenv.Objects(t, f.gcs, f.output); len(in) != 1 || len(outp) != 1 ||
		!strings.HasPrefix(in[0], other) || !strings.HasPrefix(outp[0], other) {
		t.Errorf("objects left: %v, %v; want only the other event's", in, outp)
	}

	// Again: idempotent, nothing more to delete.
	var again PurgeCounts
	f.ctlJSON(t, &again, "purge", "--event", f.event, "--yes", "--json")
	if again != (PurgeCounts{Event: f.event}) {
		t.Errorf("second purge = %+v, want nothing deleted", again)
	}
}

// purge --expired deletes what Firestore's TTL and the buckets' lifecycle
// delete in the cloud: the jobs past their expireAt, all their documents and
// objects, and nothing of the jobs still within the retention.
func TestPurgeExpired(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	gone := []string{
		f.seedJob(t, seed{status: jobs.Succeeded, outputs: 2, notified: true, expired: true}),
		f.seedJob(t, seed{status: jobs.Failed, notified: true, expired: true}),
	}
	kept := f.seedJob(t, seed{status: jobs.Succeeded, outputs: 1, notified: true})
	// A job still running within its retention does not stop the purge of
	// the expired ones.
	running := f.seedJob(t, seed{status: jobs.Running})

	var done PurgeCounts
	f.ctlJSON(t, &done, "purge", "--event", f.event, "--expired", "--yes", "--json")
	want := PurgeCounts{Event: f.event, Jobs: 2, Requests: 2, Responses: 2, Errors: 1, Notifications: 2, Inputs: 2, Outputs: 2}
	if done != want {
		t.Errorf("purge --expired = %+v, want %+v", done, want)
	}
	for _, id := range gone {
		if got := testenv.Collections(t, f.fs, id); len(got) != 0 {
			t.Errorf("expired job %s still has %v", id, got)
		}
	}
	if got := testenv.Collections(t, f.fs, kept); !slices.Equal(got, []string{store.Notifications, store.Requests, store.Responses}) {
		t.Errorf("the job within its retention has %v", got)
	}
	if !f.exists(t, store.Requests, running) {
		t.Error("the running job within its retention was purged")
	}
	if in, outp := testenv.Objects(t, f.gcs, f.input), testenv.Objects(t, f.gcs, f.output); len(in) != 2 || len(outp) != 1 {
		t.Errorf("objects left: inputs %v, outputs %v; want the two unexpired jobs' inputs and one output", in, outp)
	}
}

func TestPurgeRefusesUnfinishedJobs(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	id := f.seedJob(t, seed{status: jobs.Running})
	_, _, err := f.ctl(t, "purge", "--event", f.event, "--yes")
	if err == nil || !strings.Contains(err.Error(), "queued or running") {
		t.Fatalf("purge with a running job: %v, want a refusal", err)
	}
	if !f.exists(t, store.Requests, id) {
		t.Fatal("the refused purge deleted the request")
	}
	var done PurgeCounts
	f.ctlJSON(t, &done, "purge", "--event", f.event, "--yes", "--force", "--json")
	if done.Requests != 1 || done.Responses != 1 || done.Inputs != 1 {
		t.Errorf("forced purge = %+v", done)
	}
}
