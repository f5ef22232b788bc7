package store_test

import (
	"testing"
	"time"

	"github.com/tigerstudio/studio/infra/store"
)

func TestBusyPace(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	span := func(start, end int) store.Span { return store.Span{Start: at(start), End: at(end)} }
	for _, c := range []struct {
		name  string
		spans []store.Span
		want  time.Duration
	}{
		{"none", nil, 0},
		{"one after the other", []store.Span{span(0, 10), span(10, 20), span(20, 30)}, 10 * time.Second},
		{"two slots in parallel", []store.Span{span(0, 10), span(0, 10), span(10, 20), span(10, 20)}, 5 * time.Second},
		// Idle time between visitors is not the queue's pace: a job every
		// 10 s of work, even with 10 minutes between two of them.
		{"an idle gap", []store.Span{span(0, 10), span(600, 610)}, 10 * time.Second},
		{"overlapping, unsorted", []store.Span{span(5, 20), span(0, 10), span(18, 24)}, 8 * time.Second},
		// Without startedAt, a span runs from the previous completion.
		{"no starts", []store.Span{{End: at(10)}, {End: at(30)}, {End: at(50)}}, time.Duration(40) * time.Second / 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := store.BusyPace(c.spans); got != c.want {
				t.Errorf("BusyPace = %v, want %v", got, c.want)
			}
		})
	}
}

func TestMeanSpan(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	for _, c := range []struct {
		name  string
		spans []store.Span
		want  time.Duration
	}{
		{"none", nil, 0},
		{"two slots in parallel", []store.Span{{Start: at(0), End: at(20)}, {Start: at(0), End: at(20)}, {Start: at(20), End: at(40)}}, 20 * time.Second},
		{"uneven", []store.Span{{Start: at(0), End: at(10)}, {Start: at(0), End: at(30)}}, 20 * time.Second},
		// A document without startedAt tells no generation time.
		{"no starts", []store.Span{{End: at(10)}, {Start: at(0), End: at(12)}}, 12 * time.Second},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := store.MeanSpan(c.spans); got != c.want {
				t.Errorf("MeanSpan = %v, want %v", got, c.want)
			}
		})
	}
}
