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
	// Reason, when set, says which limit refused the request, for a client
	// that acts on it (like google.rpc.ErrorInfo's reason): an addition to
	// DESIGN.md's {code, message}, which clients may ignore.
	Reason string `json:"reason,omitempty"`
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func errInvalid(msg string) *apiError {
	return &apiError{status: http.StatusBadRequest, Code: "invalid_argument", Message: msg}
}
func errUnauthenticated(msg string) *apiError {
	return &apiError{status: http.StatusUnauthorized, Code: "unauthenticated", Message: msg}
}
func errForbidden(msg string) *apiError {
	return &apiError{status: http.StatusForbidden, Code: "permission_denied", Message: msg}
}
func errNotFound(msg string) *apiError {
	return &apiError{status: http.StatusNotFound, Code: "not_found", Message: msg}
}
func errConflict(msg string) *apiError {
	return &apiError{status: http.StatusConflict, Code: "already_exists", Message: msg}
}
func errTooLarge(msg string) *apiError {
	return &apiError{status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: msg}
}
func errMediaType(msg string) *apiError {
	return &apiError{status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type", Message: msg}
}
func errMismatch(msg string) *apiError {
	return &apiError{status: http.StatusUnprocessableEntity, Code: "idempotency_mismatch", Message: msg}
}
func errExhausted(msg string) *apiError {
	return &apiError{status: http.StatusTooManyRequests, Code: "resource_exhausted", Message: msg}
}
func errUnavailable(msg string) *apiError {
	return &apiError{status: http.StatusServiceUnavailable, Code: "unavailable", Message: msg}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client may be gone; nothing to do then
}

func writeError(w http.ResponseWriter, e *apiError) {
	writeJSON(w, e.status, map[string]*apiError{"error": e})
}
