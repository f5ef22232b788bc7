package gateway

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tigerstudio/studio/infra/blob"
	"github.com/tigerstudio/studio/infra/jobs"
	"github.com/tigerstudio/studio/infra/logging"
	"github.com/tigerstudio/studio/infra/store"
)

// errInProgress means a concurrent request with the same Idempotency-Key
// holds the job's input or document.
var errInProgress = errors.New("a request with this Idempotency-Key is in progress")

// undoStepTimeout bounds each clean-up step after a failed enqueue, so a slow
// first step cannot use up the time of the next; undo runs even when the
// client has gone.
const undoStepTimeout = 10 * time.Second

// enqueue stores the input, writes the request document, publishes the
// message and records the confirm. Until the broker confirmed, a failure
// removes what was stored, so no request waits for a message that does not
// exist.
func (s *Server) enqueue(ctx context.Context, nj newJob) (jobs.Request, error) {
	req := nj.req
	if err := s.d.Inputs.Create(ctx, req.Input, req.ContentType, nj.photo); err != nil {
		if errors.Is(err, blob.ErrExists) {
			// Same key, same file type: the other request has not written
			// its document yet (or failed and is undoing).
			return req, errInProgress
		}
		return req, fmt.Errorf("store input: %w", err)
	}
	if err := s.d.Writer.CreateRequest(ctx, nj.id, req); err != nil {
		// An error may come after the write was applied: undo the document
		// too, unless it is a concurrent request's (same key, another file
		// type, hence another input name).
		conflict := errors.Is(err, store.ErrAlreadyExists)
		s.undo(ctx, nj.id, req.Input, !conflict)
		if conflict {
			return req, errInProgress
		}
		return req, fmt.Errorf("write request: %w", err)
	}
	if err := s.publish(ctx, nj.id, req); err != nil {
		s.undo(ctx, nj.id, req.Input, true)
		return req, err
	}
	req.EnqueuedAt = s.d.Now().UTC()
	if err := s.d.Writer.MarkEnqueued(ctx, nj.id, req.EnqueuedAt); err != nil {
		// The job is enqueued and will run; only same-key retries wait
		// (409) until the worker starts it.
		logging.FromContext(ctx).Warn("could not mark the request enqueued", "err", err)
	}
	return req, nil
}

// publish sends the job's message and, for a booth job, the signal that
// lets a busy worker hand an online job back.
func (s *Server) publish(ctx context.Context, id string, req jobs.Request) error {
	msg := jobs.Message{JobID: id, Event: req.Event, Priority: req.Priority}
	if err := s.d.Publisher.Publish(ctx, msg); err != nil {
		return fmt.Errorf("enqueue: %w", err)
	}
	if req.Priority == jobs.Booth {
		if err := s.d.Publisher.Signal(ctx, id); err != nil {
			logging.FromContext(ctx).Warn("could not signal the booth job; it waits for a free slot", "err", err)
		}
	}
	return nil
}

// undo removes what a job that was never enqueued left behind: the request
// document first (so nothing points at a missing input), then the input.
func (s *Server) undo(ctx context.Context, id, input string, request bool) {
	ctx = context.WithoutCancel(ctx)
	log := logging.FromContext(ctx)
	step := func(what string, f func(context.Context) error) {
		ctx, cancel := context.WithTimeout(ctx, undoStepTimeout)
		defer cancel()
		if err := f(ctx); err != nil {
			log.Error("undo: "+what+" left behind", "err", err)
		}
	}
	if request {
		step("request document", func(ctx context.Context) error { return s.d.Writer.DeleteRequest(ctx, id, input) })
	}
	step("input object", func(ctx context.Context) error { return s.d.Inputs.Delete(ctx, input) })
}

// enqueueError answers a failed enqueue.
func (s *Server) enqueueError(ctx context.Context, err error) *apiError {
	if errors.Is(err, errInProgress) {
		return errConflict(inProgress)
	}
	return s.unavailable(ctx, "enqueue", err)
}
