package googleapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestError(t *testing.T) {
	w := httptest.NewRecorder()
	Error(w, http.StatusTooManyRequests, "RESOURCE_EXHAUSTED", "try later")
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Content-Type") != "application/json; charset=UTF-8" {
		t.Fatalf("code %d, content type %q", w.Code, w.Header().Get("Content-Type"))
	}
	var body struct {
		Error struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
			Status  string `json:"status"`
		} `json:"error"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if e := body.Error; e.Code != 429 || e.Status != "RESOURCE_EXHAUSTED" || e.Message != "try later" {
		t.Fatalf("error body %+v", e)
	}
}
