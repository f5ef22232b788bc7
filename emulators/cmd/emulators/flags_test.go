package main

import (
	"io"
	"strings"
	"testing"
)

// flagTest is one parse of a subcommand's flags: the environment and the
// arguments, and what the flags then give or the error parsing fails with.
type flagTest struct {
	name    string
	env     map[string]string
	args    []string
	want    string
	wantErr string
}

// runFlagTests runs each test on a flag set "x" that register sets up; what
// register returns reads the parsed flags. The variables in vars are set as
// each test's env says (empty when it does not name them).
func runFlagTests(t *testing.T, tests []flagTest, vars []string, register func(fs *flags) func() (string, error)) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, v := range vars {
				t.Setenv(v, tc.env[v])
			}
			fs := newFlags("x", io.Discard)
			read := register(fs)
			err := parse(fs, tc.args)
			var got string
			if err == nil {
				got, err = read()
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, err %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestListenFlags(t *testing.T) {
	tests := []flagTest{
		{"defaults", nil, nil, "127.0.0.1:2525", ""},
		{"from the environment", map[string]string{"X_HOST": "0.0.0.0", "X_PORT": "8025"}, nil, "0.0.0.0:8025", ""},
		{"flags over the environment", map[string]string{"X_PORT": "8025"}, []string{"-port", "9000", "-host", "::1"}, "[::1]:9000", ""},
		{"port zero", nil, []string{"-port", "0"}, "", "x: port 0 out of range"},
		{"port too large", nil, []string{"-port", "70000"}, "", "x: port 70000 out of range"},
		{"unparsable port in the environment", map[string]string{"X_PORT": "smtp"}, nil, "", "x: port 0 out of range"},
		{"a stray argument", nil, []string{"extra"}, "", `x: unexpected arguments ["extra"]`},
	}
	runFlagTests(t, tests, []string{"X_HOST", "X_PORT"}, func(fs *flags) func() (string, error) {
		return listenFlags(fs, "X", 2525).addr
	})
}

func TestRequiredFlags(t *testing.T) {
	tests := []flagTest{
		{"all given as flags", nil, []string{"-dir", "d", "-token", "t"}, "d t", ""},
		{"all given in the environment", map[string]string{"X_DIR": "d", "X_TOKEN": "t"}, nil, "d t", ""},
		{"one missing", map[string]string{"X_DIR": "d"}, nil, "", "x: -token (or X_TOKEN) is required"},
		{"both missing", nil, nil, "", "x: -dir (or X_DIR) and -token (or X_TOKEN) are required"},
		{"emptied by a flag", map[string]string{"X_DIR": "d", "X_TOKEN": "t"}, []string{"-dir="}, "", "x: -dir (or X_DIR) is required"},
	}
	runFlagTests(t, tests, []string{"X_DIR", "X_TOKEN"}, func(fs *flags) func() (string, error) {
		dir := fs.requiredString("dir", "X_DIR", "a directory")
		token := fs.requiredString("token", "X_TOKEN", "a token")
		return func() (string, error) { return *dir + " " + *token, nil }
	})
}

// The usage names the variable a flag defaults to.
func TestEnvStringUsage(t *testing.T) {
	t.Setenv("X_PROJECT", "")
	fs := newFlags("x", io.Discard)
	fs.envString("project", "X_PROJECT", "p", "the project id")
	f := fs.Lookup("project")
	if f.Usage != "the project id (env X_PROJECT)" || f.DefValue != "p" {
		t.Fatalf("usage %q, default %q", f.Usage, f.DefValue)
	}
}
