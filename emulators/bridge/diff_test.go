package bridge

import (
	"slices"
	"testing"
	"time"

	"cloud.google.com/go/firestore/apiv1/firestorepb"

	"github.com/tigerstudio/studio/infra/firestoreevent"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func doc(t *testing.T, path string, created, updated int, fields map[string]any) *firestorepb.Document {
	t.Helper()
	d, err := firestoreevent.Document("projects/p/databases/(default)/documents/"+path, fields,
		t0.Add(time.Duration(created)*time.Second), t0.Add(time.Duration(updated)*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestDiff covers what a re-established listener emits for the changes it
// missed.
func TestDiff(t *testing.T) {
	at := t0.Add(time.Hour)
	same := doc(t, "c/same", 1, 1, map[string]any{"a": 1})
	old := doc(t, "c/mod", 1, 1, map[string]any{"a": 1})
	mod := doc(t, "c/mod", 1, 2, map[string]any{"a": 2})
	gone := doc(t, "c/gone", 1, 1, nil)
	added := doc(t, "c/new", 3, 3, map[string]any{"b": true})
	recreatedOld := doc(t, "c/re", 1, 1, map[string]any{"a": 1})
	recreated := doc(t, "c/re", 4, 4, map[string]any{"a": 1})

	cache := map[string]*firestorepb.Document{"c/same": same, "c/mod": old, "c/gone": gone, "c/re": recreatedOld}
	current := map[string]*firestorepb.Document{"c/same": same, "c/mod": mod, "c/new": added, "c/re": recreated}
	got := diff(cache, current, at)

	type want struct {
		path     string
		old, new *firestorepb.Document
		at       time.Time
	}
	wants := []want{
		{"c/gone", gone, nil, at},
		{"c/mod", old, mod, t0.Add(2 * time.Second)},
		{"c/new", nil, added, t0.Add(3 * time.Second)},
		{"c/re", recreatedOld, nil, at},
		{"c/re", nil, recreated, t0.Add(4 * time.Second)},
	}
	if len(got) != len(wants) {
		t.Fatalf("diff gave %d changes, want %d: %+v", len(got), len(wants), got)
	}
	for i, w := range wants {
		g := got[i]
		if g.path != w.path || g.old != w.old || g.new != w.new || !g.at.Equal(w.at) {
			t.Errorf("change %d = {%s old=%v new=%v at=%v}, want {%s old=%v new=%v at=%v}",
				i, g.path, g.old != nil, g.new != nil, g.at, w.path, w.old != nil, w.new != nil, w.at)
		}
	}
	if got := diff(cache, cache, at); len(got) != 0 {
		t.Errorf("diff of a state with itself: %+v", got)
	}
}

func TestUpdateMask(t *testing.T) {
	for name, tc := range map[string]struct {
		old, new map[string]any
		want     []string
	}{
		"changed":   {map[string]any{"a": 1, "b": "x"}, map[string]any{"a": 2, "b": "x"}, []string{"a"}},
		"added":     {map[string]any{"a": 1}, map[string]any{"a": 1, "b": 1}, []string{"b"}},
		"removed":   {map[string]any{"a": 1, "b": 1}, map[string]any{"a": 1}, []string{"b"}},
		"nested":    {map[string]any{"m": map[string]any{"x": 1}}, map[string]any{"m": map[string]any{"x": 2}}, []string{"m"}},
		"type":      {map[string]any{"a": int64(1)}, map[string]any{"a": 1.0}, []string{"a"}},
		"unchanged": {map[string]any{"a": []any{1, "x"}}, map[string]any{"a": []any{1, "x"}}, nil},
	} {
		got := updateMask(doc(t, "c/d", 1, 1, tc.old), doc(t, "c/d", 1, 2, tc.new))
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: mask %v, want %v", name, got, tc.want)
		}
	}
}

func TestEventIDs(t *testing.T) {
	a := doc(t, "c/d", 1, 1, nil)
	b := doc(t, "c/d", 1, 2, nil)
	ids := map[string]bool{}
	for _, c := range []change{
		{path: "c/d", new: a, at: t0},
		{path: "c/d", old: a, new: b, at: t0.Add(time.Second)},
		{path: "c/d", old: b, at: t0.Add(2 * time.Second)},
		{path: "c/e", new: a, at: t0},
	} {
		id := eventID(c)
		if ids[id] {
			t.Errorf("duplicate event id %s", id)
		}
		ids[id] = true
		if eventID(c) != id {
			t.Errorf("event id of the same change differs")
		}
	}
}

func TestJitter(t *testing.T) {
	for range 1000 {
		if d := jitter(time.Second); d < 500*time.Millisecond || d >= time.Second {
			t.Fatalf("jitter(1s) = %v", d)
		}
	}
}
