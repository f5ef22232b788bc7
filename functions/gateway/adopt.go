package gateway

import (
	"errors"
	"net/http"

	"github.com/tigerstudio/studio/functions/gateway/api"
	"github.com/tigerstudio/studio/infra/auth"
	"github.com/tigerstudio/studio/infra/logging"
)

// adoptJobs moves a guest's jobs to the signed-in account: POST
// /v1/jobs:adopt {"guestToken": "<the guest's ID token>"}.
//
// A guest who signs in keeps their jobs when the app can link the new
// credential to the anonymous account (same uid). When the email or Google
// account already exists, Firebase cannot merge the two accounts: the app
// signs in to the existing one and hands over the guest's ID token, which
// proves it held the guest account. Only a guest's jobs can be adopted
// (never a real account's, even with its token), only by a real account.
func (s *Server) adoptJobs(w http.ResponseWriter, r *http.Request, user auth.User) {
	var body struct {
		GuestToken string `json:"guestToken"`
	}
	if err := decodeJSON(r, &body); err != nil {
		writeError(w, err)
		return
	}
	if body.GuestToken == "" {
		writeError(w, answerErr(api.CodeInvalidArgument, "guestToken: the guest's Firebase ID token is required"))
		return
	}
	if user.Anonymous {
		writeError(w, answerErr(api.CodePermissionDenied, "sign in with an email or Google account to take over a guest's photos"))
		return
	}
	guest, err := s.d.Verifier.Verify(r.Context(), body.GuestToken)
	switch {
	case errors.Is(err, auth.ErrInvalidToken):
		logging.FromContext(r.Context()).Info("rejected guest token", "reason", err.Error())
		writeError(w, answerErr(api.CodeInvalidArgument, "guestToken: invalid, expired or revoked ID token"))
		return
	case err != nil:
		logging.FromContext(r.Context()).Error("guest token verification failed", "err", err)
		writeError(w, answerErr(api.CodeUnavailable, "could not verify the guest's token; retry later"))
		return
	case !guest.Anonymous:
		writeError(w, answerErr(api.CodePermissionDenied, "guestToken: only a guest's photos can be taken over"))
		return
	case guest.UID == user.UID:
		writeJSON(w, http.StatusOK, map[string]any{"moved": 0})
		return
	}
	// The token may predate the guest's linking to an email or Google
	// account (it says "anonymous" for its hour): that account's jobs are
	// no longer a guest's to give.
	still, err := s.d.Verifier.StillGuest(r.Context(), guest.UID)
	if err != nil {
		logging.FromContext(r.Context()).Error("guest account lookup failed", "err", err)
		writeError(w, answerErr(api.CodeUnavailable, "could not verify the guest's account; retry later"))
		return
	}
	if !still {
		writeError(w, answerErr(api.CodePermissionDenied, "guestToken: that account is no longer a guest's"))
		return
	}
	moved, err := s.d.Writer.MoveRequests(r.Context(), guest.UID, user.UID)
	log := logging.FromContext(r.Context()).With("guest", guest.UID, "moved", moved)
	if err != nil {
		// What moved stays moved; the retry moves the rest.
		log.Error("adopt guest jobs", "err", err)
		writeError(w, answerErr(api.CodeUnavailable, "could not move every photo; retry to move the rest"))
		return
	}
	log.Info("adopted guest jobs")
	writeJSON(w, http.StatusOK, map[string]any{"moved": moved})
}
