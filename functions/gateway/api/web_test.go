package api_test

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/tigerstudio/studio/functions/gateway/api"
)

// The web app declares the Gateway's answers again in TypeScript
// (web/src/api.ts). This test holds the two to one contract (issue 21): each
// TypeScript field is a field the Gateway sends, under the same JSON name,
// optional ("?") where the Gateway may leave it out (omitempty), and each
// field the Gateway sends is declared, unless listed below as unused by the
// app.
func TestWebTypesAgree(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "..", "..", "web", "src", "api.ts"))
	if err != nil {
		t.Fatal(err)
	}
	ts := parseInterfaces(t, string(src))
	for _, tc := range []struct {
		ts     string
		goType any
		unused []string // sent, not read by the app
	}{
		{"Job", api.Job{}, []string{"timings"}},
		{"Job.queue", api.Queue{}, nil},
		{"Job.error", api.JobError{}, nil},
		{"Output", api.Output{}, nil},
		{"Style", api.StyleInfo{}, nil},
		{"Generated", api.Generated{}, nil},
		{"PhotoLimits", api.PhotoLimits{}, nil},
	} {
		fields, ok := ts[tc.ts]
		if !ok {
			t.Errorf("web/src/api.ts declares no %s", tc.ts)
			continue
		}
		sent := jsonFields(reflect.TypeOf(tc.goType))
		for name, optional := range fields {
			omit, ok := sent[name]
			switch {
			case !ok:
				t.Errorf("%s.%s: the Gateway's %T sends no such field", tc.ts, name, tc.goType)
			case omit && !optional:
				t.Errorf("%s.%s: the Gateway may leave it out (omitempty): declare it optional", tc.ts, name)
			}
		}
		for name := range sent {
			if _, ok := fields[name]; !ok && !slices.Contains(tc.unused, name) {
				t.Errorf("%s: the Gateway's %T sends %q, which web/src/api.ts does not declare", tc.ts, tc.goType, name)
			}
		}
	}
}

// jsonFields are a struct's JSON field names and whether each is omitempty.
func jsonFields(typ reflect.Type) map[string]bool {
	out := map[string]bool{}
	for i := range typ.NumField() {
		tag := typ.Field(i).Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" || name == "-" {
			continue
		}
		out[name] = strings.Contains(opts, "omitempty")
	}
	return out
}

var (
	ifaceRe  = regexp.MustCompile(`(?m)^export interface (\w+) \{\n((?:  .*\n)*?)\}`)
	fieldRe  = regexp.MustCompile(`^  (\w+)(\??): (.+?);\s*(?://.*)?$`)
	inlineRe = regexp.MustCompile(`^\{ (.*) \}$`)
)

// parseInterfaces reads the exported interfaces of api.ts: their fields and
// whether each is optional, and, as "Name.field", the fields of an inline
// object type ("queue?: { position: number; etaSeconds?: number }").
func parseInterfaces(t *testing.T, src string) map[string]map[string]bool {
	out := map[string]map[string]bool{}
	for _, m := range ifaceRe.FindAllStringSubmatch(src, -1) {
		fields := map[string]bool{}
		for _, line := range strings.Split(m[2], "\n") {
			f := fieldRe.FindStringSubmatch(line)
			if f == nil {
				continue
			}
			fields[f[1]] = f[2] == "?"
			if in := inlineRe.FindStringSubmatch(f[3]); in != nil {
				sub := map[string]bool{}
				for _, part := range strings.Split(in[1], ";") {
					name, _, ok := strings.Cut(strings.TrimSpace(part), ":")
					if !ok {
						continue
					}
					sub[strings.TrimSuffix(name, "?")] = strings.HasSuffix(name, "?")
				}
				out[m[1]+"."+f[1]] = sub
			}
		}
		out[m[1]] = fields
	}
	if len(out) == 0 {
		t.Fatal("no interfaces found in web/src/api.ts")
	}
	return out
}
