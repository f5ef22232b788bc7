// Package admindb is the operator tool's only way to write Firestore. The
// components each write their own collections through their own internal
// writer (DESIGN.md, "Write scopes"); the operator's tool acts across them,
// but only in the two ways it needs: giving a failed job its attempts back
// (dead requeue) and deleting a job's documents (purge). Being internal to
// cmd/studioctl, no component can import it.
package admindb

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"cloud.google.com/go/firestore"

	"github.com/tigerstudio/studio/infra/jobs"
	"github.com/tigerstudio/studio/infra/store"
)

// Why a requeue is refused.
var (
	ErrSucceeded  = errors.New("job succeeded: refusing to produce a second result")
	ErrRunning    = errors.New("job is running without an error document: a worker may hold it")
	ErrNoRequest  = errors.New("no request document: nothing to requeue")
	ErrOtherEvent = errors.New("job of another event")
)

// Writer writes as the operator.
type Writer struct {
	fs *firestore.Client
}

// NewWriter wraps a Firestore client for the operator's writes.
func NewWriter(fs *firestore.Client) *Writer { return &Writer{fs: fs} }

// ResetAttempts returns a failed job of event to its queued state: its
// response, error and notification documents are deleted in one
// transaction, so its attempts count from zero and its owner hears of the
// next outcome. A succeeded or running job, a job of another event and an
// unknown one are refused. It returns the request, for the message the
// caller then publishes.
func (w *Writer) ResetAttempts(ctx context.Context, event, id string) (jobs.Request, error) {
	if err := jobs.CheckID(id); err != nil {
		return jobs.Request{}, err
	}
	reqRef := w.fs.Collection(store.Requests).Doc(id)
	respRef := w.fs.Collection(store.Responses).Doc(id)
	errRef := w.fs.Collection(store.Errors).Doc(id)
	notRef := w.fs.Collection(store.Notifications).Doc(id)
	var req jobs.Request
	err := w.fs.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		snaps, err := tx.GetAll([]*firestore.DocumentRef{reqRef, respRef, errRef, notRef})
		if err != nil {
			return err
		}
		if !snaps[0].Exists() {
			return ErrNoRequest
		}
		if err := snaps[0].DataTo(&req); err != nil {
			return fmt.Errorf("decode request: %w", err)
		}
		if req.Event != event {
			return fmt.Errorf("%w (%q, not EVENT=%q)", ErrOtherEvent, req.Event, event)
		}
		var resp *jobs.Response
		if snaps[1].Exists() {
			resp = new(jobs.Response)
			if err := snaps[1].DataTo(resp); err != nil {
				return fmt.Errorf("decode response: %w", err)
			}
		}
		failed := snaps[2].Exists()
		switch {
		case resp != nil && resp.State == jobs.StateSucceeded:
			return ErrSucceeded
		case resp != nil && !failed:
			return ErrRunning
		}
		for i, ref := range []*firestore.DocumentRef{respRef, errRef, notRef} {
			if snaps[i+1].Exists() {
				if err := tx.Delete(ref); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return jobs.Request{}, fmt.Errorf("admindb.ResetAttempts %s: %w", id, err)
	}
	return req, nil
}

// jobCollections are the collections a job's documents live in, the
// request last: a purge deletes in this order, so an interrupted one still
// finds the rest of a job by its request.
var jobCollections = []string{store.Notifications, store.Errors, store.Responses, store.Requests}

// Doc names one document of a job.
type Doc struct {
	Collection, ID string
}

// DeleteJobDocs deletes the given job documents (of the job collections
// only), all but the requests first, then the requests.
func (w *Writer) DeleteJobDocs(ctx context.Context, docs []Doc) error {
	for _, d := range docs {
		if !slices.Contains(jobCollections, d.Collection) {
			return fmt.Errorf("admindb.DeleteJobDocs: %s/%s is not a job document", d.Collection, d.ID)
		}
	}
	var first, last []*firestore.DocumentRef
	for _, d := range docs {
		ref := w.fs.Collection(d.Collection).Doc(d.ID)
		if d.Collection == store.Requests {
			last = append(last, ref)
		} else {
			first = append(first, ref)
		}
	}
	if err := w.delete(ctx, first); err != nil {
		return fmt.Errorf("admindb.DeleteJobDocs: %w", err)
	}
	if err := w.delete(ctx, last); err != nil {
		return fmt.Errorf("admindb.DeleteJobDocs: %w", err)
	}
	return nil
}

// delete deletes the documents with a bulk writer and reports the first
// failure.
func (w *Writer) delete(ctx context.Context, refs []*firestore.DocumentRef) error {
	if len(refs) == 0 {
		return nil
	}
	bw := w.fs.BulkWriter(ctx)
	pending := make([]*firestore.BulkWriterJob, 0, len(refs))
	for _, ref := range refs {
		job, err := bw.Delete(ref)
		if err != nil {
			bw.End()
			return fmt.Errorf("delete %s: %w", ref.Path, err)
		}
		pending = append(pending, job)
	}
	bw.End()
	for i, job := range pending {
		if _, err := job.Results(); err != nil {
			return fmt.Errorf("delete %s: %w", refs[i].Path, err)
		}
	}
	return nil
}
