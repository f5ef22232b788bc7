package store_test

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/tigerstudio/studio/infra/jobs"
	"github.com/tigerstudio/studio/infra/store"
	"github.com/tigerstudio/studio/infra/testenv"
)

// TestWriterScopes pins each component's writer to the methods DESIGN.md's
// write scopes allow: a new write method is a deliberate change here.
func TestWriterScopes(t *testing.T) {
	tests := []struct {
		writer any
		want   []string
	}{
		{&store.WorkerWriter{}, []string{"Abandon", "Begin", "Fail", "Succeed"}},
	}
	for _, tc := range tests {
		typ := reflect.TypeOf(tc.writer)
		var got []string
		for i := range typ.NumMethod() {
			got = append(got, typ.Method(i).Name)
		}
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s methods = %v, want %v", typ, got, tc.want)
		}
	}
}

// TestWriterScopesOnEmulator runs every write method of each writer against
// the emulator and checks which collections gained a document for the job:
// only the writer's own.
func TestWriterScopesOnEmulator(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	fs := s.Firestore(t)
	ctx := testenv.Ctx(t)
	now := time.Now()
	all := []string{store.Requests, store.Responses, store.Errors, store.Notifications, store.Devices}

	present := func(id string) []string {
		var found []string
		for _, c := range all {
			if snap, err := fs.Collection(c).Doc(id).Get(ctx); err == nil && snap.Exists() {
				found = append(found, c)
			}
		}
		return found
	}
	tests := []struct {
		name  string
		write func(id string) error
		want  []string
	}{
		{"worker", func(id string) error {
			w := store.NewWorkerWriter(fs)
			a, err := w.Begin(ctx, id, now)
			if err != nil {
				return err
			}
			if err := w.Abandon(ctx, id, a); err != nil {
				return err
			}
			if a, err = w.Begin(ctx, id, now); err != nil {
				return err
			}
			if err := w.Succeed(ctx, id, jobs.Response{Attempt: a}); err != nil {
				return err
			}
			other := id + "-f"
			if _, err := w.Begin(ctx, other, now); err != nil {
				return err
			}
			if err := w.Fail(ctx, other, jobs.Failure{Code: "x"}); err != nil {
				return err
			}
			if got := present(other); !slices.Equal(got, []string{store.Responses, store.Errors}) {
				return fmt.Errorf("failed job has %v", got)
			}
			return nil
		}, []string{store.Responses}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := testenv.Unique("scope")
			if err := tc.write(id); err != nil {
				t.Fatal(err)
			}
			if got := present(id); !slices.Equal(got, tc.want) {
				t.Errorf("the %s writer wrote %v, want only %v", tc.name, got, tc.want)
			}
		})
	}
}
