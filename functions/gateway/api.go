package gateway

import (
	"encoding/json"
	"net/http"

	"github.com/tigerstudio/studio/functions/gateway/api"
)

// apiError is an error answer: its status and its body.
type apiError struct {
	status int
	body   api.Error
}

func (e *apiError) Error() string { return e.body.Code + ": " + e.body.Message }

// answerErr is the error answer with code (api.Status gives its status).
func answerErr(code, msg string) *apiError {
	return &apiError{status: api.Status(code), body: api.Error{Code: code, Message: msg}}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client may be gone; nothing to do then
}

func writeError(w http.ResponseWriter, e *apiError) {
	writeJSON(w, e.status, api.ErrorBody{Error: e.body})
}
