package notify

import (
	"context"
	"errors"
	"fmt"

	"github.com/tigerstudio/studio/infra/logging"
)

// SweepReport counts what one sweep did.
type SweepReport struct {
	// Found are finished jobs without a completed notification.
	Found int `json:"found"`
	// Notified are those whose owner was notified now.
	Notified int `json:"notified"`
}

// sweepBatch bounds the jobs of each kind one sweep looks at.
const sweepBatch = 500

// Sweep notifies the owners of jobs that finished between SweepLookback and
// SweepGrace ago and were never notified: their event was lost for good (a
// trigger that gave up retrying, a deleted trigger, a local bridge that was
// down). SweepGrace leaves the live trigger time to do it first; the
// notification's lease keeps it to once when both act. It is run on a
// schedule (the NotifySweep function).
func (s *Service) Sweep(ctx context.Context) (SweepReport, error) {
	var rep SweepReport
	now := s.d.Now()
	done, failures, err := s.d.Jobs.Unnotified(ctx, now.Add(-s.d.SweepLookback), now.Add(-s.d.SweepGrace), sweepBatch)
	if err != nil {
		return rep, fmt.Errorf("notify.Sweep: %w", err)
	}
	var errs []error
	run := func(ids []string, what outcome) {
		for _, id := range ids {
			rep.Found++
			ctx := logging.WithJob(ctx, id)
			sent, err := s.notify(ctx, id, what)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if sent {
				logging.FromContext(ctx).Warn("sweep: notified a job whose event was lost")
				rep.Notified++
			}
		}
	}
	run(done, succeeded)
	run(failures, failed)
	if err := errors.Join(errs...); err != nil {
		return rep, fmt.Errorf("notify.Sweep: %w", err)
	}
	return rep, nil
}
