package entry_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tigerstudio/studio/infra/entry"
)

// The test binary plays the command: TestMain runs command.Main with the
// body COMMAND_TEST_BODY names, so the exit status is the real one.
func TestMain(m *testing.M) {
	body, ok := bodies[os.Getenv("COMMAND_TEST_BODY")]
	if !ok {
		os.Exit(m.Run())
	}
	entry.Main(body, func(err error) { fmt.Fprintln(os.Stderr, "failed:", err) })
	fmt.Fprintln(os.Stderr, "Main returned")
}

var bodies = map[string]func(context.Context) error{
	"ok":   func(context.Context) error { return nil },
	"help": func(context.Context) error { return fmt.Errorf("parse: %w", flag.ErrHelp) },
	"fail": func(context.Context) error { return errors.New("boom") },
	// Waits for the stop signal, then finishes what it holds and returns.
	"wait": func(ctx context.Context) error {
		fmt.Println("ready")
		select {
		case <-ctx.Done():
			fmt.Println("stopping cleanly")
			return nil
		case <-time.After(time.Minute):
			return errors.New("never cancelled")
		}
	},
}

func TestMainExits(t *testing.T) {
	for _, c := range []struct {
		body   string
		signal syscall.Signal // sent once the body is ready; 0: none
		status int
		stdout string
		stderr string
	}{
		{body: "ok", status: 0},
		{body: "help", status: 0},
		{body: "fail", status: 1, stderr: "failed: boom\n"},
		{body: "wait", signal: syscall.SIGTERM, status: 0, stdout: "ready\nstopping cleanly\n"},
		{body: "wait", signal: syscall.SIGINT, status: 0, stdout: "ready\nstopping cleanly\n"},
	} {
		t.Run(fmt.Sprintf("%s/%v", c.body, c.signal), func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), "COMMAND_TEST_BODY="+c.body)
			var stdout, stderr strings.Builder
			cmd.Stderr = &stderr
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			if c.signal != 0 {
				line := make([]byte, len("ready\n"))
				if _, err := out.Read(line); err != nil || string(line) != "ready\n" {
					t.Fatalf("body not ready: %q %v", line, err)
				}
				stdout.Write(line)
				if err := cmd.Process.Signal(c.signal); err != nil {
					t.Fatal(err)
				}
			}
			rest, err := io.ReadAll(out)
			if err != nil {
				t.Fatal(err)
			}
			stdout.Write(rest)
			status := 0
			var exit *exec.ExitError
			if err := cmd.Wait(); errors.As(err, &exit) {
				status = exit.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if status != c.status || stdout.String() != c.stdout || stderr.String() != c.stderr {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d, %q, %q", status, stdout.String(), stderr.String(), c.status, c.stdout, c.stderr)
			}
		})
	}
}
