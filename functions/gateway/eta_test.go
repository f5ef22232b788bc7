package gateway

import (
	"testing"
	"time"

	"github.com/tigerstudio/studio/infra/store"
)

// TestETASeconds: the ETA counts to the portrait being ready. The issue's
// case: 6 jobs ahead on 2 slots of 20 s jobs (a slot frees every 10 s)
// started 58 s and finished 78 s after submission; the ETA then said
// 12-45 s. It is now the start (7 freed slots) plus the generation.
func TestETASeconds(t *testing.T) {
	for _, c := range []struct {
		name  string
		ahead int
		pace  store.QueuePace
		want  int
	}{
		{"no pace yet", 3, store.QueuePace{}, 0},
		{"next, one slot", 0, store.QueuePace{PerJob: 20 * time.Second, Generate: 20 * time.Second}, 40},
		{"six ahead on two slots", 6, store.QueuePace{PerJob: 10 * time.Second, Generate: 20 * time.Second}, 90},
		{"rounds up", 0, store.QueuePace{PerJob: 1500 * time.Millisecond, Generate: 1200 * time.Millisecond}, 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := etaSeconds(c.ahead, c.pace); got != c.want {
				t.Errorf("etaSeconds(%d, %+v) = %d, want %d", c.ahead, c.pace, got, c.want)
			}
		})
	}
	// Never short of the measured 78 s to the portrait.
	if got := etaSeconds(6, store.QueuePace{PerJob: 10 * time.Second, Generate: 20 * time.Second}); got < 78 {
		t.Errorf("ETA %d s, the portrait took 78 s", got)
	}
}
