package notifydb_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/tigerstudio/studio/functions/notify/internal/notifydb"
	"github.com/tigerstudio/studio/infra/testenv"
)

// TestWriteScope pins Notify's writer to the writes DESIGN.md allows it.
func TestWriteScope(t *testing.T) {
	want := []string{"Attempt", "Claim", "Complete", "MarkSent", "Release", "RemoveDeviceTokens"}
	if got := testenv.Methods(&notifydb.Writer{}); !slices.Equal(got, want) {
		t.Errorf("notifydb.Writer methods = %v, want %v", got, want)
	}
}

// TestWriteScopeOnEmulator runs every write method on a database of the
// test's own and reads the whole database back after each: each touches
// only the job's notification document.
func TestWriteScopeOnEmulator(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	fs := s.OwnFirestore(t)
	ctx := testenv.Ctx(t)
	n := notifydb.NewWriter(fs)
	now := time.Now()
	var c notifydb.Claim
	// Another user's devices, which removing u1's tokens must not touch.
	for _, uid := range []string{"u1", "u2"} {
		if _, err := fs.Collection("devices").Doc(uid).Set(ctx, map[string]any{"tokens": []string{"stale", "fresh"}}); err != nil {
			t.Fatal(err)
		}
	}
	claim := func() (err error) {
		c, err = n.Claim(ctx, "job", nil, now, time.Minute)
		return err
	}
	for _, step := range []struct {
		name  string
		write func() error
		want  []string
	}{
		{"Claim", claim, []string{"notifications/job"}},
		{"Attempt", func() error { return n.Attempt(ctx, "job", c.Token, "sms") }, []string{"notifications/job"}},
		{"MarkSent", func() error { return n.MarkSent(ctx, "job", c.Token, "email") }, []string{"notifications/job"}},
		{"RemoveDeviceTokens", func() error { return n.RemoveDeviceTokens(ctx, "u1", []string{"stale"}) }, []string{"devices/u1"}},
		{"Release", func() error { return n.Release(ctx, "job", c.Token) }, []string{"notifications/job"}},
		{"Claim again", claim, []string{"notifications/job"}},
		{"Complete", func() error { return n.Complete(ctx, "job", c.Token, now) }, []string{"notifications/job"}},
	} {
		if got := testenv.Touched(t, fs, step.write); !slices.Equal(got, step.want) {
			t.Errorf("%s touched %v, want %v", step.name, got, step.want)
		}
	}
}

func TestLease(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	w := notifydb.NewWriter(s.Firestore(t))
	ctx := testenv.Ctx(t)
	id := testenv.Unique("job")
	now := time.Now()
	lease := time.Minute

	first, err := w.Claim(ctx, id, nil, now, lease)
	if err != nil || len(first.Sent) != 0 || first.Token == "" {
		t.Fatalf("first Claim = %+v, %v", first, err)
	}
	if _, err := w.Claim(ctx, id, nil, now, lease); !errors.Is(err, notifydb.ErrClaimed) {
		t.Errorf("second Claim = %v, want ErrClaimed", err)
	}
	if err := w.MarkSent(ctx, id, first.Token, "email"); err != nil {
		t.Fatal(err)
	}
	// The holder stalled: once the lease is over, another delivery takes it
	// and learns what was already sent; the stalled one can no longer write.
	second, err := w.Claim(ctx, id, nil, now.Add(2*lease), lease)
	if err != nil || len(second.Sent) != 1 || second.Sent[0] != "email" {
		t.Fatalf("Claim after the lease = %+v, %v; want [email] sent", second, err)
	}
	for name, write := range map[string]func() error{
		"MarkSent": func() error { return w.MarkSent(ctx, id, first.Token, "push") },
		"Complete": func() error { return w.Complete(ctx, id, first.Token, now) },
		"Release":  func() error { return w.Release(ctx, id, first.Token) },
	} {
		if err := write(); !errors.Is(err, notifydb.ErrClaimLost) {
			t.Errorf("%s by the stale holder = %v, want ErrClaimLost", name, err)
		}
	}
	if err := w.Release(ctx, id, second.Token); err != nil {
		t.Fatal(err)
	}
	third, err := w.Claim(ctx, id, nil, now, lease)
	if err != nil {
		t.Fatalf("Claim after Release: %v", err)
	}
	if err := w.Complete(ctx, id, third.Token, now); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Claim(ctx, id, nil, now.Add(time.Hour), lease); !errors.Is(err, notifydb.ErrAlreadySent) {
		t.Errorf("Claim after Complete = %v, want ErrAlreadySent", err)
	}
}

// TestRemoveDeviceTokens removes exactly the rejected tokens and keeps the
// rest, including one registered after the send; an owner without a
// devices document is no error.
func TestRemoveDeviceTokens(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	fs := s.Firestore(t)
	w := notifydb.NewWriter(fs)
	ctx := testenv.Ctx(t)
	tests := []struct {
		name           string
		tokens, remove []string
		want           []string
	}{
		{"one of three", []string{"a", "b", "c"}, []string{"b"}, []string{"a", "c"}},
		{"all", []string{"a", "b"}, []string{"a", "b"}, []string{}},
		{"none known", []string{"a"}, []string{"z"}, []string{"a"}},
		{"no document", nil, []string{"a"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			uid := testenv.Unique("uid")
			ref := fs.Collection("devices").Doc(uid)
			if tc.tokens != nil {
				if _, err := ref.Set(ctx, map[string]any{"tokens": tc.tokens}); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.RemoveDeviceTokens(ctx, uid, tc.remove); err != nil {
				t.Fatal(err)
			}
			snap, err := ref.Get(ctx)
			if tc.want == nil {
				if snap.Exists() {
					t.Errorf("devices/%s was created", uid)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var d struct {
				Tokens []string `firestore:"tokens"`
			}
			if err := snap.DataTo(&d); err != nil {
				t.Fatal(err)
			}
			if len(d.Tokens) != len(tc.want) || (len(d.Tokens) > 0 && !slices.Equal(d.Tokens, tc.want)) {
				t.Errorf("tokens = %v, want %v", d.Tokens, tc.want)
			}
		})
	}
}
