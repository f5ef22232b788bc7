// Package googleapi writes answers as Google's REST APIs do, for the
// stand-ins of those APIs (emulators/vertex, emulators/appcheck), so that
// the clients and SDKs reading them find the shape they read in the cloud.
package googleapi

import (
	"encoding/json"
	"net/http"
)

// WriteJSON answers code with v as JSON.
func WriteJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// Error answers in Google APIs' error shape, {"error": {"code", "message",
// "status"}}, which the SDKs read (the genai SDK into genai.APIError).
func Error(w http.ResponseWriter, code int, status, msg string) {
	WriteJSON(w, code, map[string]any{"error": map[string]any{"code": code, "message": msg, "status": status}})
}
