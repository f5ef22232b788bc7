package terraform_test

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
)

// terraform fmt cannot run here (no terraform binary, make vet skips it), so
// this is its check offline: each .tf file as hclwrite, the formatter
// terraform fmt is built on, writes it, and no interpolation-only string
// ("${var.x}"), which terraform fmt rewrites to the bare expression.
func TestFormatted(t *testing.T) {
	dirs, err := filepath.Glob("modules/*")
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range append([]string{".", "project"}, dirs...) {
		srcs := readTF(t, dir)
		for _, name := range sortedKeys(srcs) {
			for _, p := range formatProblems(name, srcs[name]) {
				t.Errorf("%s: %s (terraform fmt would change it)", filepath.Join(dir, name), p)
			}
		}
	}
}

func TestFormattedCatch(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"formatted", "resource \"a\" \"b\" {\n  name  = \"x\"\n  count = 1\n}\n", ""},
		{"arguments not aligned", "resource \"a\" \"b\" {\n  name = \"x\"\n  count = 1\n}\n", "line 2"},
		{"indented with a tab", "resource \"a\" \"b\" {\n\tname = \"x\"\n}\n", "line 2"},
		{"interpolation only", "resource \"a\" \"b\" {\n  name = \"${var.x}\"\n}\n", "line 2: interpolation-only"},
		{"template kept", "resource \"a\" \"b\" {\n  name = \"${var.x}-y\"\n}\n", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := strings.Join(formatProblems("x.tf", []byte(tc.src)), "; ")
			if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
				t.Errorf("problems %q, want %q", got, tc.want)
			}
		})
	}
}

// formatProblems says where src is not as terraform fmt leaves it.
func formatProblems(name string, src []byte) []string {
	var problems []string
	if out := hclwrite.Format(src); !bytes.Equal(out, src) {
		problems = append(problems, fmt.Sprintf("line %d: not formatted", firstDiffLine(src, out)))
	}
	f, diags := hclsyntax.ParseConfig(src, name, hcl.InitialPos)
	if diags.HasErrors() {
		return append(problems, diags.Error())
	}
	_ = hclsyntax.VisitAll(f.Body.(*hclsyntax.Body), func(n hclsyntax.Node) hcl.Diagnostics {
		if w, ok := n.(*hclsyntax.TemplateWrapExpr); ok {
			problems = append(problems, fmt.Sprintf("line %d: interpolation-only string, write the expression bare", w.Range().Start.Line))
		}
		return nil
	})
	return problems
}

func firstDiffLine(a, b []byte) int {
	al, bl := bytes.Split(a, []byte("\n")), bytes.Split(b, []byte("\n"))
	for i := range min(len(al), len(bl)) {
		if !bytes.Equal(al[i], bl[i]) {
			return i + 1
		}
	}
	return min(len(al), len(bl)) + 1
}
