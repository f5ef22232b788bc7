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
