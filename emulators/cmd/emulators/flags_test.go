package main

import (
	"io"
	"strings"
	"testing"
)

func TestListenFlags(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		want    string
		wantErr string
	}{
		{"defaults", nil, nil, "127.0.0.1:2525", ""},
		{"from the environment", map[string]string{"X_HOST": "0.0.0.0", "X_PORT": "8025"}, nil, "0.0.0.0:8025", ""},
		{"flags over the environment", map[string]string{"X_PORT": "8025"}, []string{"-port", "9000", "-host", "::1"}, "[::1]:9000", ""},
		{"port zero", nil, []string{"-port", "0"}, "", "x: port 0 out of range"},
		{"port too large", nil, []string{"-port", "70000"}, "", "x: port 70000 out of range"},
		{"unparsable port in the environment", map[string]string{"X_PORT": "smtp"}, nil, "", "x: port 0 out of range"},
		{"a stray argument", nil, []string{"extra"}, "", `x: unexpected arguments ["extra"]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("X_HOST", tc.env["X_HOST"])
			t.Setenv("X_PORT", tc.env["X_PORT"])
			fs := newFlags("x", io.Discard)
			l := listenFlags(fs, "X", 2525)
			err := parse(fs, tc.args)
			var addr string
			if err == nil {
				addr, err = l.addr()
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || addr != tc.want {
				t.Fatalf("addr %q, err %v; want %q", addr, err, tc.want)
			}
		})
	}
}

func TestRequiredFlags(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		wantErr string
	}{
		{"all given as flags", nil, []string{"-dir", "d", "-token", "t"}, ""},
		{"all given in the environment", map[string]string{"X_DIR": "d", "X_TOKEN": "t"}, nil, ""},
		{"one missing", map[string]string{"X_DIR": "d"}, nil, "x: -token (or X_TOKEN) is required"},
		{"both missing", nil, nil, "x: -dir (or X_DIR) and -token (or X_TOKEN) are required"},
		{"emptied by a flag", map[string]string{"X_DIR": "d", "X_TOKEN": "t"}, []string{"-dir="}, "x: -dir (or X_DIR) is required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("X_DIR", tc.env["X_DIR"])
			t.Setenv("X_TOKEN", tc.env["X_TOKEN"])
			fs := newFlags("x", io.Discard)
			dir := fs.requiredString("dir", "X_DIR", "a directory")
			token := fs.requiredString("token", "X_TOKEN", "a token")
			err := parse(fs, tc.args)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || *dir != "d" || *token != "t" {
				t.Fatalf("dir %q, token %q, err %v; want d, t", *dir, *token, err)
			}
		})
	}
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
