package gateway

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/tigerstudio/studio/functions/gateway/api"
	"github.com/tigerstudio/studio/infra/auth"
	"github.com/tigerstudio/studio/infra/jobs"
	"github.com/tigerstudio/studio/infra/logging"
	"github.com/tigerstudio/studio/infra/store"
)

// pickupBytes is a pick-up code's entropy: 128 bits, which no one guesses
// through an endpoint anyone may call, so it needs no rate limit.
const pickupBytes = 16

// newPickupCode is a fresh pick-up code: 128 random bits, base64url without
// padding (22 characters, safe in a QR code's URL fragment).
func newPickupCode() string {
	b := make([]byte, pickupBytes)
	// crypto/rand.Read never returns an error (it crashes the program
	// rather than hand out predictable bytes).
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// pickupHash is what is stored of a code.
func pickupHash(code string) string {
	sum := sha256.Sum256([]byte(code))
	return hex.EncodeToString(sum[:])
}

// pickupMatches reports whether code is the request's current, unexpired
// pick-up code, comparing hashes in time that does not depend on how much
// of them matches. A request without a code matches nothing.
func pickupMatches(req jobs.Request, code string, now time.Time) bool {
	if req.PickupHash == "" || req.PickupExpiresAt == nil || !now.Before(*req.PickupExpiresAt) {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(req.PickupHash), []byte(pickupHash(code))) == 1
}

// newPickup makes a code and what the request stores of it. The code
// opens the job until the job itself expires.
func (s *Server) newPickup(expireAt time.Time) (code, hash string, expires time.Time) {
	code = newPickupCode()
	expires = s.d.Now().UTC().Add(s.d.Retention)
	if !expireAt.IsZero() && expireAt.Before(expires) {
		expires = expireAt.UTC()
	}
	return code, pickupHash(code), expires
}

// reissuePickup is POST /v1/jobs/{id}/pickup: a new pick-up code for the
// job, for its owner or its event's staff (the kiosk shows a job's QR code
// again this way); the old code stops working. Anyone else gets 404.
func (s *Server) reissuePickup(w http.ResponseWriter, r *http.Request, user auth.User) {
	id := r.PathValue("id")
	refused := answerErr(api.CodeNotFound, "no job "+strconv.Quote(id))
	if jobs.CheckID(id) != nil {
		writeError(w, refused)
		return
	}
	ctx := logging.WithJob(r.Context(), id)
	job, err := s.d.Reader.Job(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound) || (err == nil && job.Request.UID != user.UID && !user.StaffOf(job.Request.Event)):
		writeError(w, refused)
		return
	case err != nil:
		writeError(w, s.unavailable(ctx, "read job for a pick-up code", err))
		return
	}
	code, hash, expires := s.newPickup(job.Request.ExpireAt)
	if err := s.d.Writer.SetPickup(ctx, id, hash, expires); err != nil {
		writeError(w, s.unavailable(ctx, "store the pick-up code", err))
		return
	}
	logging.FromContext(ctx).Info("pick-up code issued", "byStaff", job.Request.UID != user.UID)
	writeJSON(w, http.StatusOK, api.PickupCode{Pickup: code, ExpiresAt: expires.Format(time.RFC3339)})
}

// pickup is POST /v1/pickup {"job", "code"}: the job as its owner sees it
// (status, outputs with fresh links, its place while queued), opened by its
// pick-up code from the kiosk's QR code on a phone without an account. The
// answer carries neither the code nor anything about the owner.
//
// An unknown job, a malformed id, a wrong code and a job without a code all
// get the same 404, so neither ids nor codes can be probed. The code is a
// credential: it is never logged.
func (s *Server) pickup(w http.ResponseWriter, r *http.Request) {
	var body api.PickupRequest
	if apiErr := decodeJSON(r, &body); apiErr != nil {
		writeError(w, apiErr)
		return
	}
	if body.Job == "" || body.Code == "" {
		writeError(w, answerErr(api.CodeInvalidArgument, "job and code are required: the job id and its pick-up code"))
		return
	}
	refused := answerErr(api.CodeNotFound, "no job with this id and pick-up code")
	if jobs.CheckID(body.Job) != nil {
		writeError(w, refused)
		return
	}
	ctx := logging.WithJob(r.Context(), body.Job)
	job, err := s.d.Reader.Job(ctx, body.Job)
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, refused)
		return
	case err != nil:
		writeError(w, s.unavailable(ctx, "read job for pick-up", err))
		return
	case !pickupMatches(job.Request, body.Code, s.d.Now()):
		logging.FromContext(ctx).Info("pick-up code refused")
		writeError(w, refused)
		return
	}
	s.writeJob(w, r.WithContext(ctx), http.StatusOK, job, s.queue(ctx, job), nil)
}
