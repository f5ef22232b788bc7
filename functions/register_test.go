package functions

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestLazy(t *testing.T) {
	tests := []struct {
		name      string
		errs      []error // what successive builds return
		wantCalls int
		wantErr   bool
	}{
		{"built once", []error{nil}, 1, false},
		{"transient failure is retried", []error{errors.New("network"), nil}, 2, false},
		{"configuration error is kept", []error{fmt.Errorf("%w: FOO missing", errConfig), nil}, 1, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			l := &lazy[int]{build: func(context.Context) (int, error) {
				err := tc.errs[min(calls, len(tc.errs)-1)]
				calls++
				if err != nil {
					return 0, err
				}
				return 42, nil
			}}
			var v int
			var err error
			for range 3 {
				v, err = l.get(context.Background())
			}
			if calls != tc.wantCalls || (err != nil) != tc.wantErr || (!tc.wantErr && v != 42) {
				t.Errorf("after 3 gets: %d builds, v=%d, err=%v; want %d builds, error %v", calls, v, err, tc.wantCalls, tc.wantErr)
			}
		})
	}
}
