package gateway_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/tigerstudio/studio/infra/jobs"
	"github.com/tigerstudio/studio/infra/store"
	"github.com/tigerstudio/studio/infra/testenv"
)

// TestQueuePosition: a queued job's place is the booth jobs queued (for an
// online job) plus the jobs of its priority enqueued before it, less those
// a worker started; its ETA is that place times the pace of the event's
// recent completions. Both are derived when asked.
func TestQueuePosition(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	user := f.stack.NewUser(t, testenv.UserOpts{})
	staff := f.staff(t)
	ctx := testenv.Ctx(t)
	var online []string
	for range 3 {
		r := f.submit(t, user.Token, validForm(t), nil)
		if r.status != http.StatusAccepted {
			t.Fatalf("submit: %d %v", r.status, r.body)
		}
		online = append(online, r.jobID())
	}
	booth := validForm(t)
	booth.fields["priority"] = "booth"
	b := f.submit(t, staff.Token, booth, nil)
	if b.status != http.StatusAccepted {
		t.Fatalf("booth submit: %d %v", b.status, b.body)
	}
	queue := func(tok, id string) map[string]any {
		t.Helper()
		r := f.get(t, tok, "/v1/jobs/"+id)
		q, _ := r.job()["queue"].(map[string]any)
		return q
	}
	position := func(tok, id string) float64 {
		t.Helper()
		p, ok := queue(tok, id)["position"].(float64)
		if !ok {
			t.Fatalf("job %s has no queue position: %v", id, queue(tok, id))
		}
		return p
	}
	if p := position(user.Token, online[2]); p != 3 {
		t.Errorf("third online job: position %v, want 3 (two online before it, one booth)", p)
	}
	if p := position(staff.Token, b.jobID()); p != 0 {
		t.Errorf("booth job: position %v, want 0 (it goes first)", p)
	}
	if _, ok := queue(user.Token, online[2])["etaSeconds"]; ok {
		t.Errorf("an ETA without any recent completion: %v", queue(user.Token, online[2]))
	}

	// A worker starts the first online job, as Begin records it, and two
	// earlier jobs of the event took 20 s each, one after the other.
	req, err := store.NewReader(f.fs).Request(ctx, online[0])
	if err != nil {
		t.Fatal(err)
	}
	started := jobs.Response{State: jobs.StateRunning, Attempt: 1, StartedAt: time.Now(),
		Event: req.Event, Priority: req.Priority, EnqueuedAt: req.EnqueuedAt}
	if _, err := f.fs.Collection(store.Responses).Doc(online[0]).Set(ctx, started); err != nil {
		t.Fatal(err)
	}
	for i, ago := range []time.Duration{50 * time.Second, 30 * time.Second} {
		done := jobs.Response{State: jobs.StateSucceeded, Attempt: 1, Event: req.Event, Priority: jobs.Online,
			StartedAt: time.Now().Add(-ago - 20*time.Second), CompletedAt: time.Now().Add(-ago)}
		if _, err := f.fs.Collection(store.Responses).Doc(testenv.Unique("done")+string(rune('a'+i))).Set(ctx, done); err != nil {
			t.Fatal(err)
		}
	}
	q := queue(user.Token, online[2])
	if q["position"] != float64(2) {
		t.Errorf("after the first started: %v, want position 2", q)
	}
	// Ready, not started: two ahead and this one start 20 s apart, then
	// this one takes its 20 s.
	if eta, _ := q["etaSeconds"].(float64); eta < 75 || eta > 85 {
		t.Errorf("ETA %v s, want about (2+1) x 20 s + 20 s", q["etaSeconds"])
	}
	if r := f.get(t, user.Token, "/v1/jobs/"+online[0]); r.job()["queue"] != nil || r.job()["status"] != "running" {
		t.Errorf("a running job: %v, want no queue", r.job())
	}
}
