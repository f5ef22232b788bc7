package gateway

import (
	"net/http"
	"testing"
)

// TestUserTurns: one account holds at most UploadsPerUser submissions
// whose bodies are being read; one more gets 429 at once while another
// account's goes ahead, and a release, even repeated, gives back exactly
// one turn (issue 25: one account's stalled uploads shut everyone out).
// Tested here rather than over HTTP, where a probe and a stalled upload of
// the same account race for the turn.
func TestUserTurns(t *testing.T) {
	s := New(Deps{UploadsPerUser: 2})
	first, err := s.userTurn("hog")
	if err != nil {
		t.Fatal(err)
	}
	second, err := s.userTurn("hog")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.userTurn("hog"); err == nil || err.status != http.StatusTooManyRequests || err.body.Code != "resource_exhausted" {
		t.Fatalf("a third turn of the account: %v, want 429 resource_exhausted", err)
	}
	other, err := s.userTurn("other")
	if err != nil {
		t.Fatalf("another account meanwhile: %v", err)
	}
	other()
	first()
	first() // released twice: still one turn back
	if _, err := s.userTurn("hog"); err != nil {
		t.Fatalf("after a release: %v", err)
	}
	if _, err := s.userTurn("hog"); err == nil {
		t.Fatal("a double release gave back two turns")
	}
	second()
	if n := len(s.userUps); n != 1 {
		t.Errorf("%d accounts counted, want only hog's", n)
	}
	if unbounded := New(Deps{}); unbounded.d.UploadsPerUser == 0 {
		for range 5 {
			if _, err := unbounded.userTurn("hog"); err != nil {
				t.Fatalf("UploadsPerUser 0 bounds: %v", err)
			}
		}
	}
}
