// Package configtest runs the table tests every component's Config has:
// which environments load, and which errors the others report.
package configtest

import (
	"context"
	"strings"
	"testing"

	"github.com/tigerstudio/studio/infra/config"
)

// Case is one environment and the words its error must contain (none: it
// must load).
type Case struct {
	Name string
	Env  map[string]string
	Want []string
}

// With returns base with the given key, value pairs set.
func With(base map[string]string, kv ...string) map[string]string {
	m := make(map[string]string, len(base)+len(kv)/2)
	for k, v := range base {
		m[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// Run loads each case's environment into a fresh config from newCfg.
func Run[C config.Validator](t *testing.T, newCfg func() C, cases []Case) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			err := config.Load(context.Background(), config.FromMap(tc.Env), newCfg())
			if len(tc.Want) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted an invalid configuration")
			}
			for _, w := range tc.Want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %s", err, w)
				}
			}
		})
	}
}
