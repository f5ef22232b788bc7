package gateway

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/tigerstudio/studio/infra/logging"
)

// ReconcileReport counts what one reconciliation pass did.
type ReconcileReport struct {
	// Published are requests whose Gateway died before the broker's
	// confirm, now enqueued.
	Published int `json:"published"`
	// Marked were enqueued (a worker started them) but never marked so.
	Marked int `json:"marked"`
	// Removed are request documents whose input never arrived.
	Removed int `json:"removed"`
	// Orphans are input objects no request names.
	Orphans int `json:"orphans"`
}

// reconcileBatch bounds the requests one pass looks at; the next pass
// takes the rest.
const reconcileBatch = 300

// Reconcile finishes what this event's requests that died mid-way left
// behind, once they are older than PendingGrace (so no live request is touched): a request
// document never confirmed enqueued is published (a second copy of a
// message that did reach the broker is ignored by the worker) or, without
// its input, removed; an input object no request names is deleted. It is
// run on a schedule (the Reconcile function) and is safe to run
// concurrently with itself and with requests.
func (s *Server) Reconcile(ctx context.Context) (ReconcileReport, error) {
	var rep ReconcileReport
	log := logging.FromContext(ctx)
	cutoff := s.d.Now().Add(-s.d.PendingGrace)
	pending, err := s.d.Reader.Unenqueued(ctx, s.d.Event, cutoff, reconcileBatch)
	if err != nil {
		return rep, fmt.Errorf("gateway.Reconcile: %w", err)
	}
	var errs []error
	for _, j := range pending {
		ctx := logging.WithJob(ctx, j.ID)
		switch {
		case j.Response != nil || j.Failure != nil:
			// A worker has it: the message was published.
			if err := s.d.Writer.MarkEnqueued(ctx, j.ID, s.d.Now().UTC()); err != nil {
				errs = append(errs, err)
				continue
			}
			rep.Marked++
			continue
		}
		ok, err := s.d.Inputs.Exists(ctx, j.Request.Input)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !ok {
			if err := s.d.Writer.DeleteRequest(ctx, j.ID, j.Request.Input); err != nil {
				errs = append(errs, err)
				continue
			}
			log.Warn("reconcile: removed a request whose input never arrived", "jobId", j.ID)
			rep.Removed++
			continue
		}
		if _, err := s.finish(ctx, j.ID, j.Request, func() {}); err != nil {
			errs = append(errs, err)
			continue
		}
		log.Info("reconcile: enqueued a request whose Gateway died", "jobId", j.ID)
		rep.Published++
	}
	n, err := s.deleteOrphans(ctx)
	rep.Orphans = n
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return rep, fmt.Errorf("gateway.Reconcile: %w", err)
	}
	return rep, nil
}

// deleteOrphans removes input objects older than PendingGrace that no
// request document names: uploads whose request died before its document,
// or whose undo failed.
func (s *Server) deleteOrphans(ctx context.Context) (int, error) {
	names, err := s.d.Inputs.CreatedBefore(ctx, s.d.Now().Add(-s.d.PendingGrace))
	if err != nil {
		return 0, err
	}
	byJob := map[string][]string{}
	for _, n := range names {
		id, _, _ := strings.Cut(n, "/")
		byJob[id] = append(byJob[id], n)
	}
	ids := make([]string, 0, len(byJob))
	for id := range byJob {
		ids = append(ids, id)
	}
	deleted := 0
	var errs []error
	for start := 0; start < len(ids); start += reconcileBatch {
		chunk := ids[start:min(start+reconcileBatch, len(ids))]
		named, err := s.d.Reader.Inputs(ctx, chunk)
		if err != nil {
			return deleted, err
		}
		for _, id := range chunk {
			for _, obj := range byJob[id] {
				if named[id] == obj {
					continue
				}
				if err := s.d.Inputs.Delete(ctx, obj); err != nil {
					errs = append(errs, err)
					continue
				}
				logging.FromContext(ctx).Info("reconcile: deleted an orphan input", "jobId", id)
				deleted++
			}
		}
	}
	return deleted, errors.Join(errs...)
}
