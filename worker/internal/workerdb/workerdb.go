// Package workerdb is the worker's Firestore write scope (DESIGN.md):
// responses/{jobId} and errors/{jobId}. It is internal to the worker, so no
// other component can express a write there.
package workerdb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"cloud.google.com/go/firestore"

	"github.com/tigerstudio/studio/infra/jobs"
	"github.com/tigerstudio/studio/infra/store"
)

var (
	// ErrFinished means the job already has a succeeded response or an
	// error document: a redelivery to acknowledge without work.
	ErrFinished = errors.New("job already finished")
	// ErrSuperseded means another attempt started after this one: its
	// result must be discarded.
	ErrSuperseded = errors.New("attempt superseded by a later one")
)

// Writer is the worker's only way to write Firestore:
// responses/{jobId} and errors/{jobId}.
type Writer struct {
	fs *firestore.Client
}

// NewWriter wraps a Firestore client for the worker's writes.
func NewWriter(fs *firestore.Client) *Writer { return &Writer{fs: fs} }

// Begin durably records the start of a new attempt and returns its number:
// the count survives redeliveries and crashes, unlike a counter in the
// message. ErrFinished if the job is already done or failed.
func (w *Writer) Begin(ctx context.Context, id string, req jobs.Request, now time.Time) (int, error) {
	var attempt int
	err := w.fs.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		prev, err := w.unfinished(tx, id)
		if err != nil {
			return err
		}
		attempt = prev.Attempt + 1
		return tx.Set(w.fs.Collection(store.Responses).Doc(id), jobs.Response{
			State: jobs.StateRunning, Attempt: attempt, StartedAt: now.UTC(),
			Event: req.Event, Priority: req.Priority, EnqueuedAt: req.QueuedBy(now),
			ExpireAt: req.Expiry(),
		})
	})
	if err != nil {
		return 0, fmt.Errorf("workerdb.Begin %s: %w", id, err)
	}
	return attempt, nil
}

// unfinished reads the job's response in tx (zero if none yet), or returns
// ErrFinished if the job has an error document or a succeeded response.
func (w *Writer) unfinished(tx *firestore.Transaction, id string) (jobs.Response, error) {
	snaps, err := tx.GetAll([]*firestore.DocumentRef{
		w.fs.Collection(store.Responses).Doc(id), w.fs.Collection(store.Errors).Doc(id),
	})
	if err != nil {
		return jobs.Response{}, err
	}
	if snaps[1].Exists() {
		return jobs.Response{}, ErrFinished
	}
	var cur jobs.Response
	if snaps[0].Exists() {
		if err := snaps[0].DataTo(&cur); err != nil {
			return jobs.Response{}, fmt.Errorf("decode response: %w", err)
		}
	}
	if cur.State == jobs.StateSucceeded {
		return jobs.Response{}, ErrFinished
	}
	return cur, nil
}

// Succeed commits a succeeded response for the given attempt, unless a later
// attempt has started (ErrSuperseded) or the job finished (ErrFinished): a
// job's result is written exactly once.
func (w *Writer) Succeed(ctx context.Context, id string, resp jobs.Response) error {
	err := w.fs.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		cur, err := w.unfinished(tx, id)
		if err != nil {
			return err
		}
		if cur.Attempt != resp.Attempt {
			return ErrSuperseded
		}
		resp.State = jobs.StateSucceeded
		return tx.Set(w.fs.Collection(store.Responses).Doc(id), resp)
	})
	if err != nil {
		return fmt.Errorf("workerdb.Succeed %s: %w", id, err)
	}
	return nil
}

// Fail writes errors/{id}, unless the job already succeeded (a superseded
// attempt must not mark a finished job failed) or failed (ErrFinished in
// both cases: the job has its outcome).
func (w *Writer) Fail(ctx context.Context, id string, f jobs.Failure) error {
	err := w.fs.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		if _, err := w.unfinished(tx, id); err != nil {
			return err
		}
		return tx.Create(w.fs.Collection(store.Errors).Doc(id), f)
	})
	if err != nil {
		return fmt.Errorf("workerdb.Fail %s: %w", id, err)
	}
	return nil
}

// Abandon gives back an attempt that was returned to the queue on purpose
// (a graceful shutdown past its grace period), so deploys do not use up a
// job's attempts. It does nothing if another attempt has started since.
func (w *Writer) Abandon(ctx context.Context, id string, attempt int) error {
	err := w.fs.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		cur, err := w.unfinished(tx, id)
		if err != nil || cur.Attempt != attempt {
			return err
		}
		ref := w.fs.Collection(store.Responses).Doc(id)
		if attempt == 1 {
			return tx.Delete(ref) // never started, as far as anyone can tell: queued
		}
		cur.Attempt = attempt - 1
		return tx.Set(ref, cur)
	})
	if err != nil && !errors.Is(err, ErrFinished) {
		return fmt.Errorf("workerdb.Abandon %s: %w", id, err)
	}
	return nil
}
