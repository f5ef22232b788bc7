package bridge

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/firestore/apiv1/firestorepb"
	"google.golang.org/protobuf/proto"

	"github.com/tigerstudio/studio/infra/firestoreevent"
)

func openTestState(t *testing.T, path string, colls ...string) *state {
	t.Helper()
	s, warnings, err := openState(path, colls)
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) > 0 {
		t.Errorf("warnings opening a sound state: %q", warnings)
	}
	return s
}

func closeState(t *testing.T, s *state) {
	t.Helper()
	if err := s.close(); err != nil {
		t.Fatal(err)
	}
}

// checkDocs compares a collection's last versions seen with want.
func checkDocs(t *testing.T, s *state, coll string, want map[string]*firestorepb.Document) {
	t.Helper()
	got, _, ok := s.known(coll)
	if !ok {
		t.Fatalf("collection %s unknown", coll)
	}
	if len(got) != len(want) {
		t.Errorf("%s: %d documents, want %d", coll, len(got), len(want))
	}
	for p, w := range want {
		if !proto.Equal(got[p], w) {
			t.Errorf("%s: %v, want %v", p, got[p], w)
		}
	}
}

// checkOutbox compares a collection's outbox with want.
func checkOutbox(t *testing.T, s *state, coll string, want []pendingChange) {
	t.Helper()
	_, got, _ := s.known(coll)
	if len(got) != len(want) {
		t.Fatalf("%s: outbox of %d changes, want %d", coll, len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.seq != w.seq || g.c.path != w.c.path || !g.c.at.Equal(w.c.at) ||
			!proto.Equal(g.c.old, w.c.old) || !proto.Equal(g.c.new, w.c.new) {
			t.Errorf("outbox[%d] = %d %s old=%v new=%v at=%v, want %d %s old=%v new=%v at=%v", i,
				g.seq, g.c.path, g.c.old != nil, g.c.new != nil, g.c.at, w.seq, w.c.path, w.c.old != nil, w.c.new != nil, w.c.at)
		}
	}
}

func TestStateRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	a1 := doc(t, "c/a", 1, 1, map[string]any{"state": "running"})
	a2 := doc(t, "c/a", 1, 2, map[string]any{"state": "succeeded"})
	b := doc(t, "c/b", 1, 1, nil)
	n := doc(t, "c/new", 3, 3, map[string]any{"x": 1})
	other := doc(t, "o/x", 1, 1, nil)

	s := openTestState(t, path, "c", "o")
	if _, _, ok := s.known("c"); ok {
		t.Fatal("a new state knows collection c")
	}
	if err := s.baseline("c", map[string]*firestorepb.Document{"c/a": a1, "c/b": b}); err != nil {
		t.Fatal(err)
	}
	if err := s.baseline("o", map[string]*firestorepb.Document{"o/x": other}); err != nil {
		t.Fatal(err)
	}
	deleteB := change{path: "c/b", old: b, at: t0.Add(5 * time.Second)}
	var seqs []uint64
	for _, c := range []change{
		{path: "c/a", old: a1, new: a2, at: t0.Add(2 * time.Second)},
		deleteB,
		{path: "c/new", new: n, at: t0.Add(3 * time.Second)},
	} {
		seq, err := s.queue(c)
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, seq)
	}
	// The delete of b is not accepted yet.
	for _, seq := range []uint64{seqs[0], seqs[2]} {
		if err := s.accepted(seq); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]*firestorepb.Document{"c/a": a2, "c/new": n}
	wantOutbox := []pendingChange{{seq: seqs[1], c: deleteB}}
	checkDocs(t, s, "c", want)
	checkOutbox(t, s, "c", wantOutbox)
	closeState(t, s)

	s = openTestState(t, path, "c", "o")
	checkDocs(t, s, "c", want)
	checkOutbox(t, s, "c", wantOutbox)
	checkDocs(t, s, "o", map[string]*firestorepb.Document{"o/x": other})
	// Sequence numbers go on from the journal's.
	if seq, err := s.queue(change{path: "c/x", new: n, at: t0}); err != nil || seq <= seqs[2] {
		t.Errorf("queue after reopening: seq %d, %v; want more than %d", seq, err, seqs[2])
	}
	closeState(t, s)

	// A collection no longer watched is forgotten.
	s = openTestState(t, path, "c")
	closeState(t, s)
	s = openTestState(t, path, "c", "o")
	if _, _, ok := s.known("o"); ok {
		t.Error("collection o survived a run that did not watch it")
	}
	closeState(t, s)
}

// TestStateDamage covers journals a crash or a stranger left behind.
func TestStateDamage(t *testing.T) {
	a := doc(t, "c/a", 1, 1, map[string]any{"n": 1})
	b := doc(t, "c/b", 1, 1, map[string]any{"n": 2})
	// sound writes a journal with c's baseline {a} and then the queued
	// creation of b, and returns its bytes and where that record starts.
	sound := func(t *testing.T, path string) ([]byte, int) {
		s := openTestState(t, path, "c")
		if err := s.baseline("c", map[string]*firestorepb.Document{"c/a": a}); err != nil {
			t.Fatal(err)
		}
		before, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.queue(change{path: "c/b", new: b, at: t0}); err != nil {
			t.Fatal(err)
		}
		closeState(t, s)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return data, len(before)
	}
	for _, tc := range []struct {
		name    string
		damage  func(data []byte, last int) []byte
		want    map[string]*firestorepb.Document // nil: open fails
		warning string
	}{
		{
			name:   "sound",
			damage: func(data []byte, _ int) []byte { return data },
			want:   map[string]*firestorepb.Document{"c/a": a, "c/b": b},
		},
		{
			name:    "last record cut short",
			damage:  func(data []byte, _ int) []byte { return data[:len(data)-3] },
			want:    map[string]*firestorepb.Document{"c/a": a},
			warning: "cut short",
		},
		{
			name: "last record corrupt",
			damage: func(data []byte, last int) []byte {
				data[last+5] ^= 0xff
				return data
			},
			want:    map[string]*firestorepb.Document{"c/a": a},
			warning: "bad checksum",
		},
		{
			name:   "not a state file",
			damage: func([]byte, int) []byte { return []byte("{\"hello\": 1}\n") },
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state")
			data, last := sound(t, path)
			if err := os.WriteFile(path, tc.damage(data, last), 0o600); err != nil {
				t.Fatal(err)
			}
			s, warnings, err := openState(path, []string{"c"})
			if tc.want == nil {
				if err == nil {
					s.close()
					t.Fatal("openState accepted a foreign file")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(warnings, "; "); tc.warning == "" && got != "" || !strings.Contains(got, tc.warning) {
				t.Errorf("warnings %q, want one about %q", got, tc.warning)
			}
			checkDocs(t, s, "c", tc.want)
			closeState(t, s)
			// Opening compacted the file: the damage is gone.
			s = openTestState(t, path, "c")
			checkDocs(t, s, "c", tc.want)
			closeState(t, s)
		})
	}
}

func TestStateIsLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	s := openTestState(t, path, "c")
	if s2, _, err := openState(path, []string{"c"}); !errors.Is(err, errStateInUse) {
		if err == nil {
			s2.close()
		}
		t.Fatalf("second open: %v, want %v", err, errStateInUse)
	}
	closeState(t, s)
	closeState(t, openTestState(t, path, "c"))
}

// TestStateStaysBounded checks that the journal is compacted as it grows.
func TestStateStaysBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	s := openTestState(t, path, "c")
	defer closeState(t, s)
	if err := s.baseline("c", nil); err != nil {
		t.Fatal(err)
	}
	const docs = 10
	var one int // the size of the biggest record
	for i := range 20 * compactMin {
		p := fmt.Sprintf("c/d%d", i%docs)
		c := change{path: p, new: doc(t, p, 1, i+1, map[string]any{"n": i}), at: t0}
		seq, err := s.queue(c)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.accepted(seq); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			b, _ := encodeChange(nil, seq, c)
			one = len(b) + 16
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if limit := int64((compactMin + docs + 1) * one); fi.Size() > limit {
		t.Errorf("journal of %d documents after %d events is %d bytes, want at most %d", docs, 20*compactMin, fi.Size(), limit)
	}
}

// BenchmarkStateEvent measures what the state costs per event (queued,
// then accepted), with states of 100 and 5000 documents of about the size
// of a response document; the compactions it triggers are included.
func BenchmarkStateEvent(b *testing.B) {
	for _, n := range []int{100, 5000} {
		b.Run(fmt.Sprint(n, "docs"), func(b *testing.B) {
			s, _, err := openState(filepath.Join(b.TempDir(), "state"), []string{"responses"})
			if err != nil {
				b.Fatal(err)
			}
			defer s.close()
			docs := make([]*firestorepb.Document, n)
			for i := range docs {
				docs[i] = benchDoc(b, i, 1)
			}
			base := map[string]*firestorepb.Document{}
			for i, d := range docs {
				base[fmt.Sprintf("responses/job-%d", i)] = d
			}
			if err := s.baseline("responses", base); err != nil {
				b.Fatal(err)
			}
			update := benchDoc(b, 0, 2)
			b.ResetTimer()
			for i := range b.N {
				seq, err := s.queue(change{path: fmt.Sprintf("responses/job-%d", i%n), old: docs[i%n], new: update, at: t0})
				if err != nil {
					b.Fatal(err)
				}
				if err := s.accepted(seq); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func benchDoc(tb testing.TB, i, version int) *firestorepb.Document {
	tb.Helper()
	d, err := firestoreevent.Document(fmt.Sprintf("projects/p/databases/(default)/documents/responses/job-%d", i), map[string]any{
		"state": "succeeded", "attempt": 1, "backend": "onnx", "style": "studio-headshot",
		"output":  fmt.Sprintf("gs://tiger-output/u/user-%d/job-%d/result.jpg", i, i),
		"timings": map[string]any{"queuedMs": 1200, "decodeMs": 40, "generateMs": 5400, "encodeMs": 60},
	}, t0, t0.Add(time.Duration(version)*time.Second))
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

// BenchmarkStateCompact measures one compaction of a state of 5000 response
// documents: what rewriting the whole file after every event would cost.
func BenchmarkStateCompact(b *testing.B) {
	path := filepath.Join(b.TempDir(), "state")
	s, _, err := openState(path, []string{"responses"})
	if err != nil {
		b.Fatal(err)
	}
	defer s.close()
	base := map[string]*firestorepb.Document{}
	for i := range 5000 {
		base[fmt.Sprintf("responses/job-%d", i)] = benchDoc(b, i, 1)
	}
	if err := s.baseline("responses", base); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		s.mu.Lock()
		err := s.compact()
		s.mu.Unlock()
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if fi, err := os.Stat(path); err == nil {
		b.ReportMetric(float64(fi.Size()), "file-bytes")
	}
}
