package gateway

import (
	"encoding/json"
	"net/http"
)

// apiError is the error body of DESIGN.md: {"error": {"code", "message"}}.
type apiError struct {
	status  int
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func errInvalid(msg string) *apiError {
	return &apiError{http.StatusBadRequest, "invalid_argument", msg}
}
func errUnauthenticated(msg string) *apiError {
	return &apiError{http.StatusUnauthorized, "unauthenticated", msg}
}
func errForbidden(msg string) *apiError {
	return &apiError{http.StatusForbidden, "permission_denied", msg}
}
func errNotFound(msg string) *apiError { return &apiError{http.StatusNotFound, "not_found", msg} }
func errConflict(msg string) *apiError { return &apiError{http.StatusConflict, "already_exists", msg} }
func errTooLarge(msg string) *apiError {
	return &apiError{http.StatusRequestEntityTooLarge, "too_large", msg}
}
func errMediaType(msg string) *apiError {
	return &apiError{http.StatusUnsupportedMediaType, "unsupported_media_type", msg}
}
func errMismatch(msg string) *apiError {
	return &apiError{http.StatusUnprocessableEntity, "idempotency_mismatch", msg}
}
func errExhausted(msg string) *apiError {
	return &apiError{http.StatusTooManyRequests, "resource_exhausted", msg}
}
func errUnavailable(msg string) *apiError {
	return &apiError{http.StatusServiceUnavailable, "unavailable", msg}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client may be gone; nothing to do then
}

func writeError(w http.ResponseWriter, e *apiError) {
	writeJSON(w, e.status, map[string]*apiError{"error": e})
}
