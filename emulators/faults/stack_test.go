//go:build faults

package faults_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// stack is the harness's own stack (own STACK_DIR, ports and RabbitMQ
// node), started as emulators/stack_disruptive_test.go starts its second
// stack, but with every part, the worker included.
type stack struct {
	t      *testing.T
	script string
	dir    string
	env    []string
	values map[string]string
}

// portVars are the stack's port settings, in the order of their offset from
// FAULTS_PORT_BASE.
var portVars = []string{
	"FIRESTORE_PORT", "AUTH_PORT", "STORAGE_PORT", "GATEWAY_PORT", "WORKER_PORT", "NOTIFY_PORT",
	"SMTP_PORT", "RABBITMQ_NODE_PORT", "RABBITMQ_DIST_PORT", "RABBITMQ_EPMD_PORT", "RECONCILE_PORT", "SWEEP_PORT",
	"WEB_PORT",
}

// leaked are settings of the caller's environment (make exports none, but a
// shell that loaded .local/env does) that would point this stack at the
// shared one's parts or change the defaults the table is measured at.
var leaked = map[string]bool{
	"AMQP_URL": true, "STACK_DIR": true, "STACK_SKIP": true, "EXTERNAL_AMQP": true, "STYLES_FILE": true,
	"JOBS_PER_MINUTE": true, "PENDING_GRACE": true, "EVENT": true, "QUEUE_PREFIX": true,
	"INPUT_BUCKET": true, "OUTPUT_BUCKET": true, "GCLOUD_PROJECT": true, "GOOGLE_CLOUD_PROJECT": true,
	"FIRESTORE_EMULATOR_HOST": true, "STORAGE_EMULATOR_HOST": true, "FIREBASE_AUTH_EMULATOR_HOST": true,
	"MAIL_DIR": true, "GATEWAY_URL": true, "WORKER_URL": true, "NOTIFY_URL": true, "STACK_SCRIPT": true,
	"WORKER_SLOTS": true, "MODEL_DIR": true, "WEB_URL": true, "APP_ORIGINS": true, "RETENTION_DAYS": true,
	"APPCHECK_STANDIN_URL": true, "APPCHECK_STANDIN_PORT": true, "APP_CHECK_DEBUG_TOKEN": true, "APP_CHECK_APP_ID": true,
	"APP_CHECK_PROJECT_NUMBER": true,
}

// newStack prepares the stack in FAULTS_DIR (default: a new temporary
// directory, kept afterwards for its logs) with ports from FAULTS_PORT_BASE
// (default 29000, below Linux's ephemeral range 32768-60999, whose ports
// outgoing connections take at random) on, and starts it. Down runs when
// the test ends.
func newStack(t *testing.T) *stack {
	t.Helper()
	for _, tool := range []string{"gcloud", "java", "node", "setsid", "flock", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the stack needs %s (make setup)", tool)
		}
	}
	base := 29000
	if v := os.Getenv("FAULTS_PORT_BASE"); v != "" {
		var err error
		if base, err = strconv.Atoi(v); err != nil {
			t.Fatalf("FAULTS_PORT_BASE=%q: %v", v, err)
		}
	}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if leaked[k] || strings.HasPrefix(k, "RABBITMQ_") || strings.HasSuffix(k, "_PORT") {
			continue
		}
		env = append(env, kv)
	}
	for i, k := range portVars {
		p := base + i
		conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)), time.Second)
		if err == nil {
			conn.Close()
			t.Fatalf("port %d (%s) is in use; set FAULTS_PORT_BASE to the first of %d free ports", p, k, len(portVars))
		}
		env = append(env, fmt.Sprintf("%s=%d", k, p))
	}
	dir := os.Getenv("FAULTS_DIR")
	if dir == "" {
		// A short directory: Erlang and the emulators keep paths under it.
		var err error
		if dir, err = os.MkdirTemp("", "faults"); err != nil {
			t.Fatal(err)
		}
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	env = append(env, "STACK_DIR="+dir, fmt.Sprintf("RABBITMQ_NODENAME=faults%d@localhost", base))
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	s := &stack{t: t, script: filepath.Join(wd, "..", "stack.sh"), dir: dir, env: env}
	t.Cleanup(func() {
		if _, err := s.run("down"); err != nil {
			t.Errorf("stack.sh down: %v", err)
		}
		t.Logf("the stack's logs, mails and table stay in %s", dir)
	})
	if _, err := s.run("up"); err != nil {
		t.Fatalf("stack.sh up: %v", err)
	}
	s.values = s.readEnv()
	return s
}

// run runs the stack script with verb and logs its last lines.
func (s *stack) run(verb string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.script, verb)
	cmd.Env = s.env
	start := time.Now()
	out, err := cmd.CombinedOutput()
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if err == nil && len(lines) > 3 {
		lines = lines[len(lines)-3:]
	}
	logf("stack.sh %s (%v): %s", verb, time.Since(start).Round(100*time.Millisecond), strings.Join(lines, " | "))
	if err != nil {
		return string(out), fmt.Errorf("stack.sh %s: %w", verb, err)
	}
	return string(out), nil
}

// readEnv reads the stack's env file.
func (s *stack) readEnv() map[string]string {
	s.t.Helper()
	f, err := os.Open(filepath.Join(s.dir, "env"))
	if err != nil {
		s.t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			out[k] = v
		}
	}
	return out
}

func (s *stack) value(key string) string {
	v, ok := s.values[key]
	if !ok {
		s.t.Fatalf("%s not in the stack's env file", key)
	}
	return v
}

// pid returns the recorded pid of a part, its process group id.
func (s *stack) pid(part string) (int, error) {
	b, err := os.ReadFile(filepath.Join(s.dir, "pids", part+".pid"))
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// signal sends sig to a part's process group.
func (s *stack) signal(part string, sig syscall.Signal) error {
	pid, err := s.pid(part)
	if err != nil {
		return fmt.Errorf("%s: %w", part, err)
	}
	if err := syscall.Kill(-pid, sig); err != nil {
		return fmt.Errorf("kill -%d -- -%d (%s): %w", sig, pid, part, err)
	}
	logf("sent %v to %s (process group %d)", sig, part, pid)
	return nil
}

// kill SIGKILLs a part's process group, as a crash or the OOM killer would
// end it, and waits until the group is gone.
func (s *stack) kill(ctx context.Context, part string) error {
	pid, err := s.pid(part)
	if err != nil {
		return fmt.Errorf("%s: %w", part, err)
	}
	if err := s.signal(part, syscall.SIGKILL); err != nil {
		return err
	}
	return poll(ctx, 30*time.Second, part+" gone", func() (bool, error) {
		return !groupAlive(pid), nil
	})
}

// groupAlive reports whether a process other than a zombie is in the group
// (as stack.sh's group_alive).
func groupAlive(pgid int) bool {
	out, err := exec.Command("ps", "-e", "-o", "pgid=,stat=").Output()
	if err != nil {
		return true
	}
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == strconv.Itoa(pgid) && !strings.HasPrefix(f[1], "Z") {
			return true
		}
	}
	return false
}

// poll calls cond every 200 ms until it is true, an error, or timeout.
func poll(ctx context.Context, timeout time.Duration, what string, cond func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not within %v", what, timeout)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w", what, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// hold keeps a fault on for d (the fault's duration, not a wait for a
// condition).
func hold(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
