package gateway

import (
	"context"
	"errors"
	"net/http"

	"github.com/tigerstudio/studio/functions/gateway/api"
	"github.com/tigerstudio/studio/infra/appcheck"
	"github.com/tigerstudio/studio/infra/logging"
)

// AppChecker verifies Firebase App Check tokens (appcheck.Verifier).
type AppChecker interface {
	Verify(ctx context.Context, token string) (*appcheck.Claims, error)
}

// appChecked refuses a submission that does not come from the event's web
// app: it must carry an App Check token (X-Firebase-AppCheck) that App
// Check issued to the app after reCAPTCHA Enterprise judged the browser. A
// script making guest accounts gets 401 before its photo is read. With no
// AppChecker (APP_CHECK=off) every request passes.
func (s *Server) appChecked(w http.ResponseWriter, r *http.Request) bool {
	if s.d.AppCheck == nil {
		return true
	}
	claims, err := s.d.AppCheck.Verify(r.Context(), r.Header.Get(appcheck.Header))
	switch {
	case errors.Is(err, appcheck.ErrInvalid):
		logging.FromContext(r.Context()).Info("submission refused by App Check", "reason", err.Error())
		writeError(w, answerErr(api.CodeUnauthenticated, "this request did not come from the event's app (App Check): open the event's link and try again"))
		return false
	case err != nil:
		logging.FromContext(r.Context()).Error("App Check verification failed", "err", err)
		writeError(w, answerErr(api.CodeUnavailable, "could not verify the app; retry later"))
		return false
	}
	logging.FromContext(r.Context()).Debug("App Check passed", "app", claims.Subject)
	return true
}
