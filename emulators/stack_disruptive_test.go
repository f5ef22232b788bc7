//go:build disruptive

// The stack script's tests start a stack of their own (own STACK_DIR, own
// ports, own RabbitMQ node), so they leave the shared one alone; they are
// disruptive in that they start and kill whole processes, which is slow and
// busy, so `make test` runs them alone after the main suite.

package emulators_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"cloud.google.com/go/firestore"
	"cloud.google.com/go/storage"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/tigerstudio/studio/infra/testenv"
)

// stack is a stack of the test's own.
type stack struct {
	t      *testing.T
	script string
	dir    string
	env    []string
}

// newStack prepares a stack in a temporary directory with ports from
// STACKTEST_PORT_BASE (default 28000) on; the worker is skipped (it loads
// the models, minutes of CPU, and is a part like the gateway to up). Down
// runs when the test ends. The default lies below Linux's ephemeral range
// (32768-60999): a port in it can be taken, between the stack's check and
// its bind, as the local end of any outgoing connection (CI lost a run to
// appcheck's 41016 that way).
func newStack(t *testing.T) *stack {
	t.Helper()
	for _, tool := range []string{"gcloud", "java", "node", "setsid", "flock", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Require(t, fmt.Errorf("the stack needs %s (make setup)", tool))
		}
	}
	base := 28000
	if v := os.Getenv("STACKTEST_PORT_BASE"); v != "" {
		var err error
		if base, err = strconv.Atoi(v); err != nil {
			t.Fatalf("STACKTEST_PORT_BASE=%q: %v", v, err)
		}
	}
	ports := map[string]int{
		"FIRESTORE_PORT": base, "AUTH_PORT": base + 1, "STORAGE_PORT": base + 2, "GATEWAY_PORT": base + 3,
		"WORKER_PORT": base + 4, "NOTIFY_PORT": base + 5, "SMTP_PORT": base + 6, "RABBITMQ_NODE_PORT": base + 7,
		"RABBITMQ_DIST_PORT": base + 8, "RABBITMQ_EPMD_PORT": base + 9, "RECONCILE_PORT": base + 10, "SWEEP_PORT": base + 11, "WEB_PORT": base + 12,
	}
	// The shared stack's settings (make test exports its .local/env) must
	// not leak in: AMQP_URL would make this stack use the shared broker.
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if _, ours := ports[k]; ours || k == "AMQP_URL" || k == "STACK_DIR" || k == "STACK_SKIP" ||
			k == "EXTERNAL_AMQP" || strings.HasPrefix(k, "RABBITMQ_") {
			continue
		}
		env = append(env, kv)
	}
	for k, p := range ports {
		conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)), time.Second)
		if err == nil {
			conn.Close()
			t.Fatalf("port %d (%s) is in use; set STACKTEST_PORT_BASE to the first of 17 free ports (with 300-320 above them)", p, k)
		}
		env = append(env, fmt.Sprintf("%s=%d", k, p))
	}
	// A short directory: Erlang and the emulators keep paths under it.
	dir, err := os.MkdirTemp("", "stacktest")
	if err != nil {
		t.Fatal(err)
	}
	env = append(env, "STACK_DIR="+dir, "STACK_SKIP=worker", fmt.Sprintf("RABBITMQ_NODENAME=stacktest%d@localhost", base))
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	s := &stack{t: t, script: filepath.Join(wd, "stack.sh"), dir: dir, env: env}
	t.Cleanup(func() {
		s.run("down")
		os.RemoveAll(dir)
	})
	return s
}

// run runs the stack script with verb and returns its output; it fails the
// test when the script fails.
func (s *stack) run(verb string) string {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.script, verb)
	cmd.Env = s.env
	start := time.Now()
	out, err := cmd.CombinedOutput()
	s.t.Logf("stack.sh %s (%v):\n%s", verb, time.Since(start).Round(100*time.Millisecond), out)
	if err != nil {
		s.t.Fatalf("stack.sh %s: %v", verb, err)
	}
	return string(out)
}

// env reads a value of the stack's env file.
func (s *stack) envValue(key string) string {
	s.t.Helper()
	f, err := os.Open(filepath.Join(s.dir, "env"))
	if err != nil {
		s.t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok && k == key {
			return v
		}
	}
	s.t.Fatalf("%s not in the stack's env file", key)
	return ""
}

// pids returns the recorded pid of every part that has one.
func (s *stack) pids() map[string]int {
	s.t.Helper()
	files, err := filepath.Glob(filepath.Join(s.dir, "pids", "*.pid"))
	if err != nil {
		s.t.Fatal(err)
	}
	out := map[string]int{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			s.t.Fatal(err)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			s.t.Fatalf("%s: %v", f, err)
		}
		out[strings.TrimSuffix(filepath.Base(f), ".pid")] = pid
	}
	return out
}

// kill SIGKILLs a part's process group, as a crash or the OOM killer would
// end it, and waits until the group is gone.
func (s *stack) kill(part string) {
	s.t.Helper()
	pid := s.pids()[part]
	if pid == 0 {
		s.t.Fatalf("%s has no pid file", part)
	}
	if err := syscall.Kill(-pid, syscall.SIGKILL); err != nil {
		s.t.Fatalf("kill %s: %v", part, err)
	}
	testenv.Eventually(s.t, part+"'s process group gone", func() bool { return syscall.Kill(-pid, 0) != nil })
}

// TestDisruptiveStackUpRestartsOnlyDeadParts kills parts of a running stack,
// as a crash would, runs up again, and checks that up started exactly the
// dead parts and that the data of every part survived: Firestore, Storage
// and Auth (alive), RabbitMQ's queue (killed, kept on disk), and the
// bridge's record (killed; it delivers what changed while it was down).
// Then it checks that down and up keep RabbitMQ's data too.
func TestDisruptiveStackUpRestartsOnlyDeadParts(t *testing.T) {
	s := newStack(t)
	s.run("up")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	// Data in the parts.
	t.Setenv("FIRESTORE_EMULATOR_HOST", s.envValue("FIRESTORE_EMULATOR_HOST"))
	t.Setenv("STORAGE_EMULATOR_HOST", s.envValue("STORAGE_EMULATOR_HOST"))
	project := s.envValue("GCLOUD_PROJECT")
	fs, err := firestore.NewClient(ctx, project)
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	kept := fs.Collection("stacktest").Doc("kept")
	if _, err := kept.Set(ctx, map[string]any{"n": 1}); err != nil {
		t.Fatal(err)
	}
	gcs, err := storage.NewClient(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer gcs.Close()
	obj := gcs.Bucket(s.envValue("INPUT_BUCKET")).Object("stacktest/kept")
	w := obj.NewWriter(ctx)
	if _, err := w.Write([]byte("kept")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	amqpURL := s.envValue("AMQP_URL")
	const queueName = "stacktest.kept"
	publish(t, ctx, amqpURL, queueName, 2)

	before := s.pids()
	for _, part := range []string{"gateway", "bridge", "rabbitmq"} {
		s.kill(part)
	}
	// What the bridge must deliver once it is back: Notify ignores a
	// response that is not succeeded, so it accepts this at once.
	missed := fs.Collection("responses").Doc(testenv.Unique("stacktest"))
	if _, err := missed.Set(ctx, map[string]any{"state": "running", "attempt": 1}); err != nil {
		t.Fatal(err)
	}

	out := s.run("up")
	if !strings.Contains(out, "starting rabbitmq gateway bridge ") {
		t.Errorf("up did not say it starts just the dead parts")
	}
	after := s.pids()
	for part, pid := range before {
		restarted := part == "gateway" || part == "bridge" || part == "rabbitmq"
		if restarted == (after[part] == pid) {
			t.Errorf("%s: pid %d before, %d after up; want it restarted: %v", part, pid, after[part], restarted)
		}
	}
	s.run("status") // fails unless every part runs

	if snap, err := kept.Get(ctx); err != nil || snap.Data()["n"] != int64(1) {
		t.Errorf("Firestore document after up: %v, %v", snap.Data(), err)
	}
	if attrs, err := obj.Attrs(ctx); err != nil || attrs.Size != 4 {
		t.Errorf("Storage object after up: %v, %v", attrs, err)
	}
	if n := depth(t, amqpURL, queueName); n != 2 {
		t.Errorf("queue %s holds %d messages after RabbitMQ was killed and up, want 2", queueName, n)
	}
	resp, err := http.Get(s.envValue("GATEWAY_URL") + "/healthz")
	if err != nil {
		t.Errorf("gateway after up: %v", err)
	} else {
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("gateway /healthz: %s", resp.Status)
		}
	}
	// The bridge caught up from its state file.
	testenv.Eventually(t, "the restarted bridge delivering the change to "+missed.Path+" made while it was down", func() bool {
		return delivered(t, filepath.Join(s.dir, "logs", "bridge.log"), "responses/"+missed.ID)
	})

	// down and up keep what is on disk: RabbitMQ's messages.
	s.run("down")
	s.run("up")
	if n := depth(t, amqpURL, queueName); n != 2 {
		t.Errorf("queue %s holds %d messages after down and up, want 2", queueName, n)
	}
}

// delivered reports whether the bridge's log says, since its latest start,
// that it delivered an event about doc.
func delivered(t *testing.T, log, doc string) bool {
	t.Helper()
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	if i := bytes.LastIndex(b, []byte("\n=== bridge start")); i >= 0 {
		b = b[i:]
	}
	for line := range bytes.Lines(b) {
		if bytes.Contains(line, []byte(`msg="bridge delivered event"`)) && bytes.Contains(line, []byte(" doc="+doc+" ")) {
			return true
		}
	}
	return false
}

// publish declares a durable queue and publishes n persistent messages to
// it, each confirmed by the broker.
func publish(t *testing.T, ctx context.Context, url, queue string, n int) {
	t.Helper()
	conn, err := amqp.Dial(url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare(queue, true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		c, err := ch.PublishWithDeferredConfirmWithContext(ctx, "", queue, true, false, amqp.Publishing{
			DeliveryMode: amqp.Persistent, Body: []byte(strconv.Itoa(i)),
		})
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := c.WaitContext(ctx); err != nil || !ok {
			t.Fatalf("publish %d not confirmed: %v, %v", i, ok, err)
		}
	}
}

// depth returns the number of ready messages in a queue.
func depth(t *testing.T, url, queue string) int {
	t.Helper()
	conn, err := amqp.Dial(url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	q, err := ch.QueueDeclarePassive(queue, true, false, false, false, nil)
	if err != nil {
		t.Fatalf("queue %s: %v", queue, err)
	}
	return q.Messages
}
