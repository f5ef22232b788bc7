package terraform_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// make deploy and make destroy stop before touching anything when PROJECT
// or EVENT is missing or gcloud is not signed in. A fake gcloud and
// terraform on PATH make sure nothing real runs.
func TestCloudTargetsFailEarly(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make not installed")
	}
	bin := t.TempDir()
	marker := filepath.Join(bin, "ran")
	for _, name := range []string{"gcloud", "terraform"} {
		// gcloud auth list prints no active account; anything else marks a run.
		script := "#!/bin/sh\nif [ \"$1 $2\" = \"auth list\" ]; then exit 0; fi\necho \"$0 $*\" >> " + marker + "\nexit 1\n"
		if err := os.WriteFile(filepath.Join(bin, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	root := repoRoot(t)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"deploy"}, "set PROJECT EVENT"},
		{[]string{"deploy", "PROJECT=p"}, "set EVENT"},
		{[]string{"destroy", "EVENT=e"}, "set PROJECT"},
		{[]string{"deploy", "PROJECT=p", "EVENT=e"}, "gcloud is not signed in"},
		{[]string{"destroy", "PROJECT=p", "EVENT=e"}, "gcloud is not signed in"},
	}
	for _, c := range cases {
		cmd := exec.Command("make", append([]string{"-s", "-C", root}, c.args...)...)
		cmd.Env = append(os.Environ(), "PATH="+bin+":/usr/bin:/bin")
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Errorf("make %v succeeded:\n%s", c.args, out)
			continue
		}
		if !strings.Contains(string(out), c.want) {
			t.Errorf("make %v: output lacks %q:\n%s", c.args, c.want, out)
		}
	}
	if b, err := os.ReadFile(marker); err == nil {
		t.Errorf("the cloud tools ran before the checks stopped make:\n%s", b)
	}
}
