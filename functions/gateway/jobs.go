package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/mail"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/tigerstudio/studio/functions/gateway/upload"
	"github.com/tigerstudio/studio/infra/auth"
	"github.com/tigerstudio/studio/infra/blob"
	"github.com/tigerstudio/studio/infra/jobs"
	"github.com/tigerstudio/studio/infra/logging"
	"github.com/tigerstudio/studio/infra/store"
)

const (
	// maxFieldBytes bounds the small form fields (style, priority, email).
	maxFieldBytes = 1024
	// formOverhead is what a multipart body may carry beyond the photo.
	formOverhead = 64 << 10
	// maxIdempotencyKey bounds the Idempotency-Key header.
	maxIdempotencyKey = 255
	// undoTimeout bounds the clean-up after a failed enqueue; it runs even
	// when the client has gone.
	undoTimeout = 15 * time.Second
	defaultPage = 20
	maxPage     = 100
)

// idempotencySpace namespaces job ids derived from (uid, Idempotency-Key).
var idempotencySpace = uuid.MustParse("6f1c8a52-7a0e-4c55-9d43-0a6f3b7e9d21")

// submission is a parsed POST /v1/jobs form.
type submission struct {
	photo         []byte
	photoDeclared string
	style         string
	priority      string
	email         string
}

func (s *Server) createJob(w http.ResponseWriter, r *http.Request, user auth.User) {
	ctx := r.Context()
	key := r.Header.Get("Idempotency-Key")
	if len(key) > maxIdempotencyKey {
		writeError(w, errInvalid(fmt.Sprintf("Idempotency-Key is longer than %d characters", maxIdempotencyKey)))
		return
	}
	sub, apiErr := s.readSubmission(w, r)
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	style, ok := s.d.Styles.Lookup(sub.style)
	if !ok {
		writeError(w, errInvalid(fmt.Sprintf("style: unknown style %q; GET /v1/styles lists them", sub.style)))
		return
	}
	priority, err := jobs.ParsePriority(sub.priority)
	if err != nil {
		writeError(w, errInvalid("priority: "+err.Error()))
		return
	}
	if priority == jobs.Booth && !user.Staff {
		writeError(w, errForbidden("booth priority is for event staff"))
		return
	}
	email := sub.email
	if email != "" {
		addr, err := mail.ParseAddress(email)
		if err != nil || addr.Name != "" {
			writeError(w, errInvalid("email: not a valid address"))
			return
		}
		email = addr.Address // "<a@b.c>" parses too; the envelope wants a@b.c
	} else if user.EmailVerified {
		email = user.Email
	}
	img, err := upload.Validate(sub.photo, sub.photoDeclared, upload.Limits{MaxBytes: s.d.MaxBytes, MaxPixels: s.d.MaxPixels})
	if err != nil {
		writeError(w, uploadError(err))
		return
	}

	id := uuid.NewString()
	if key != "" {
		id = uuid.NewSHA1(idempotencySpace, []byte(user.UID+"\x00"+key)).String()
		job, err := s.d.Reader.Job(ctx, id)
		switch {
		case err == nil && (!job.Request.EnqueuedAt.IsZero() || job.Response != nil || job.Failure != nil):
			w.Header().Set("Idempotent-Replayed", "true")
			s.writeJob(w, r, http.StatusAccepted, job)
			return
		case err == nil:
			// The first request is between its document and its confirm,
			// and may still be undone.
			writeError(w, errConflict("a request with this Idempotency-Key is in progress; retry shortly"))
			return
		case !errors.Is(err, store.ErrNotFound):
			s.unavailable(ctx, w, "read job for idempotency", err)
			return
		}
	}
	if s.d.PerMinute > 0 && !user.Staff {
		n, err := s.d.Reader.CountSince(ctx, user.UID, s.d.Now().Add(-time.Minute))
		if err != nil {
			s.unavailable(ctx, w, "count recent jobs", err)
			return
		}
		if n >= s.d.PerMinute {
			w.Header().Set("Retry-After", "60")
			writeError(w, errExhausted(fmt.Sprintf("at most %d photos a minute; try again in a minute", s.d.PerMinute)))
			return
		}
	}
	ctx = logging.WithJob(ctx, id)

	req := jobs.Request{
		UID:            user.UID,
		Event:          s.d.Event,
		Style:          style.ID,
		Priority:       priority,
		Input:          fmt.Sprintf("%s/input.%s", id, img.Ext),
		ContentType:    img.ContentType,
		Width:          img.Width,
		Height:         img.Height,
		Notify:         jobs.Notify{Email: email},
		IdempotencyKey: key,
		CreatedAt:      s.d.Now().UTC(),
	}
	if err := s.d.Inputs.Create(ctx, req.Input, img.ContentType, sub.photo); err != nil {
		if errors.Is(err, blob.ErrExists) {
			// Another request with the same key got here first and has not
			// written its document yet (or failed and is undoing).
			writeError(w, errConflict("a request with this Idempotency-Key is in progress; retry shortly"))
			return
		}
		s.unavailable(ctx, w, "store input", err)
		return
	}
	if err := s.d.Writer.CreateRequest(ctx, id, req); err != nil {
		// An error may come after the write was applied: undo the document
		// too, unless it is a concurrent request's.
		s.undo(ctx, id, req.Input, !errors.Is(err, store.ErrAlreadyExists))
		if errors.Is(err, store.ErrAlreadyExists) {
			// A concurrent retry with the same key (and another file type,
			// hence another input name) won the race: answer with its job.
			writeError(w, errConflict("a request with this Idempotency-Key is in progress; retry shortly"))
			return
		}
		s.unavailable(ctx, w, "write request", err)
		return
	}
	msg := jobs.Message{
		JobID: id, UID: user.UID, Event: s.d.Event, Style: style.ID,
		Priority: priority, Input: req.Input, Attempt: 0,
	}
	if err := s.d.Publisher.Publish(ctx, msg); err != nil {
		s.undo(ctx, id, req.Input, true)
		s.unavailable(ctx, w, "enqueue", err)
		return
	}
	if priority == jobs.Booth {
		if err := s.d.Publisher.Signal(ctx, id); err != nil {
			logging.FromContext(ctx).Warn("could not signal the booth job; it waits for a free slot", "err", err)
		}
	}
	req.EnqueuedAt = s.d.Now().UTC()
	if err := s.d.Writer.MarkEnqueued(ctx, id, req.EnqueuedAt); err != nil {
		// The job is enqueued and will run; only same-key retries wait
		// (409) until the worker starts it.
		logging.FromContext(ctx).Warn("could not mark the request enqueued", "err", err)
	}
	logging.FromContext(ctx).Info("job accepted", "style", style.ID, "priority", priority,
		"contentType", img.ContentType, "width", img.Width, "height", img.Height, "bytes", len(sub.photo))
	s.writeJob(w, r, http.StatusAccepted, store.Job{ID: id, Request: req})
}

// undo removes what a job that was never enqueued left behind, so no request
// waits forever for a message that does not exist.
func (s *Server) undo(ctx context.Context, id, input string, request bool) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), undoTimeout)
	defer cancel()
	log := logging.FromContext(ctx)
	if request {
		if err := s.d.Writer.DeleteRequest(ctx, id, input); err != nil {
			log.Error("undo: request document left behind", "err", err)
		}
	}
	if err := s.d.Inputs.Delete(ctx, input); err != nil {
		log.Error("undo: input object left behind", "err", err)
	}
}

func (s *Server) unavailable(ctx context.Context, w http.ResponseWriter, what string, err error) {
	logging.FromContext(ctx).Error(what+" failed", "err", err)
	writeError(w, errUnavailable("the service cannot take jobs right now; nothing was stored, retry later"))
}

// readSubmission streams the multipart form, bounding every part.
func (s *Server) readSubmission(w http.ResponseWriter, r *http.Request) (submission, *apiError) {
	var sub submission
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		return sub, errMediaType("the request body must be multipart/form-data")
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.d.MaxBytes+formOverhead)
	mr, err := r.MultipartReader()
	if err != nil {
		return sub, errInvalid("malformed multipart body: " + err.Error())
	}
	sawPhoto := false
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return sub, bodyError(err)
		}
		switch part.FormName() {
		case "photo":
			if sawPhoto {
				return sub, errInvalid("photo: send exactly one photo")
			}
			sawPhoto = true
			sub.photoDeclared = part.Header.Get("Content-Type")
			// One byte over the limit is enough to know it is too large.
			if sub.photo, err = io.ReadAll(io.LimitReader(part, s.d.MaxBytes+1)); err != nil {
				return sub, bodyError(err)
			}
			if int64(len(sub.photo)) > s.d.MaxBytes {
				return sub, errTooLarge(fmt.Sprintf("photo: larger than %d bytes", s.d.MaxBytes))
			}
		case "style":
			sub.style, err = readField(part)
		case "priority":
			sub.priority, err = readField(part)
		case "email":
			sub.email, err = readField(part)
		}
		if err != nil {
			return sub, bodyError(err)
		}
	}
	if !sawPhoto || len(sub.photo) == 0 {
		return sub, errInvalid("photo: a photo file is required")
	}
	if sub.style == "" {
		return sub, errInvalid("style: a style id is required; GET /v1/styles lists them")
	}
	return sub, nil
}

func readField(p *multipart.Part) (string, error) {
	b, err := io.ReadAll(io.LimitReader(p, maxFieldBytes+1))
	if err != nil {
		return "", err
	}
	if len(b) > maxFieldBytes {
		return "", fmt.Errorf("field %s longer than %d bytes", p.FormName(), maxFieldBytes)
	}
	return string(b), nil
}

func bodyError(err error) *apiError {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return errTooLarge(fmt.Sprintf("request body larger than %d bytes", tooBig.Limit))
	}
	return errInvalid("malformed request body: " + err.Error())
}

func uploadError(err error) *apiError {
	msg := "photo: " + err.Error()
	switch {
	case errors.Is(err, upload.ErrTooLarge), errors.Is(err, upload.ErrTooManyPixel):
		return errTooLarge(msg)
	case errors.Is(err, upload.ErrUnsupported), errors.Is(err, upload.ErrMismatch):
		return errMediaType(msg)
	}
	return errInvalid(msg)
}

func (s *Server) getJob(w http.ResponseWriter, r *http.Request, user auth.User) {
	id := r.PathValue("id")
	if id == "" || len(id) > 128 {
		writeError(w, errNotFound("no job "+strconv.Quote(id)))
		return
	}
	job, err := s.d.Reader.Job(r.Context(), id)
	// Someone else's job is reported exactly like a missing one, so ids
	// cannot be probed.
	if errors.Is(err, store.ErrNotFound) || (err == nil && job.Request.UID != user.UID && !user.Staff) {
		writeError(w, errNotFound("no job "+strconv.Quote(id)))
		return
	}
	if err != nil {
		s.unavailable(r.Context(), w, "read job", err)
		return
	}
	s.writeJob(w, r, http.StatusOK, job)
}

func (s *Server) listJobs(w http.ResponseWriter, r *http.Request, user auth.User) {
	limit := defaultPage
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPage {
			writeError(w, errInvalid(fmt.Sprintf("limit: want a number from 1 to %d", maxPage)))
			return
		}
		limit = n
	}
	var after *store.Cursor
	if t := r.URL.Query().Get("pageToken"); t != "" {
		c, err := store.ParseCursor(t)
		if err != nil {
			writeError(w, errInvalid("pageToken: "+err.Error()))
			return
		}
		after = &c
	}
	found, next, err := s.d.Reader.ListJobs(r.Context(), user.UID, limit, after)
	if err != nil {
		s.unavailable(r.Context(), w, "list jobs", err)
		return
	}
	out := make([]Job, 0, len(found))
	for _, j := range found {
		apiJob, err := s.toAPI(r.Context(), j)
		if err != nil {
			s.unavailable(r.Context(), w, "link outputs", err)
			return
		}
		out = append(out, apiJob)
	}
	body := map[string]any{"jobs": out}
	if next != nil {
		body["nextPageToken"] = next.Token()
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) writeJob(w http.ResponseWriter, r *http.Request, code int, j store.Job) {
	apiJob, err := s.toAPI(r.Context(), j)
	if err != nil {
		s.unavailable(r.Context(), w, "link outputs", err)
		return
	}
	writeJSON(w, code, map[string]Job{"job": apiJob})
}

func (s *Server) toAPI(ctx context.Context, j store.Job) (Job, error) {
	out := Job{
		ID:        j.ID,
		Status:    string(j.Status()),
		Style:     j.Request.Style,
		Priority:  string(j.Request.Priority),
		CreatedAt: j.Request.CreatedAt.UTC().Format(time.RFC3339Nano),
		Outputs:   []Output{},
	}
	if j.Failure != nil {
		out.Error = &JobError{Code: j.Failure.Code, Message: j.Failure.Message}
	}
	if j.Status() != jobs.Succeeded {
		return out, nil
	}
	if t := j.Response.Timings; t != nil {
		out.Timings = &Timings{QueuedMs: t.QueuedMs, GenerateMs: t.GenerateMs, TotalMs: t.TotalMs}
	}
	for _, o := range j.Response.Outputs {
		u, err := s.d.URLs.URL(ctx, s.d.OutputBucket, o.Name)
		if err != nil {
			return Job{}, err
		}
		out.Outputs = append(out.Outputs, Output{URL: u, Width: o.Width, Height: o.Height, ContentType: o.ContentType})
	}
	return out, nil
}

func decodeJSON(r *http.Request, v any) *apiError {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/json" {
		return errMediaType("the request body must be application/json")
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, formOverhead))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errInvalid("malformed JSON body: " + err.Error())
	}
	return nil
}
