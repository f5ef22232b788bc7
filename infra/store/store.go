// Package store is the Firestore adapter's shared half: the collection
// names, the documents and a Reader open to every component. Writing goes
// through one writer per component, kept in that component's internal
// package (functions/gateway/internal/gatewaydb, worker/internal/workerdb,
// functions/notify/internal/notifydb), so the write scopes of DESIGN.md
// cannot be crossed by mistake.
package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"cloud.google.com/go/firestore"
	"cloud.google.com/go/firestore/apiv1/firestorepb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tigerstudio/studio/infra/jobs"
)

// Collection names of DESIGN.md.
const (
	Requests      = "requests"
	Responses     = "responses"
	Errors        = "errors"
	Notifications = "notifications"
	Devices       = "devices"
	// Quotas holds each user's recent submissions, for the Gateway's rate
	// limit (an addition to DESIGN.md's collections, written by the Gateway
	// only, read by no client).
	Quotas = "quotas"
	// Budgets holds each event's spend on generated styles reserved at
	// submission, for the Gateway's per-event budget (an addition to
	// DESIGN.md's collections, written by the Gateway only, read by no
	// client).
	Budgets = "budgets"
)

var (
	// ErrNotFound means the document does not exist.
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists means a create found the document already there.
	ErrAlreadyExists = errors.New("already exists")
)

// Job is everything stored about one job.
type Job struct {
	ID       string
	Request  jobs.Request
	Response *jobs.Response
	Failure  *jobs.Failure
}

// Status derives the job's status from its documents.
func (j Job) Status() jobs.Status { return jobs.StatusOf(j.Response, j.Failure) }

// Reader reads any collection.
type Reader struct {
	fs *firestore.Client
}

// NewReader wraps a Firestore client for reading.
func NewReader(fs *firestore.Client) *Reader { return &Reader{fs: fs} }

// Request reads requests/{id}.
func (r *Reader) Request(ctx context.Context, id string) (jobs.Request, error) {
	snap, err := r.fs.Collection(Requests).Doc(id).Get(ctx)
	if status.Code(err) == codes.NotFound {
		return jobs.Request{}, fmt.Errorf("store.Request %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return jobs.Request{}, fmt.Errorf("store.Request %s: %w", id, err)
	}
	var req jobs.Request
	if err := snap.DataTo(&req); err != nil {
		return jobs.Request{}, fmt.Errorf("store.Request %s: decode: %w", id, err)
	}
	return req, nil
}

// Job reads a job's request, response and error documents in one round trip.
func (r *Reader) Job(ctx context.Context, id string) (Job, error) {
	found, err := r.jobs(ctx, []string{id})
	if err != nil {
		return Job{}, fmt.Errorf("store.Job %s: %w", id, err)
	}
	if len(found) == 0 {
		return Job{}, fmt.Errorf("store.Job %s: %w", id, ErrNotFound)
	}
	return found[0], nil
}

// jobs loads the given jobs, skipping ids without a request document.
func (r *Reader) jobs(ctx context.Context, ids []string) ([]Job, error) {
	refs := make([]*firestore.DocumentRef, 0, 3*len(ids))
	for _, id := range ids {
		refs = append(refs,
			r.fs.Collection(Requests).Doc(id),
			r.fs.Collection(Responses).Doc(id),
			r.fs.Collection(Errors).Doc(id))
	}
	snaps, err := r.fs.GetAll(ctx, refs)
	if err != nil {
		return nil, err
	}
	out := make([]Job, 0, len(ids))
	for i, id := range ids {
		reqSnap, respSnap, errSnap := snaps[3*i], snaps[3*i+1], snaps[3*i+2]
		if !reqSnap.Exists() {
			continue
		}
		j := Job{ID: id}
		if err := reqSnap.DataTo(&j.Request); err != nil {
			return nil, fmt.Errorf("decode request %s: %w", id, err)
		}
		if respSnap.Exists() {
			j.Response = new(jobs.Response)
			if err := respSnap.DataTo(j.Response); err != nil {
				return nil, fmt.Errorf("decode response %s: %w", id, err)
			}
		}
		if errSnap.Exists() {
			j.Failure = new(jobs.Failure)
			if err := errSnap.DataTo(j.Failure); err != nil {
				return nil, fmt.Errorf("decode error %s: %w", id, err)
			}
		}
		out = append(out, j)
	}
	return out, nil
}

// Cursor marks where a page of ListJobs ended.
type Cursor struct {
	CreatedAt time.Time `json:"t"`
	ID        string    `json:"id"`
}

// Token encodes the cursor as an opaque page token.
func (c Cursor) Token() string {
	b, _ := json.Marshal(c) // a struct of a time and a string always marshals
	return base64.RawURLEncoding.EncodeToString(b)
}

// ParseCursor decodes a page token made by Token.
func ParseCursor(token string) (Cursor, error) {
	var c Cursor
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil || c.ID == "" || c.CreatedAt.IsZero() {
		return Cursor{}, fmt.Errorf("invalid page token")
	}
	return c, nil
}

// ListJobs returns uid's jobs, newest first, starting after the cursor (nil
// for the first page), and the cursor of the next page (nil on the last).
func (r *Reader) ListJobs(ctx context.Context, uid string, limit int, after *Cursor) ([]Job, *Cursor, error) {
	q := r.fs.Collection(Requests).Where("uid", "==", uid).
		OrderBy("createdAt", firestore.Desc).OrderBy(firestore.DocumentID, firestore.Desc)
	return r.page(ctx, "store.ListJobs", q, limit, after)
}

// ListBoothJobs returns event's booth jobs, every owner's, in the order and
// pages of ListJobs: the kiosk's board of the whole booth.
func (r *Reader) ListBoothJobs(ctx context.Context, event string, limit int, after *Cursor) ([]Job, *Cursor, error) {
	q := r.fs.Collection(Requests).Where("event", "==", event).Where("priority", "==", jobs.Booth).
		OrderBy("createdAt", firestore.Desc).OrderBy(firestore.DocumentID, firestore.Desc)
	return r.page(ctx, "store.ListBoothJobs", q, limit, after)
}

// page runs q, ordered by createdAt then document id (both descending),
// from after the cursor, and loads up to limit jobs and the next page's
// cursor (nil on the last page). One more request than the page is read to
// know whether another page follows.
func (r *Reader) page(ctx context.Context, op string, q firestore.Query, limit int, after *Cursor) ([]Job, *Cursor, error) {
	if after != nil {
		q = q.StartAfter(after.CreatedAt, after.ID)
	}
	snaps, err := q.Limit(limit + 1).Documents(ctx).GetAll()
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", op, err)
	}
	var next *Cursor
	if len(snaps) > limit {
		snaps = snaps[:limit]
		last := snaps[limit-1]
		created, _ := last.DataAt("createdAt")
		t, _ := created.(time.Time)
		next = &Cursor{CreatedAt: t, ID: last.Ref.ID}
	}
	ids := make([]string, len(snaps))
	for i, s := range snaps {
		ids[i] = s.Ref.ID
	}
	found, err := r.jobs(ctx, ids)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", op, err)
	}
	return found, next, nil
}

// Unenqueued returns up to limit jobs of event whose request was written
// before before and never confirmed enqueued: requests whose Gateway failed or died
// between writing the document and the broker's confirm.
func (r *Reader) Unenqueued(ctx context.Context, event string, before time.Time, limit int) ([]Job, error) {
	snaps, err := r.fs.Collection(Requests).Where("event", "==", event).Where("enqueuedAt", "==", nil).
		Limit(limit).Documents(ctx).GetAll()
	if err != nil {
		return nil, fmt.Errorf("store.Unenqueued: %w", err)
	}
	var ids []string
	for _, s := range snaps {
		if at, err := s.DataAt("createdAt"); err == nil {
			if t, ok := at.(time.Time); ok && t.Before(before) {
				ids = append(ids, s.Ref.ID)
			}
		}
	}
	found, err := r.jobs(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("store.Unenqueued: %w", err)
	}
	return found, nil
}

// Unnotified returns the jobs that finished between from and to (a
// response succeeded, or an error document written) and whose owner has no
// completed notification, at most limit of each kind, oldest first. It
// pages through the window, so a busy event's later jobs are reached too
// (a guest who confirms an address after the job finished is mailed by the
// sweep), reading at most unnotifiedScan documents of each kind a call. An
// error document wins over a response, as in the job's status.
func (r *Reader) Unnotified(ctx context.Context, from, to time.Time, limit int) (succeeded, failed []string, err error) {
	// scan pages through collection's window; wanted picks a page's
	// candidates, and those with a completed notification are dropped.
	scan := func(collection, field string, wanted func([]*firestore.DocumentSnapshot) ([]string, error)) ([]string, error) {
		q := r.fs.Collection(collection).Where(field, ">=", from).Where(field, "<", to).
			OrderBy(field, firestore.Asc).Limit(limit)
		var out []string
		for scanned := 0; scanned < unnotifiedScan && len(out) < limit; {
			snaps, err := q.Documents(ctx).GetAll()
			if err != nil {
				return nil, err
			}
			scanned += len(snaps)
			candidates, err := wanted(snaps)
			if err != nil {
				return nil, err
			}
			notified, err := r.present(ctx, Notifications, candidates, func(s *firestore.DocumentSnapshot) bool {
				var n Notification
				return s.DataTo(&n) == nil && !n.SentAt.IsZero()
			})
			if err != nil {
				return nil, err
			}
			for _, id := range candidates {
				if !notified[id] && len(out) < limit {
					out = append(out, id)
				}
			}
			if len(snaps) < limit {
				break
			}
			q = q.StartAfter(snaps[len(snaps)-1])
		}
		return out, nil
	}
	if failed, err = scan(Errors, "failedAt", func(snaps []*firestore.DocumentSnapshot) ([]string, error) {
		ids := make([]string, len(snaps))
		for i, s := range snaps {
			ids[i] = s.Ref.ID
		}
		return ids, nil
	}); err != nil {
		return nil, nil, fmt.Errorf("store.Unnotified: %w", err)
	}
	if succeeded, err = scan(Responses, "completedAt", func(snaps []*firestore.DocumentSnapshot) ([]string, error) {
		var ids []string
		for _, s := range snaps {
			if st, _ := s.DataAt("state"); st == jobs.StateSucceeded {
				ids = append(ids, s.Ref.ID)
			}
		}
		// An error document wins: such a job is failed, found above.
		errored, err := r.present(ctx, Errors, ids, nil)
		return slices.DeleteFunc(ids, func(id string) bool { return errored[id] }), err
	}); err != nil {
		return nil, nil, fmt.Errorf("store.Unnotified: %w", err)
	}
	return succeeded, failed, nil
}

// unnotifiedScan bounds the documents of each kind one Unnotified call
// reads, so a sweep's cost stays bounded on the busiest event.
const unnotifiedScan = 5000

// present reports which of ids have a document in collection that ok
// accepts (nil: any).
func (r *Reader) present(ctx context.Context, collection string, ids []string, ok func(*firestore.DocumentSnapshot) bool) (map[string]bool, error) {
	out := make(map[string]bool, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	refs := make([]*firestore.DocumentRef, len(ids))
	for i, id := range ids {
		refs[i] = r.fs.Collection(collection).Doc(id)
	}
	snaps, err := r.fs.GetAll(ctx, refs)
	if err != nil {
		return nil, err
	}
	for i, s := range snaps {
		if s.Exists() && (ok == nil || ok(s)) {
			out[ids[i]] = true
		}
	}
	return out, nil
}

// QueueAhead counts the jobs of event still queued ahead of one with
// priority p enqueued at at: every queued booth job is ahead of an online
// one; within a priority, those enqueued earlier. It counts requests
// enqueued and subtracts the responses of those started (a response
// repeats its request's event, priority and enqueuedAt), so it reads four
// counts, not the documents. An estimate: a retried online job comes back
// above fresh ones, and a job handed back after its first attempt counts
// as started.
func (r *Reader) QueueAhead(ctx context.Context, event string, p jobs.Priority, at time.Time) (int, error) {
	ahead := func(p jobs.Priority, before time.Time) (int, error) {
		enqueued, err := count(ctx, r.fs.Collection(Requests).Where("event", "==", event).
			Where("priority", "==", p).Where("enqueuedAt", "<", before))
		if err != nil {
			return 0, err
		}
		started, err := count(ctx, r.fs.Collection(Responses).Where("event", "==", event).
			Where("priority", "==", p).Where("enqueuedAt", "<", before))
		return max(0, enqueued-started), err
	}
	n, err := ahead(p, at)
	if err != nil {
		return 0, fmt.Errorf("store.QueueAhead: %w", err)
	}
	if p == jobs.Online {
		booth, err := ahead(jobs.Booth, time.Now().AddDate(100, 0, 0))
		if err != nil {
			return 0, fmt.Errorf("store.QueueAhead: %w", err)
		}
		n += booth
	}
	return n, nil
}

// QueuePace is the event's recent pace, from its last completions.
type QueuePace struct {
	// PerJob is the time the workers were busy per completion (BusyPace):
	// how often a generation slot frees up.
	PerJob time.Duration
	// Generate is how long one job took from its start to its completion
	// (MeanSpan): what a job still needs once it has a slot.
	Generate time.Duration
}

// Pace is how long the event takes per job at its recent pace: the time
// its workers were busy with its last completions within window (the union
// of their [startedAt, completedAt] spans, so parallel slots and workers
// count once and idle time between visitors not at all), divided by their
// number, and how long each took; zero when fewer than two jobs completed
// in the window.
func (r *Reader) Pace(ctx context.Context, event string, now time.Time, window time.Duration) (QueuePace, error) {
	snaps, err := r.fs.Collection(Responses).Where("event", "==", event).Where("completedAt", ">", now.Add(-window)).
		OrderBy("completedAt", firestore.Desc).Limit(paceSamples).Documents(ctx).GetAll()
	if err != nil {
		return QueuePace{}, fmt.Errorf("store.Pace: %w", err)
	}
	if len(snaps) < 2 {
		return QueuePace{}, nil
	}
	spans := make([]Span, 0, len(snaps))
	for _, s := range snaps {
		var resp jobs.Response
		if err := s.DataTo(&resp); err != nil {
			return QueuePace{}, fmt.Errorf("store.Pace: %s: %w", s.Ref.ID, err)
		}
		spans = append(spans, Span{Start: resp.StartedAt, End: resp.CompletedAt})
	}
	return QueuePace{PerJob: BusyPace(spans), Generate: MeanSpan(spans)}, nil
}

// MeanSpan is the mean length of the spans that have a start (a document
// older than startedAt has none); 0 when none has.
func MeanSpan(spans []Span) time.Duration {
	var sum time.Duration
	n := 0
	for _, s := range spans {
		if s.Start.IsZero() || s.Start.After(s.End) {
			continue
		}
		sum += s.End.Sub(s.Start)
		n++
	}
	if n == 0 {
		return 0
	}
	return sum / time.Duration(n)
}

// Span is the time one job was being worked on.
type Span struct{ Start, End time.Time }

// BusyPace is the busy time of spans (their union) per span. A span without
// a start (a document older than startedAt) counts from the previous
// completion, as a worker that is never idle would.
func BusyPace(spans []Span) time.Duration {
	if len(spans) == 0 {
		return 0
	}
	sorted := slices.Clone(spans)
	slices.SortFunc(sorted, func(a, b Span) int { return a.End.Compare(b.End) })
	for i := range sorted {
		if sorted[i].Start.IsZero() || sorted[i].Start.After(sorted[i].End) {
			if i == 0 {
				sorted[i].Start = sorted[i].End
			} else {
				sorted[i].Start = sorted[i-1].End
			}
		}
	}
	slices.SortFunc(sorted, func(a, b Span) int { return a.Start.Compare(b.Start) })
	var busy time.Duration
	cur := sorted[0]
	for _, s := range sorted[1:] {
		if s.Start.After(cur.End) {
			busy += cur.End.Sub(cur.Start)
			cur = s
			continue
		}
		if s.End.After(cur.End) {
			cur.End = s.End
		}
	}
	busy += cur.End.Sub(cur.Start)
	return busy / time.Duration(len(spans))
}

// paceSamples bounds the completions Pace reads: the app asks for a queued
// job's place every few seconds, so each answer reads few documents.
const paceSamples = 8

// count runs a count aggregation.
func count(ctx context.Context, q firestore.Query) (int, error) {
	res, err := q.NewAggregationQuery().WithCount("n").Get(ctx)
	if err != nil {
		return 0, err
	}
	switch n := res["n"].(type) {
	case int64:
		return int(n), nil
	case *firestorepb.Value:
		return int(n.GetIntegerValue()), nil
	}
	return 0, fmt.Errorf("unexpected count %T", res["n"])
}

// Inputs returns which of the given jobs' request documents exist, and the
// input object each names.
func (r *Reader) Inputs(ctx context.Context, ids []string) (map[string]string, error) {
	refs := make([]*firestore.DocumentRef, len(ids))
	for i, id := range ids {
		refs[i] = r.fs.Collection(Requests).Doc(id)
	}
	snaps, err := r.fs.GetAll(ctx, refs)
	if err != nil {
		return nil, fmt.Errorf("store.Inputs: %w", err)
	}
	out := make(map[string]string, len(ids))
	for i, s := range snaps {
		if s.Exists() {
			in, _ := s.DataAt("input")
			out[ids[i]], _ = in.(string)
		}
	}
	return out, nil
}

// Device is devices/{uid}: the push tokens a user registered.
type Device struct {
	Tokens    []string  `firestore:"tokens"`
	UpdatedAt time.Time `firestore:"updatedAt"`
	// ExpireAt: the event's retention after the latest registration
	// (Firestore's TTL policy on expireAt deletes the document).
	ExpireAt time.Time `firestore:"expireAt,omitempty"`
}

// Devices reads devices/{uid}; a user without registrations has none.
func (r *Reader) Devices(ctx context.Context, uid string) (Device, error) {
	snap, err := r.fs.Collection(Devices).Doc(uid).Get(ctx)
	if status.Code(err) == codes.NotFound {
		return Device{}, nil
	}
	if err != nil {
		return Device{}, fmt.Errorf("store.Devices: %w", err)
	}
	var d Device
	if err := snap.DataTo(&d); err != nil {
		return Device{}, fmt.Errorf("store.Devices: decode: %w", err)
	}
	return d, nil
}

// Notification is notifications/{jobId}: the channels sent so far and, once
// all are sent, when. ClaimedBy and ClaimedUntil lease the job to one
// delivery at a time.
type Notification struct {
	Channels []string `firestore:"channels"`
	// Attempted are the channels a delivery began to send (a text message
	// is recorded before the provider is called): one attempted but not in
	// Channels may or may not have reached the provider.
	Attempted    []string  `firestore:"attempted,omitempty"`
	SentAt       time.Time `firestore:"sentAt,omitempty"`
	ClaimedBy    string    `firestore:"claimedBy,omitempty"`
	ClaimedUntil time.Time `firestore:"claimedUntil,omitempty"`
	// ExpireAt repeats the request's (jobs.Request.ExpireAt).
	ExpireAt *time.Time `firestore:"expireAt,omitempty"`
}
