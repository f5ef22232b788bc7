package store_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestWriteScopesAreInternal: each component's Firestore writer lives in
// that component's internal package, so code anywhere else cannot even
// compile a write into another component's area (DESIGN.md, write scopes).
func TestWriteScopesAreInternal(t *testing.T) {
	if testing.Short() {
		t.Skip("builds packages; skipped with -short")
	}
	writers := map[string]string{
		"gateway": "github.com/tigerstudio/studio/functions/gateway/internal/gatewaydb",
		"worker":  "github.com/tigerstudio/studio/worker/internal/workerdb",
		"notify":  "github.com/tigerstudio/studio/functions/notify/internal/notifydb",
		// The operator's tool's writer: requeue and purge across the others.
		"studioctl": "github.com/tigerstudio/studio/cmd/studioctl/internal/admindb",
	}
	// Where another component's code lives, relative to the module root:
	// the components and the other commands (the demo, the cost estimate).
	homes := map[string]string{"gateway": "functions/gateway", "worker": "worker", "notify": "functions/notify",
		"studioctl": "cmd/studioctl", "demo": "cmd/demo"}
	for owner, writer := range writers {
		for other, home := range homes {
			if other == owner {
				continue
			}
			t.Run(other+" writes as "+owner, func(t *testing.T) {
				dir, err := os.MkdirTemp(filepath.Join("..", "..", home), "scopecheck")
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { os.RemoveAll(dir) })
				src := "package scopecheck\n\nimport _ \"" + writer + "\"\n"
				if err := os.WriteFile(filepath.Join(dir, "x.go"), []byte(src), 0o644); err != nil {
					t.Fatal(err)
				}
				cmd := exec.Command("go", "build", ".")
				cmd.Dir = dir
				out, err := cmd.CombinedOutput()
				if err == nil || !strings.Contains(string(out), "use of internal package") {
					t.Errorf("%s code importing %s: err=%v, output %q; want the internal rule to refuse it", other, writer, err, out)
				}
			})
		}
	}
}
