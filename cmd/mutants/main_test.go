package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEveryMutantApplies: each mutant still matches its file exactly once
// and names a package folder that exists, so `make mutants` never runs a
// stale list.
func TestEveryMutantApplies(t *testing.T) {
	ms, err := load("mutants.json")
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, m := range ms {
		if names[m.Name] {
			t.Errorf("mutant %s listed twice", m.Name)
		}
		names[m.Name] = true
		src, err := os.ReadFile(filepath.Join("..", "..", m.File))
		if err != nil {
			t.Errorf("%s: %v", m.Name, err)
			continue
		}
		if _, err := apply(src, m); err != nil {
			t.Errorf("%s: %v", m.Name, err)
		}
		if fi, err := os.Stat(filepath.Join("..", "..", m.Package)); err != nil || !fi.IsDir() {
			t.Errorf("%s: package %s is not a folder", m.Name, m.Package)
		}
	}
}

func TestApplyAndClassify(t *testing.T) {
	m := Mutant{Name: "m", File: "f.go", Old: "a > b", New: "a >= b"}
	for _, tc := range []struct {
		src, want, err string
	}{
		{"if a > b {}", "if a >= b {}", ""},
		{"if a < b {}", "", "0 times"},
		{"a > b; a > b", "", "2 times"},
	} {
		got, err := apply([]byte(tc.src), m)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("apply(%q) err = %v, want %q", tc.src, err, tc.err)
			}
			continue
		}
		if err != nil || string(got) != tc.want {
			t.Errorf("apply(%q) = %q, %v; want %q", tc.src, got, err, tc.want)
		}
	}
	failed := errors.New("exit status 1")
	for _, tc := range []struct {
		out  string
		err  error
		want Outcome
	}{
		{"ok  \tx\t1s\n", nil, Survived},
		{"--- FAIL: TestX\nFAIL\tx\t1s\n", failed, Killed},
		{"FAIL\tx [build failed]\n", failed, Invalid},
	} {
		if got := classify([]byte(tc.out), tc.err); got != tc.want {
			t.Errorf("classify(%q) = %s, want %s", tc.out, got, tc.want)
		}
	}
	ms := []Mutant{{Name: "a", Package: "./x/"}, {Name: "b", Package: "./y/"}, {Name: "c", Package: "./x/"}}
	if got := pick(ms, "", "./x"); len(got) != 2 || got[0].Name != "a" || got[1].Name != "c" {
		t.Errorf("pick by package = %v", got)
	}
	if got := pick(ms, "b", ""); len(got) != 1 || got[0].Name != "b" {
		t.Errorf("pick by name = %v", got)
	}
}
