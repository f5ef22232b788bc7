package jobs

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestStatusOf(t *testing.T) {
	running := &Response{State: StateRunning}
	done := &Response{State: StateSucceeded}
	failure := &Failure{Code: "internal"}
	tests := []struct {
		name    string
		resp    *Response
		failure *Failure
		want    Status
	}{
		{"nothing yet", nil, nil, Queued},
		{"running", running, nil, Running},
		{"succeeded", done, nil, Succeeded},
		{"error document wins over running", running, failure, Failed},
		{"error document wins over succeeded", done, failure, Failed},
		{"unknown state is queued", &Response{State: "weird"}, nil, Queued},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := StatusOf(tc.resp, tc.failure); got != tc.want {
				t.Errorf("StatusOf = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestParsePriority(t *testing.T) {
	tests := []struct {
		in      string
		want    Priority
		wantErr bool
	}{
		{"", Online, false},
		{"online", Online, false},
		{"booth", Booth, false},
		{"BOOTH", "", true},
		{"vip", "", true},
	}
	for _, tc := range tests {
		got, err := ParsePriority(tc.in)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("ParsePriority(%q) = %q, %v; want %q, err=%v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestMessageValidate(t *testing.T) {
	ok := Message{JobID: "j", Event: "e", Priority: Online}
	tests := []struct {
		name    string
		mutate  func(*Message)
		wantErr bool
	}{
		{"valid", func(*Message) {}, false},
		{"no job id", func(m *Message) { m.JobID = "" }, true},
		{"default priority", func(m *Message) { m.Priority = "" }, false},
		{"id with a slash", func(m *Message) { m.JobID = "a/b" }, true},
		{"reserved id", func(m *Message) { m.JobID = "__x__" }, true},
		{"dot id", func(m *Message) { m.JobID = ".." }, true},
		{"5 MB id", func(m *Message) { m.JobID = strings.Repeat("x", 5<<20) }, true},
		{"not UTF-8", func(m *Message) { m.JobID = "\xff" }, true},
		{"bad priority", func(m *Message) { m.Priority = "vip" }, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := ok
			tc.mutate(&m)
			if err := m.Validate(); (err != nil) != tc.wantErr {
				t.Errorf("Validate() = %v, wantErr %v", err, tc.wantErr)
			}
		})
	}
}

func TestCheckIDBoundsItsMessage(t *testing.T) {
	err := CheckID(strings.Repeat("x", 5<<20))
	if err == nil || len(err.Error()) > 200 {
		t.Fatalf("CheckID(5 MB) = %d-byte error, want a short one", len(fmt.Sprint(err)))
	}
}

func TestQueuedBy(t *testing.T) {
	enq := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	started := enq.Add(2 * time.Second)
	for _, c := range []struct {
		name string
		req  Request
		want time.Time
	}{
		{"the Gateway's mark", Request{EnqueuedAt: &enq}, enq},
		{"not marked yet: the start", Request{}, started},
		{"a zero mark: the start", Request{EnqueuedAt: &time.Time{}}, started},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := c.req.QueuedBy(started); got == nil || !got.Equal(c.want) {
				t.Errorf("QueuedBy = %v, want %v", got, c.want)
			}
		})
	}
}
