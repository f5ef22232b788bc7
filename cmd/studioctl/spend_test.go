package main

import (
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/firestore"

	"github.com/tigerstudio/studio/infra/jobs"
	"github.com/tigerstudio/studio/infra/store"
	"github.com/tigerstudio/studio/infra/testenv"
)

// TestStatusSpend: status sums the generated images' recorded cost (not the
// local styles', not a running job's) and shows the Gateway's reservations.
func TestStatusSpend(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := testenv.Ctx(t)
	for _, cost := range []float64{0.039, 0.039, 0} {
		id := f.seedJob(t, seed{status: jobs.Succeeded, ago: time.Minute})
		if cost > 0 {
			if _, err := f.fs.Collection(store.Responses).Doc(id).Update(ctx, []firestore.Update{{Path: "costUSD", Value: cost}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	f.seedJob(t, seed{status: jobs.Running})
	// Another event's spend is not counted.
	other := f.seedJob(t, seed{status: jobs.Succeeded, event: testenv.Unique("other")})
	if _, err := f.fs.Collection(store.Responses).Doc(other).Update(ctx, []firestore.Update{{Path: "costUSD", Value: 0.039}}); err != nil {
		t.Fatal(err)
	}
	var st Status
	f.ctlJSON(t, &st, "status", "--json")
	if st.Spend != (Spend{Images: 2, CostUSD: 0.078}) {
		t.Errorf("spend before any reservation = %+v, want 2 images, $0.078", st.Spend)
	}
	if _, err := f.fs.Collection(store.Budgets).Doc(f.event).Set(ctx, map[string]any{"reservedMicros": 117000, "jobs": 3}); err != nil {
		t.Fatal(err)
	}
	f.ctlJSON(t, &st, "status", "--json")
	if want := (Spend{Images: 2, CostUSD: 0.078, ReservedUSD: 0.117, ReservedJobs: 3}); st.Spend != want {
		t.Errorf("spend = %+v, want %+v", st.Spend, want)
	}
	out, errOut, err := f.ctl(t, "status")
	if err != nil {
		t.Fatalf("status: %v (%s)", err, errOut)
	}
	if want := "2 drawn, $0.08; the Gateway reserved $0.12 for 3 accepted generated jobs"; !strings.Contains(out, want) {
		t.Errorf("status output lacks %q:\n%s", want, out)
	}
}
