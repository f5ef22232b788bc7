package gateway

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tigerstudio/studio/functions/gateway/api"
	"github.com/tigerstudio/studio/infra/jobs"
	"github.com/tigerstudio/studio/infra/logging"
	"github.com/tigerstudio/studio/infra/store"
)

// The request document is the job's outbox: written before the message is
// published and marked enqueued after the broker's confirm. A request that
// fails before the confirm removes what it stored (undo); one whose Gateway
// died instead leaves a document with a null enqueuedAt, which a retry with
// the same Idempotency-Key or the reconciler finishes once it is older than
// PendingGrace, and possibly an input object no document names, which the
// reconciler deletes.
//
// Every budget below is a fraction of PendingGrace, so a live request has
// always finished (or undone) its work before anyone else may finish it:
// enqueueing takes at most 1/4 of it, each of the three undo steps 1/8.

// errInProgress means a concurrent request with the same Idempotency-Key
// holds the job's document.
var errInProgress = errors.New("a request with this Idempotency-Key is in progress")

func (s *Server) enqueueBudget() time.Duration { return s.d.PendingGrace / 4 }
func (s *Server) undoBudget() time.Duration    { return s.d.PendingGrace / 8 }

// enqueue stores the input, writes the request document, publishes the
// message and records the confirm.
func (s *Server) enqueue(ctx context.Context, nj newJob) (jobs.Request, error) {
	ctx, cancel := context.WithTimeout(ctx, s.enqueueBudget())
	defer cancel()
	req := nj.req
	if err := s.d.Inputs.Create(ctx, req.Input, req.ContentType, nj.photo); err != nil {
		// The name is this request's own (a fresh nonce), so a failed or
		// ambiguous upload is removed, never another request's.
		s.undo(ctx, nj, false)
		return req, fmt.Errorf("store input: %w", err)
	}
	if err := s.d.Writer.CreateRequest(ctx, nj.id, req); err != nil {
		// An error may come after the write was applied: undo the document
		// too, unless it is a concurrent same-key request's.
		conflict := errors.Is(err, store.ErrAlreadyExists)
		s.undo(ctx, nj, !conflict)
		if conflict {
			return req, errInProgress
		}
		return req, fmt.Errorf("write request: %w", err)
	}
	return s.finish(ctx, nj.id, req, func() { s.undo(ctx, nj, true) })
}

// finish publishes a stored request's message and marks it enqueued. If the
// publish fails, failed runs (the caller's undo) and the error is returned.
func (s *Server) finish(ctx context.Context, id string, req jobs.Request, failed func()) (jobs.Request, error) {
	msg := jobs.Message{JobID: id, Event: req.Event, Priority: req.Priority}
	if err := s.d.Publisher.Publish(ctx, msg); err != nil {
		failed()
		return req, fmt.Errorf("enqueue: %w", err)
	}
	if req.Priority == jobs.Booth {
		// Lets a worker busy with online jobs hand one back.
		if err := s.d.Publisher.Signal(ctx, id); err != nil {
			logging.FromContext(ctx).Warn("could not signal the booth job; it waits for a free slot", "err", err)
		}
	}
	at := s.d.Now().UTC()
	req.EnqueuedAt = &at
	if err := s.d.Writer.MarkEnqueued(ctx, id, at); err != nil {
		// The job is enqueued and will run; the reconciler marks it later
		// (publishing once more, which the worker ignores).
		logging.FromContext(ctx).Warn("could not mark the request enqueued", "err", err)
	}
	return req, nil
}

// undo removes what a job that was never enqueued left behind, each step
// with its own budget, even when the client has gone: the request document
// first (so nothing points at a missing input), then the input, then the
// user's quota turn. What it cannot remove, the reconciler does.
func (s *Server) undo(ctx context.Context, nj newJob, request bool) {
	ctx = context.WithoutCancel(ctx)
	log := logging.FromContext(ctx)
	step := func(what string, f func(context.Context) error) {
		ctx, cancel := context.WithTimeout(ctx, s.undoBudget())
		defer cancel()
		if err := f(ctx); err != nil {
			log.Error("undo: "+what+" left behind", "err", err)
		}
	}
	if request {
		step("request document", func(ctx context.Context) error { return s.d.Writer.DeleteRequest(ctx, nj.id, nj.req.Input) })
	}
	step("input object", func(ctx context.Context) error { return s.d.Inputs.Delete(ctx, nj.req.Input) })
	if nj.quota {
		step("quota turn", func(ctx context.Context) error { return s.d.Writer.ReturnQuota(ctx, nj.req.UID, nj.id) })
	}
	if nj.guests {
		step("guests' quota turn", func(ctx context.Context) error { return s.d.Writer.ReturnQuota(ctx, guestsKey(nj.req.Event), nj.id) })
	}
	if nj.budget > 0 {
		step("budget reservation", func(ctx context.Context) error { return s.d.Budget.ReturnBudget(ctx, nj.req.Event, nj.budget) })
	}
}

// returnTurns gives back the quota turns of a job refused after limit
// counted it, before anything was stored.
func (s *Server) returnTurns(ctx context.Context, nj newJob) {
	if nj.quota {
		s.returnQuota(ctx, nj)
	}
	if nj.guests {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.undoBudget())
		defer cancel()
		if err := s.d.Writer.ReturnQuota(ctx, guestsKey(nj.req.Event), nj.id); err != nil {
			logging.FromContext(ctx).Error("could not give back the guests' quota turn", "err", err)
		}
	}
}

// returnQuota gives back the user's turn of a job refused after it was
// counted.
func (s *Server) returnQuota(ctx context.Context, nj newJob) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.undoBudget())
	defer cancel()
	if err := s.d.Writer.ReturnQuota(ctx, nj.req.UID, nj.id); err != nil {
		logging.FromContext(ctx).Error("could not give back the user's quota turn", "err", err)
	}
}

// enqueueError answers a failed enqueue.
func (s *Server) enqueueError(ctx context.Context, err error) *apiError {
	if errors.Is(err, errInProgress) {
		return answerErr(api.CodeAlreadyExists, inProgress)
	}
	return s.unavailable(ctx, "enqueue", err)
}
