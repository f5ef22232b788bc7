package worker_test

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/tigerstudio/studio/infra/jobs"
	"github.com/tigerstudio/studio/infra/testenv"
)

// buildWorker builds the worker binary once per test.
func buildWorker(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "worker")
	out, err := exec.Command("go", "build", "-o", bin, "./cmd/worker").CombinedOutput()
	if err != nil {
		t.Fatalf("go build ./worker/cmd/worker: %v\n%s", err, out)
	}
	return bin
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// startProcess runs the real worker binary on the harness's buckets and
// queues; large inputs (WORKER_MAX_SIDE) make a generation last long enough
// to be interrupted.
func (h *harness) startProcess(t *testing.T, bin string, extra ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Env = os.Environ()
	for k, v := range h.env() {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Env = append(cmd.Env, "PORT="+freePort(t), "WORKER_MAX_SIDE=4096", "LOG_LEVEL=info")
	cmd.Env = append(cmd.Env, extra...)
	cmd.Stdout, cmd.Stderr = t.Output(), t.Output()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd
}

func waitExit(t *testing.T, cmd *exec.Cmd) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(60 * time.Second):
		t.Fatal("worker process did not exit")
		return nil
	}
}

// TestWorkerProcessKilledAndTerminated runs the real binary: SIGKILL in the
// middle of a generation (the job completes exactly once on the next
// worker), then SIGTERM in the middle of one (it finishes within the grace
// period and exits cleanly).
func TestWorkerProcessKilledAndTerminated(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	user := h.stack.NewUser(t, testenv.UserOpts{})
	bin := buildWorker(t)
	big := portrait(t, 3000, 3000)

	killed := h.submitPhoto(t, user, "watercolour", jobs.Online, big)
	victim := h.startProcess(t, bin)
	h.waitStatus(t, killed, jobs.Running)
	if err := victim.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = waitExit(t, victim)

	survivor := h.startProcess(t, bin, "WORKER_GRACE=60s")
	j := h.waitStatus(t, killed, jobs.Succeeded)
	if j.Response.Attempt != 2 {
		t.Errorf("attempt %d after a kill, want 2", j.Response.Attempt)
	}
	if got := h.outputs(t); len(got) != 1 || got[0] != j.Response.Outputs[0].Name {
		t.Errorf("outputs %v, want exactly the committed one", got)
	}

	termed := h.submitPhoto(t, user, "watercolour", jobs.Online, big)
	h.waitStatus(t, termed, jobs.Running)
	if err := survivor.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := waitExit(t, survivor); err != nil {
		t.Errorf("worker exited with %v after SIGTERM, want a clean exit", err)
	}
	if j := h.job(t, termed); j.Status() != jobs.Succeeded || j.Response.Attempt != 1 {
		t.Errorf("job interrupted by SIGTERM is %s (attempt %d), want succeeded on attempt 1", j.Status(), attemptOf(j.Response))
	}
	if n := h.stack.QueueDepth(t, h.topo.Queue()); n != 0 {
		t.Errorf("%d messages left in the queue", n)
	}
}

func attemptOf(r *jobs.Response) int {
	if r == nil {
		return 0
	}
	return r.Attempt
}
