package functions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
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

// lazyConfig stands for a function's Config in TestNewLazy.
type lazyConfig struct {
	Name     string `env:"TEST_LAZY_NAME"`
	LogLevel string `env:"TEST_LAZY_LEVEL, default=info"`
}

func (c *lazyConfig) Validate() error {
	if c.Name == "" {
		return errors.New("TEST_LAZY_NAME is required")
	}
	return nil
}

func (c *lazyConfig) Level() (slog.Level, error) {
	var l slog.Level
	return l, l.UnmarshalText([]byte(c.LogLevel))
}

func TestNewLazy(t *testing.T) {
	tests := []struct {
		name       string
		env        string // TEST_LAZY_NAME
		wantBuilds int
		wantErr    error
	}{
		{"builds from the environment", "gateway", 1, nil},
		{"an invalid environment is a configuration error, never built", "", 0, errConfig},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("TEST_LAZY_NAME", tc.env)
			builds := 0
			l := newLazy(func(_ context.Context, cfg *lazyConfig, log *slog.Logger) (string, error) {
				builds++
				if log == nil {
					t.Error("built without a logger")
				}
				return "built " + cfg.Name, nil
			})
			var v string
			var err error
			for range 2 {
				v, err = l.get(context.Background())
			}
			if builds != tc.wantBuilds || !errors.Is(err, tc.wantErr) {
				t.Fatalf("after 2 gets: %d builds, err %v; want %d, %v", builds, err, tc.wantBuilds, tc.wantErr)
			}
			if tc.wantErr == nil && v != "built "+tc.env {
				t.Errorf("got %q, want the service built from TEST_LAZY_NAME=%q", v, tc.env)
			}
		})
	}
}

func TestRunScheduled(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		pass       error
		wantStatus int
		wantRan    bool
	}{
		{"a pass", http.MethodPost, nil, http.StatusOK, true},
		{"a failed pass is a 500, for the scheduler to retry", http.MethodPost, errors.New("firestore down"), http.StatusInternalServerError, true},
		{"not a POST", http.MethodGet, nil, http.StatusMethodNotAllowed, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ran := false
			rec := httptest.NewRecorder()
			runScheduled(rec, httptest.NewRequest(tc.method, "/", nil), func(context.Context) (any, error) {
				ran = true
				return map[string]int{"published": 2}, tc.pass
			})
			if rec.Code != tc.wantStatus || ran != tc.wantRan {
				t.Fatalf("status %d ran %v, want %d ran %v", rec.Code, ran, tc.wantStatus, tc.wantRan)
			}
			if allow := rec.Header().Get("Allow"); (tc.wantStatus == http.StatusMethodNotAllowed) != (allow == http.MethodPost) {
				t.Errorf("status %d with Allow %q; a 405 names POST, nothing else does", rec.Code, allow)
			}
			if tc.wantRan {
				var body struct {
					OK     bool           `json:"ok"`
					Report map[string]int `json:"report"`
				}
				if err := json.NewDecoder(rec.Body).Decode(&body); err != nil || body.OK != (tc.pass == nil) || body.Report["published"] != 2 {
					t.Errorf("body %+v, %v", body, err)
				}
			}
		})
	}
}

func TestScheduled(t *testing.T) {
	tests := []struct {
		name       string
		build      error
		wantStatus int
		wantPass   bool
	}{
		{"the pass runs on the built service", nil, http.StatusOK, true},
		{"a service that cannot be built is a 500, no pass", errors.New("no credentials"), http.StatusInternalServerError, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			svc := &lazy[string]{build: func(context.Context) (string, error) { return "service", tc.build }}
			var ranOn string
			h := scheduled(svc, func(s string, _ context.Context) (int, error) {
				ranOn = s
				return 7, nil
			})
			rec := httptest.NewRecorder()
			h(rec, httptest.NewRequest(http.MethodPost, "/", nil))
			if rec.Code != tc.wantStatus || (ranOn == "service") != tc.wantPass {
				t.Fatalf("status %d, pass ran on %q; want %d, pass %v", rec.Code, ranOn, tc.wantStatus, tc.wantPass)
			}
			if tc.wantPass {
				var body struct {
					Report int `json:"report"`
				}
				if err := json.NewDecoder(rec.Body).Decode(&body); err != nil || body.Report != 7 {
					t.Errorf("body report %d, %v; want the pass's 7", body.Report, err)
				}
			}
		})
	}
}
