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

func newError(status int, code, msg string) *apiError {
	return &apiError{status: status, body: api.Error{Code: code, Message: msg}}
}

func errInvalid(msg string) *apiError {
	return newError(http.StatusBadRequest, api.CodeInvalidArgument, msg)
}
func errUnauthenticated(msg string) *apiError {
	return newError(http.StatusUnauthorized, api.CodeUnauthenticated, msg)
}
func errForbidden(msg string) *apiError {
	return newError(http.StatusForbidden, api.CodePermissionDenied, msg)
}
func errNotFound(msg string) *apiError { return newError(http.StatusNotFound, api.CodeNotFound, msg) }
func errConflict(msg string) *apiError {
	return newError(http.StatusConflict, api.CodeAlreadyExists, msg)
}
func errTooLarge(msg string) *apiError {
	return newError(http.StatusRequestEntityTooLarge, api.CodeTooLarge, msg)
}
func errMediaType(msg string) *apiError {
	return newError(http.StatusUnsupportedMediaType, api.CodeUnsupportedMedia, msg)
}
func errMismatch(msg string) *apiError {
	return newError(http.StatusUnprocessableEntity, api.CodeIdempotencyMismatch, msg)
}
func errExhausted(msg string) *apiError {
	return newError(http.StatusTooManyRequests, api.CodeResourceExhausted, msg)
}
func errUnavailable(msg string) *apiError {
	return newError(http.StatusServiceUnavailable, api.CodeUnavailable, msg)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client may be gone; nothing to do then
}

func writeError(w http.ResponseWriter, e *apiError) {
	writeJSON(w, e.status, api.ErrorBody{Error: e.body})
}
