package notify_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/tigerstudio/studio/functions/notify"
	"github.com/tigerstudio/studio/functions/notify/internal/notifydb"
	"github.com/tigerstudio/studio/infra/blob"
	"github.com/tigerstudio/studio/infra/jobs"
	"github.com/tigerstudio/studio/infra/logging"
	"github.com/tigerstudio/studio/infra/store"
	"github.com/tigerstudio/studio/infra/styles"
	"github.com/tigerstudio/studio/infra/testenv"
)

// TestSweep: jobs that finished without their owner being notified (their
// event was lost) are notified by the sweep, once; jobs already notified,
// too recent (the trigger may still deliver) or too old are left alone.
func TestSweep(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	// Far from every other test's documents (and earlier runs'), which
	// share the database: the sweep looks at a 48-hour window.
	base := time.Now().Add(time.Duration(1000+rand.IntN(1_000_000)) * time.Hour).Truncate(time.Second)
	seed := func(at time.Time, state jobs.Status) (id, email string) {
		f.now = at
		email = testenv.Unique("owner") + "@example.test"
		return f.job(t, email, state), email
	}
	lostOK, lostOKMail := seed(base, jobs.Succeeded)
	lostFail, lostFailMail := seed(base.Add(-time.Hour), jobs.Failed)
	notified, notifiedMail := seed(base, jobs.Succeeded)
	_, recentMail := seed(base.Add(15*time.Minute), jobs.Succeeded)
	_, oldMail := seed(base.Add(-72*time.Hour), jobs.Failed)
	f.now = base
	f.job(t, "", jobs.Succeeded) // found, but nobody to tell

	ledger := notifydb.NewWriter(f.fs)
	c, err := ledger.Claim(testenv.Ctx(t), notified, nil, base, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := ledger.Complete(testenv.Ctx(t), notified, c.Token, base); err != nil {
		t.Fatal(err)
	}

	cat, err := styles.Load("")
	if err != nil {
		t.Fatal(err)
	}
	svc := notify.New(notify.Deps{
		Jobs: store.NewReader(f.fs), Ledger: ledger, Mailer: f.mailer, Messenger: f.push,
		URLs: blob.EmulatorURLs{Host: f.stack.StorageHost}, Styles: cat, OutputBucket: f.out,
		Logger: logging.New(t.Output(), 0),
		Now:    func() time.Time { return base.Add(20 * time.Minute) },
	})
	rep, err := svc.Sweep(testenv.Ctx(t))
	if err != nil {
		t.Fatalf("sweep: %v", err)
	}
	if rep.Found != 3 || rep.Notified != 2 {
		t.Errorf("report %+v, want 3 found, 2 notified", rep)
	}
	to := map[string]int{}
	for _, m := range f.sink.mails(t) {
		to[m.Header.Get("To")]++
	}
	for addr, want := range map[string]int{lostOKMail: 1, lostFailMail: 1, notifiedMail: 0, recentMail: 0, oldMail: 0} {
		if to[addr] != want {
			t.Errorf("mails to %s = %d, want %d (all %v)", addr, to[addr], want, to)
		}
	}
	for _, id := range []string{lostOK, lostFail} {
		snap, err := f.fs.Collection(store.Notifications).Doc(id).Get(testenv.Ctx(t))
		if err != nil || !snap.Exists() {
			t.Errorf("job %s has no notification record", id)
		}
	}

	// Once: a second sweep sends nothing more.
	rep, err = svc.Sweep(testenv.Ctx(t))
	if err != nil || rep.Notified != 0 {
		t.Errorf("second sweep = %+v, %v; want nothing sent", rep, err)
	}
	if n := len(f.sink.mails(t)); n != 2 {
		t.Errorf("%d mails after two sweeps, want 2", n)
	}
}
