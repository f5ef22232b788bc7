// Command mutants is `make mutants`: it makes each deliberate bug listed in
// mutants.json (a named, one-line change to one file), runs the tests of the
// package it belongs to against the running stack, and reports which bugs
// a test caught (killed) and which passed every test (survived), with each
// package's kill rate. The tree is never changed: each mutant is given to
// the Go toolchain as a build overlay (go test -overlay), so the mutants
// can run while someone works in the tree. A test that builds a binary of
// its own (go build inside the test) builds the unmutated source.
//
// MUTANTS_ONLY=name,name or MUTANTS_PKG=./functions/gateway/ pick some.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/tigerstudio/studio/infra/entry"
)

// Mutant is one deliberate bug.
type Mutant struct {
	Name    string `json:"name"`
	Package string `json:"package"` // ./path/ whose tests must catch it
	File    string `json:"file"`    // relative to the repository root
	Old     string `json:"old"`     // must occur exactly once in File
	New     string `json:"new"`
	Run     string `json:"run,omitempty"` // go test -run pattern; all tests when empty
}

// Outcome of one mutant.
type Outcome string

const (
	Killed   Outcome = "killed"
	Survived Outcome = "survived"
	Invalid  Outcome = "invalid" // did not build: fix the mutant, not the tests
)

func main() {
	entry.Main(realMain, func(err error) { fmt.Fprintln(os.Stderr, "mutants:", err) })
}

func realMain(ctx context.Context) error {
	if os.Getenv("FIRESTORE_EMULATOR_HOST") == "" {
		return errors.New("the stack's environment is not loaded: run `make mutants` (it starts the stack)")
	}
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	ms, err := load(filepath.Join(root, "cmd", "mutants", "mutants.json"))
	if err != nil {
		return err
	}
	ms = pick(ms, os.Getenv("MUTANTS_ONLY"), os.Getenv("MUTANTS_PKG"))
	if len(ms) == 0 {
		return errors.New("no mutant matches MUTANTS_ONLY / MUTANTS_PKG")
	}
	tmp, err := os.MkdirTemp("", "mutants")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	outcomes := make([]Outcome, len(ms))
	for i, m := range ms {
		start := time.Now()
		out, err := runMutant(ctx, root, tmp, m)
		if err != nil {
			return fmt.Errorf("mutant %s: %w", m.Name, err)
		}
		outcomes[i] = out
		fmt.Printf("%-9s %-40s %s (%s)\n", out, m.Name, m.Package, time.Since(start).Round(time.Second))
	}
	fmt.Println()
	fmt.Print(report(ms, outcomes))
	return nil
}

func load(path string) ([]Mutant, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the mutants: %w", err)
	}
	var ms []Mutant
	if err := json.Unmarshal(data, &ms); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ms, nil
}

// pick keeps the mutants named in only (comma-separated) and of package pkg.
func pick(ms []Mutant, only, pkg string) []Mutant {
	names := strings.Split(only, ",")
	return slices.DeleteFunc(slices.Clone(ms), func(m Mutant) bool {
		return (only != "" && !slices.Contains(names, m.Name)) || (pkg != "" && filepath.Clean(pkg) != filepath.Clean(m.Package))
	})
}

// apply returns src with the mutant's change, which must apply exactly once
// (a mutant that no longer matches the code is an error, not a survivor).
func apply(src []byte, m Mutant) ([]byte, error) {
	if n := bytes.Count(src, []byte(m.Old)); n != 1 {
		return nil, fmt.Errorf("%q occurs %d times in %s, want once", m.Old, n, m.File)
	}
	return bytes.Replace(src, []byte(m.Old), []byte(m.New), 1), nil
}

func runMutant(ctx context.Context, root, tmp string, m Mutant) (Outcome, error) {
	file := filepath.Join(root, m.File)
	src, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	mutated, err := apply(src, m)
	if err != nil {
		return "", err
	}
	dst := filepath.Join(tmp, m.Name+".go")
	if err := os.WriteFile(dst, mutated, 0o600); err != nil {
		return "", err
	}
	overlay, _ := json.Marshal(map[string]any{"Replace": map[string]string{file: dst}})
	overlayFile := filepath.Join(tmp, m.Name+".json")
	if err := os.WriteFile(overlayFile, overlay, 0o600); err != nil {
		return "", err
	}
	args := []string{"test", "-count=1", "-overlay=" + overlayFile}
	if m.Run != "" {
		args = append(args, "-run", m.Run)
	}
	cmd := exec.CommandContext(ctx, "go", append(args, m.Package)...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "TIGER_REQUIRE_STACK=1")
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		return "", ctx.Err()
	}
	return classify(out, err), nil
}

// classify reads go test's result.
func classify(out []byte, err error) Outcome {
	switch {
	case err == nil:
		return Survived
	case bytes.Contains(out, []byte("[build failed]")) || bytes.Contains(out, []byte("[setup failed]")):
		return Invalid
	default:
		return Killed
	}
}

// report is a Markdown table of each package's kill rate, then the
// survivors by name.
func report(ms []Mutant, outcomes []Outcome) string {
	type tally struct{ killed, survived, invalid int }
	byPkg := map[string]*tally{}
	var pkgs, survivors []string
	for i, m := range ms {
		t := byPkg[m.Package]
		if t == nil {
			t = &tally{}
			byPkg[m.Package] = t
			pkgs = append(pkgs, m.Package)
		}
		switch outcomes[i] {
		case Killed:
			t.killed++
		case Survived:
			t.survived++
			survivors = append(survivors, m.Name+" ("+m.Package+")")
		case Invalid:
			t.invalid++
		}
	}
	var b strings.Builder
	b.WriteString("| package | mutants | killed | survived | invalid | kill rate |\n|---|---|---|---|---|---|\n")
	for _, p := range pkgs {
		t := byPkg[p]
		valid := t.killed + t.survived
		rate := "-"
		if valid > 0 {
			rate = fmt.Sprintf("%.0f%%", 100*float64(t.killed)/float64(valid))
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %s |\n", p, valid+t.invalid, t.killed, t.survived, t.invalid, rate)
	}
	if len(survivors) > 0 {
		b.WriteString("\nsurvived: " + strings.Join(survivors, ", ") + "\n")
	}
	return b.String()
}
