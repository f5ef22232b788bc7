package gateway

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"

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

// pickupMatches reports whether code is the job's stored pick-up code, in
// time that does not depend on how much of it matches. A request made
// before pick-up codes has none, and nothing matches it.
func pickupMatches(stored, code string) bool {
	return stored != "" && subtle.ConstantTimeCompare([]byte(stored), []byte(code)) == 1
}

// mayPickup reports whether viewer may see j's pick-up code: its owner or
// the staff of its event. An anonymous caller (nil), who opened the job with the code, is
// not given it back, so an answer never spreads it further.
func mayPickup(j store.Job, viewer *auth.User) bool {
	return viewer != nil && (viewer.UID == j.Request.UID || viewer.StaffOf(j.Request.Event))
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
		writeError(w, errInvalid("job and code are required: the job id and its pick-up code"))
		return
	}
	refused := errNotFound("no job with this id and pick-up code")
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
	case !pickupMatches(job.Request.Pickup, body.Code):
		logging.FromContext(ctx).Info("pick-up code refused")
		writeError(w, refused)
		return
	}
	s.writeJob(w, r.WithContext(ctx), http.StatusOK, job, s.queue(ctx, job), nil)
}
