package worker

import "testing"

func TestOutputNames(t *testing.T) {
	for _, a := range []int{1, 2, 17} {
		name := outputName("0b6c-4f1e", "sketch", a, 3)
		got, ok := attemptOfOutput(name)
		if !ok || got != a {
			t.Errorf("attemptOfOutput(%q) = %d, %v; want %d", name, got, ok, a)
		}
	}
	for _, name := range []string{"job/input.jpg", "job/notes.txt", "job/x-ab-1.jpg", "job/a1.jpg"} {
		if a, ok := attemptOfOutput(name); ok {
			t.Errorf("attemptOfOutput(%q) = %d, want no attempt", name, a)
		}
	}
}
