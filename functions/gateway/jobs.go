package gateway

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"mime/multipart"
	"net/http"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/tigerstudio/studio/functions/gateway/api"
	"github.com/tigerstudio/studio/functions/gateway/upload"
	"github.com/tigerstudio/studio/infra/auth"
	"github.com/tigerstudio/studio/infra/jobs"
	"github.com/tigerstudio/studio/infra/logging"
	"github.com/tigerstudio/studio/infra/store"
)

const (
	// maxFieldBytes bounds the small form fields (style, priority, email).
	maxFieldBytes = 1024
	// formOverhead is what a multipart body may carry beyond the photo.
	formOverhead = 64 << 10
	// bodyBuffer is the read buffer in front of the multipart reader.
	bodyBuffer = 64 << 10
	// maxIdempotencyKey bounds the Idempotency-Key header.
	maxIdempotencyKey = 255
	defaultPage       = 20
	maxPage           = 100
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
	consent       string
	// phone is a number to text; notify the channels chosen ("email,phone,push").
	phone, notify string
}

// consentVersion is what the app's consent field may hold: a version name,
// stored on the request, never free text.
var consentVersion = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// createJob is POST /v1/jobs: parse, replay a retried request, limit,
// enqueue.
func (s *Server) createJob(w http.ResponseWriter, r *http.Request, user auth.User) {
	if !s.appChecked(w, r) {
		return
	}
	releaseUser, apiErr := s.userTurn(user.UID)
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	defer releaseUser()
	release, apiErr := s.uploadTurn(r.Context(), w)
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	defer release()
	if s.d.UploadTimeout > 0 {
		r.Body = s.idleBody(w, r.Body, time.Now().Add(s.d.UploadTimeout))
	}
	// The photo lives in a pooled buffer until the job is stored.
	buf := s.photos.Get().(*bytes.Buffer)
	defer s.photos.Put(buf)
	buf.Reset()
	nj, apiErr := s.parseJob(w, r, user, buf)
	// The account's turn bounds bodies being read; this one is.
	releaseUser()
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	s.accept(w, r.WithContext(logging.WithJob(r.Context(), nj.id)), user, nj)
}

// accept answers a parsed submission: the job a retried request made
// before, or a new job, limited, paid for and enqueued.
func (s *Server) accept(w http.ResponseWriter, r *http.Request, user auth.User, nj newJob) {
	ctx := r.Context()
	if nj.req.IdempotencyKey != "" {
		job, found, apiErr := s.replay(ctx, nj)
		switch {
		case apiErr != nil:
			writeError(w, apiErr)
			return
		case found:
			w.Header().Set("Idempotent-Replayed", "true")
			s.writeJob(w, r, http.StatusAccepted, job, nil, &user)
			return
		}
	}
	if apiErr := s.limit(ctx, w, user, &nj); apiErr != nil {
		writeError(w, apiErr)
		return
	}
	if apiErr := s.spend(ctx, &nj); apiErr != nil {
		s.returnTurns(ctx, nj)
		writeError(w, apiErr)
		return
	}
	req, err := s.enqueue(ctx, nj)
	if err != nil {
		writeError(w, s.enqueueError(ctx, err))
		return
	}
	logging.FromContext(ctx).Info("job accepted", "style", req.Style, "priority", req.Priority,
		"contentType", req.ContentType, "width", req.Width, "height", req.Height, "bytes", len(nj.photo))
	apiJob, err := s.toAPI(ctx, store.Job{ID: nj.id, Request: req}, &user)
	if err != nil {
		writeError(w, s.unavailable(ctx, "answer the job", err))
		return
	}
	apiJob.Pickup = nj.pickup
	writeJSON(w, http.StatusAccepted, map[string]api.Job{"job": apiJob})
}

// uploadTurn waits for one of the instance's submission turns, so the
// photos held in memory stay bounded; release gives it back.
func (s *Server) uploadTurn(ctx context.Context, w http.ResponseWriter) (release func(), _ *apiError) {
	if s.uploads == nil {
		return func() {}, nil
	}
	wait := time.NewTimer(s.d.UploadWait)
	defer wait.Stop()
	select {
	case s.uploads <- struct{}{}:
		return func() { <-s.uploads }, nil
	case <-wait.C:
	case <-ctx.Done():
	}
	w.Header().Set("Retry-After", "2")
	return nil, answerErr(api.CodeUnavailable, "too many photos are being uploaded right now; nothing was stored, retry in a moment")
}

// userTurn counts a submission whose body is being read against its
// account's UploadsPerUser; release may be called more than once.
func (s *Server) userTurn(uid string) (release func(), _ *apiError) {
	if s.d.UploadsPerUser <= 0 {
		return func() {}, nil
	}
	s.userMu.Lock()
	defer s.userMu.Unlock()
	if s.userUps[uid] >= s.d.UploadsPerUser {
		return nil, answerErr(api.CodeResourceExhausted, fmt.Sprintf("you are already uploading %d photos; wait for them to finish", s.d.UploadsPerUser))
	}
	s.userUps[uid]++
	released := false
	return func() { // safe to call again
		s.userMu.Lock()
		defer s.userMu.Unlock()
		if released {
			return
		}
		released = true
		if s.userUps[uid]--; s.userUps[uid] <= 0 {
			delete(s.userUps, uid)
		}
	}, nil
}

// idleBody sets the connection's read deadline before each read of the
// body: UploadIdle from now, never past the whole upload's deadline, so a
// client that stops sending gives its turn back within UploadIdle. Not
// every ResponseWriter supports deadlines (tests' recorders); the body is
// bounded in size either way.
func (s *Server) idleBody(w http.ResponseWriter, body io.ReadCloser, deadline time.Time) io.ReadCloser {
	rc := http.NewResponseController(w)
	if s.d.UploadIdle <= 0 {
		_ = rc.SetReadDeadline(deadline)
		return body
	}
	return idleReader{ReadCloser: body, next: func() {
		next := time.Now().Add(s.d.UploadIdle)
		if next.After(deadline) {
			next = deadline
		}
		_ = rc.SetReadDeadline(next)
	}}
}

type idleReader struct {
	io.ReadCloser
	next func()
}

func (r idleReader) Read(p []byte) (int, error) {
	r.next()
	return r.ReadCloser.Read(p)
}

// newJob is a valid job submission: the request document to write and the
// photo to store.
type newJob struct {
	id    string
	req   jobs.Request
	photo []byte
	// pickup is the job's pick-up code, answered once.
	pickup string
	// quota is set once the job counts against the user's rate limit,
	// guests once it counts against the event's guests' (guestsKey).
	quota, guests bool
	// budget is the price (millionths of a US dollar) reserved from the
	// event's budget for generated styles; 0 for a local style.
	budget int64
}

// guestsKey is the quota document the event's guests share; a colon never
// occurs in a Firebase uid.
func guestsKey(event string) string { return "guests:" + event }

// parseJob reads and checks the form and the Idempotency-Key; every field
// is checked before anything is stored.
func (s *Server) parseJob(w http.ResponseWriter, r *http.Request, user auth.User, buf *bytes.Buffer) (newJob, *apiError) {
	key := r.Header.Get("Idempotency-Key")
	if len(key) > maxIdempotencyKey {
		return newJob{}, answerErr(api.CodeInvalidArgument, fmt.Sprintf("Idempotency-Key is longer than %d characters", maxIdempotencyKey))
	}
	sub, apiErr := s.readSubmission(w, r, buf)
	if apiErr != nil {
		return newJob{}, apiErr
	}
	style, ok := s.d.Styles.Lookup(sub.style)
	if !ok {
		return newJob{}, answerErr(api.CodeInvalidArgument, fmt.Sprintf("style: unknown style %q; GET /v1/styles lists them", sub.style))
	}
	priority, choice, apiErr := s.parseOwner(sub, user)
	if apiErr != nil {
		return newJob{}, apiErr
	}
	img, err := upload.Validate(sub.photo, sub.photoDeclared, s.d.Photos)
	if err != nil {
		return newJob{}, uploadError(err)
	}
	id := uuid.NewString()
	if key != "" {
		id = uuid.NewSHA1(idempotencySpace, []byte(user.UID+"\x00"+key)).String()
	}
	digest := sha256.Sum256(sub.photo)
	now := s.d.Now().UTC()
	expireAt := now.Add(s.d.Retention)
	pickup, pickupHash, pickupExpires := s.newPickup(expireAt)
	return newJob{id: id, photo: sub.photo, req: jobs.Request{
		UID:      user.UID,
		Event:    s.d.Event,
		Style:    style.ID,
		Priority: priority,
		// Each attempt at a job uploads under its own name, so a crashed
		// attempt's object never blocks a retry; the reconciler deletes it.
		Input:          fmt.Sprintf("%s/input-%s.%s", id, rand.Text()[:8], img.Ext),
		ContentType:    img.ContentType,
		Width:          img.Width,
		Height:         img.Height,
		Notify:         choice,
		IdempotencyKey: key,
		Consent:        sub.consent,
		Digest:         hex.EncodeToString(digest[:]),
		// Only the hash is stored; the code is in this request's answer
		// alone (a replay gets none: POST /v1/jobs/{id}/pickup issues one).
		PickupHash:      pickupHash,
		PickupExpiresAt: &pickupExpires,
		CreatedAt:       now,
		ExpireAt:        expireAt,
	}, pickup: pickup}, nil
}

// parseOwner checks the job's priority against the user's rights and says
// how its owner is told.
func (s *Server) parseOwner(sub submission, user auth.User) (jobs.Priority, jobs.Notify, *apiError) {
	staff := user.StaffOf(s.d.Event)
	priority, err := jobs.ParsePriority(sub.priority)
	if err != nil {
		return "", jobs.Notify{}, answerErr(api.CodeInvalidArgument, "priority: "+err.Error())
	}
	if priority == jobs.Booth && !staff {
		return "", jobs.Notify{}, answerErr(api.CodePermissionDenied, "booth priority is for event staff")
	}
	email, apiErr := notifyAddress(sub.email, user, staff)
	if apiErr != nil {
		return "", jobs.Notify{}, apiErr
	}
	if priority == jobs.Booth && sub.email == "" {
		// A booth job's owner is the kiosk's staff account, never the
		// attendee: an attendee without an address picks up by QR code,
		// and the staff account is not mailed for them.
		email = ""
	}
	choice, apiErr := notifyChoice(sub, email, user, priority, staff)
	if apiErr != nil {
		return "", jobs.Notify{}, apiErr
	}
	return priority, choice, nil
}

// notifyAddress is where the owner hears about the job: the token's
// verified email, or an address booth staff entered for a guest. Anyone
// else naming an address could make the service mail strangers.
func notifyAddress(field string, user auth.User, staff bool) (string, *apiError) {
	own := ""
	if user.EmailVerified {
		own = user.Email
	}
	if field == "" {
		return own, nil
	}
	// Only a plain address that reads back as typed: net/mail drops the
	// quotes of a quoted local part ("a@x.com,b"@example.com), and the
	// mail would go to whatever the unquoted text names.
	addr, err := mail.ParseAddress(field)
	if err != nil || addr.Name != "" || addr.Address != field || strings.ContainsAny(field, "\",;<>()[]\\ ") {
		return "", answerErr(api.CodeInvalidArgument, "email: not a valid address (a plain name@domain, without quotes or commas)")
	}
	if !staff && (own == "" || !strings.EqualFold(addr.Address, own)) {
		return "", answerErr(api.CodePermissionDenied, "email: results go to your account's verified address; only booth staff may enter another")
	}
	return addr.Address, nil
}

// replay answers a retry: the job an earlier request with the same
// Idempotency-Key created, finished first if that request died before the
// broker's confirm. Another photo or style under the same key is refused.
func (s *Server) replay(ctx context.Context, nj newJob) (store.Job, bool, *apiError) {
	job, err := s.d.Reader.Job(ctx, nj.id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.Job{}, false, nil
	case err != nil:
		return store.Job{}, false, s.unavailable(ctx, "read job for idempotency", err)
	case !sameSubmission(job.Request, nj.req):
		return store.Job{}, false, answerErr(api.CodeIdempotencyMismatch, "Idempotency-Key was used for another photo, style or priority; use a new key for a new photo")
	case job.Request.Enqueued() || job.Response != nil || job.Failure != nil:
		return job, true, nil
	case s.d.Now().Sub(job.Request.CreatedAt) < s.d.PendingGrace:
		// The first request may still be running, and may still undo.
		return store.Job{}, false, answerErr(api.CodeAlreadyExists, inProgress)
	}
	// The first request died between its document and the confirm.
	ctx, cancel := context.WithTimeout(ctx, s.enqueueBudget())
	defer cancel()
	req, err := s.finish(ctx, nj.id, job.Request, func() {})
	if err != nil {
		return store.Job{}, false, s.unavailable(ctx, "finish an earlier request", err)
	}
	logging.FromContext(ctx).Info("finished the job of an earlier request that died")
	job.Request = req
	return job, true, nil
}

// sameSubmission reports whether a retry sends what the first request did.
func sameSubmission(stored, retry jobs.Request) bool {
	return stored.Digest == retry.Digest && stored.Style == retry.Style && stored.Priority == retry.Priority
}

const inProgress = "a request with this Idempotency-Key is in progress; retry shortly"

// limit counts the job against the user's rate and, for a guest, against
// the event's guests' rate, atomically; staff are not limited. A job
// refused by the second gives its first turn back.
func (s *Server) limit(ctx context.Context, w http.ResponseWriter, user auth.User, nj *newJob) *apiError {
	if user.StaffOf(s.d.Event) {
		return nil
	}
	if s.d.PerMinute > 0 {
		ok, retry, err := s.d.Writer.TakeQuota(ctx, user.UID, nj.id, s.d.Now(), s.d.PerMinute, time.Minute)
		if err != nil {
			return s.unavailable(ctx, "count recent jobs", err)
		}
		if !ok {
			w.Header().Set("Retry-After", strconv.Itoa(int(retry.Seconds())+1))
			return answerErr(api.CodeResourceExhausted, fmt.Sprintf("at most %d photos a minute; try again in a minute", s.d.PerMinute))
		}
		nj.quota = true
	}
	if !user.Anonymous || s.d.GuestsPerMinute <= 0 {
		return nil
	}
	ok, retry, err := s.d.Writer.TakeQuota(ctx, guestsKey(s.d.Event), nj.id, s.d.Now(), s.d.GuestsPerMinute, time.Minute)
	if err == nil && ok {
		nj.guests = true
		return nil
	}
	if nj.quota {
		s.returnQuota(ctx, *nj)
	}
	if err != nil {
		return s.unavailable(ctx, "count recent guest jobs", err)
	}
	w.Header().Set("Retry-After", strconv.Itoa(int(retry.Seconds())+1))
	return answerErr(api.CodeResourceExhausted, "too many guest photos at this event right now: sign in with your email or Google to go ahead, or try again in a minute")
}

// unavailable logs a failed dependency and answers 503.
func (s *Server) unavailable(ctx context.Context, what string, err error) *apiError {
	logging.FromContext(ctx).Error(what+" failed", "err", err)
	return answerErr(api.CodeUnavailable, "the service cannot take jobs right now; nothing was stored, retry later")
}

// readSubmission streams the multipart form, bounding every part.
//
// The photo is read into buf, which the caller owns.
func (s *Server) readSubmission(w http.ResponseWriter, r *http.Request, buf *bytes.Buffer) (submission, *apiError) {
	var sub submission
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		return sub, answerErr(api.CodeUnsupportedMedia, "the request body must be multipart/form-data")
	}
	if params["boundary"] == "" {
		return sub, answerErr(api.CodeInvalidArgument, "malformed multipart body: no boundary")
	}
	body := http.MaxBytesReader(w, r.Body, s.d.Photos.MaxBytes+formOverhead)
	// The multipart reader reads 4 KB at a time; a larger buffer in front
	// saves most of the read system calls of a large photo.
	mr := multipart.NewReader(bufio.NewReaderSize(body, bodyBuffer), params["boundary"])
	sawPhoto := false
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return sub, bodyError(err)
		}
		if part.FormName() == "photo" {
			if sawPhoto {
				return sub, answerErr(api.CodeInvalidArgument, "photo: send exactly one photo")
			}
			sawPhoto = true
			if apiErr := s.readPhoto(&sub, part, buf, r.ContentLength); apiErr != nil {
				return sub, apiErr
			}
			continue
		}
		if err := sub.set(part); err != nil {
			return sub, bodyError(err)
		}
	}
	if !sawPhoto || len(sub.photo) == 0 {
		return sub, answerErr(api.CodeInvalidArgument, "photo: a photo file is required")
	}
	if sub.style == "" {
		return sub, answerErr(api.CodeInvalidArgument, "style: a style id is required; GET /v1/styles lists them")
	}
	if sub.consent != "" && !consentVersion.MatchString(sub.consent) {
		return sub, answerErr(api.CodeInvalidArgument, "consent: not a consent text version (letters, digits, '.', '_' or '-', at most 64)")
	}
	return sub, nil
}

// readPhoto reads the photo part into buf, bounded by the photo limit.
func (s *Server) readPhoto(sub *submission, part *multipart.Part, buf *bytes.Buffer, contentLength int64) *apiError {
	sub.photoDeclared = part.Header.Get("Content-Type")
	// One byte over the limit is enough to know it is too large. The body's
	// length sizes the buffer once, instead of the doublings (and zeroing)
	// of io.ReadAll.
	buf.Grow(int(min(max(contentLength, 0), s.d.Photos.MaxBytes+1)))
	if _, err := buf.ReadFrom(io.LimitReader(part, s.d.Photos.MaxBytes+1)); err != nil {
		return bodyError(err)
	}
	sub.photo = buf.Bytes()
	if int64(len(sub.photo)) > s.d.Photos.MaxBytes {
		return answerErr(api.CodeTooLarge, fmt.Sprintf("photo: larger than %d bytes", s.d.Photos.MaxBytes))
	}
	return nil
}

// set reads one of the form's text fields into sub; a field it does
// not know is ignored.
func (sub *submission) set(part *multipart.Part) error {
	field, ok := map[string]*string{
		"style":    &sub.style,
		"priority": &sub.priority,
		"email":    &sub.email,
		"phone":    &sub.phone,
		"notify":   &sub.notify,
		"consent":  &sub.consent,
	}[part.FormName()]
	if !ok {
		return nil
	}
	v, err := readField(part)
	*field = v
	return err
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
		return answerErr(api.CodeTooLarge, fmt.Sprintf("request body larger than %d bytes", tooBig.Limit))
	}
	return answerErr(api.CodeInvalidArgument, "malformed request body: "+err.Error())
}

func uploadError(err error) *apiError {
	msg := "photo: " + err.Error()
	switch {
	case errors.Is(err, upload.ErrTooLarge), errors.Is(err, upload.ErrTooManyPixel):
		return answerErr(api.CodeTooLarge, msg)
	case errors.Is(err, upload.ErrUnsupported), errors.Is(err, upload.ErrMismatch):
		return answerErr(api.CodeUnsupportedMedia, msg)
	}
	return answerErr(api.CodeInvalidArgument, msg)
}

func (s *Server) getJob(w http.ResponseWriter, r *http.Request, user auth.User) {
	id := r.PathValue("id")
	if jobs.CheckID(id) != nil {
		writeError(w, answerErr(api.CodeNotFound, "no job "+strconv.Quote(id)))
		return
	}
	job, err := s.d.Reader.Job(r.Context(), id)
	// Someone else's job is reported exactly like a missing one, so ids
	// cannot be probed.
	if errors.Is(err, store.ErrNotFound) || (err == nil && job.Request.UID != user.UID && !user.StaffOf(job.Request.Event)) {
		writeError(w, answerErr(api.CodeNotFound, "no job "+strconv.Quote(id)))
		return
	}
	if err != nil {
		writeError(w, s.unavailable(r.Context(), "read job", err))
		return
	}
	s.writeJob(w, r, http.StatusOK, job, s.queue(r.Context(), job), &user)
}

// paceWindow is how far back completions tell the queue's pace.
const paceWindow = 10 * time.Minute

// queue derives a queued job's place and wait when asked, never storing
// it: the jobs still queued ahead of it (QueueAhead) and the event's recent
// pace (etaSeconds). A failure only leaves it out.
func (s *Server) queue(ctx context.Context, j store.Job) *api.Queue {
	if j.Status() != jobs.Queued || !j.Request.Enqueued() {
		return nil
	}
	ahead, err := s.d.Reader.QueueAhead(ctx, j.Request.Event, j.Request.Priority, *j.Request.EnqueuedAt)
	if err != nil {
		logging.FromContext(ctx).Warn("could not count the queue", "err", err)
		return nil
	}
	q := &api.Queue{Position: ahead}
	pace, err := s.d.Reader.Pace(ctx, j.Request.Event, s.d.Now(), paceWindow)
	if err != nil {
		logging.FromContext(ctx).Warn("could not read the queue's pace", "err", err)
	}
	q.EtaSeconds = etaSeconds(ahead, pace)
	return q
}

// etaSeconds is how long until a queued job's portrait is ready, not only
// until it starts (the ETA used to stop there, and ran short by a whole
// generation): every slot is busy while a job waits, so the jobs ahead and
// this one start one per freed slot (PerJob each, which counts the jobs in
// progress finishing), then this one generates (Generate). 0: no pace yet.
func etaSeconds(ahead int, p store.QueuePace) int {
	if p.PerJob <= 0 {
		return 0
	}
	return int(math.Ceil((time.Duration(ahead+1)*p.PerJob + p.Generate).Seconds()))
}

// listScope is one page of the jobs a scope of GET /v1/jobs lists.
type listScope func(ctx context.Context, limit int, after *store.Cursor) ([]store.Job, *store.Cursor, error)

// scopeOf maps GET /v1/jobs's scope: none is the caller's own jobs; booth
// is the kiosk's board, every owner's booth jobs of this Gateway's event,
// for staff only.
func (s *Server) scopeOf(scope string, user auth.User) (listScope, *apiError) {
	switch scope {
	case "":
		return func(ctx context.Context, limit int, after *store.Cursor) ([]store.Job, *store.Cursor, error) {
			return s.d.Reader.ListJobs(ctx, user.UID, limit, after)
		}, nil
	case string(jobs.Booth):
		if !user.StaffOf(s.d.Event) {
			return nil, answerErr(api.CodePermissionDenied, "the booth's jobs are for this event's staff")
		}
		return func(ctx context.Context, limit int, after *store.Cursor) ([]store.Job, *store.Cursor, error) {
			return s.d.Reader.ListBoothJobs(ctx, s.d.Event, limit, after)
		}, nil
	}
	return nil, answerErr(api.CodeInvalidArgument, fmt.Sprintf("scope: unknown scope %.32q; want %q or none (your own jobs)", scope, jobs.Booth))
}

func (s *Server) listJobs(w http.ResponseWriter, r *http.Request, user auth.User) {
	list, apiErr := s.scopeOf(r.URL.Query().Get("scope"), user)
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	limit := defaultPage
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPage {
			writeError(w, answerErr(api.CodeInvalidArgument, fmt.Sprintf("limit: want a number from 1 to %d", maxPage)))
			return
		}
		limit = n
	}
	var after *store.Cursor
	if t := r.URL.Query().Get("pageToken"); t != "" {
		c, err := store.ParseCursor(t)
		if err != nil {
			writeError(w, answerErr(api.CodeInvalidArgument, "pageToken: "+err.Error()))
			return
		}
		after = &c
	}
	found, next, err := list(r.Context(), limit, after)
	if err != nil {
		writeError(w, s.unavailable(r.Context(), "list jobs", err))
		return
	}
	out := make([]api.Job, 0, len(found))
	for _, j := range found {
		apiJob, err := s.toAPI(r.Context(), j, &user)
		if err != nil {
			writeError(w, s.unavailable(r.Context(), "link outputs", err))
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

// writeJob answers with one job; queue is its place while queued, or nil;
// viewer is who asked (nil: an anonymous caller).
func (s *Server) writeJob(w http.ResponseWriter, r *http.Request, code int, j store.Job, queue *api.Queue, viewer *auth.User) {
	apiJob, err := s.toAPI(r.Context(), j, viewer)
	if err != nil {
		writeError(w, s.unavailable(r.Context(), "link outputs", err))
		return
	}
	apiJob.Queue = queue
	writeJSON(w, code, map[string]api.Job{"job": apiJob})
}

// toAPI is the API's view of j for viewer (nil: an anonymous caller).
func (s *Server) toAPI(ctx context.Context, j store.Job, viewer *auth.User) (api.Job, error) {
	out := api.Job{
		ID:        j.ID,
		Status:    string(j.Status()),
		Style:     j.Request.Style,
		Priority:  string(j.Request.Priority),
		CreatedAt: j.Request.CreatedAt.UTC().Format(time.RFC3339Nano),
		Outputs:   []api.Output{},
	}
	if j.Failure != nil {
		out.Error = &api.JobError{Code: j.Failure.Code, Message: j.Failure.Message}
	}
	if j.Status() != jobs.Succeeded {
		return out, nil
	}
	if t := j.Response.Timings; t != nil {
		out.Timings = &api.Timings{QueuedMs: t.QueuedMs, GenerateMs: t.GenerateMs, TotalMs: t.TotalMs}
	}
	for _, o := range j.Response.Outputs {
		u, err := s.d.URLs.URL(ctx, s.d.OutputBucket, o.Name)
		if err != nil {
			return api.Job{}, err
		}
		out.Outputs = append(out.Outputs, api.Output{URL: u, Width: o.Width, Height: o.Height, ContentType: o.ContentType})
	}
	return out, nil
}

func decodeJSON(r *http.Request, v any) *apiError {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/json" {
		return answerErr(api.CodeUnsupportedMedia, "the request body must be application/json")
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, formOverhead))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return answerErr(api.CodeInvalidArgument, "malformed JSON body: "+err.Error())
	}
	return nil
}
