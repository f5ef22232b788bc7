package gateway_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tigerstudio/studio/functions/gateway"
	"github.com/tigerstudio/studio/infra/config"
	"github.com/tigerstudio/studio/infra/logging"
	"github.com/tigerstudio/studio/infra/store"
	"github.com/tigerstudio/studio/infra/testenv"
)

// functionsBinary builds the functions runner the stack serves, once per
// test binary.
var functionsBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "gateway-crash")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "functions")
	out, err := exec.Command("go", "build", "-o", bin, "../cmd/local").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %w: %s", err, out)
	}
	return bin, nil
})

// process is a real Gateway process, killed with SIGKILL mid-request.
type process struct {
	t    *testing.T
	path string
	env  []string
	url  string
	cmd  *exec.Cmd
}

// crashRig is a Gateway process whose Storage and broker connections go
// through proxies that can hold a request or a reply, so a kill lands at a
// chosen step of a request.
type crashRig struct {
	*fixture
	proc    *process
	storage *testenv.Proxy
	broker  *testenv.Proxy
	env     map[string]string
	user    testenv.User
}

func newCrashRig(t *testing.T) *crashRig {
	t.Helper()
	bin, err := functionsBinary()
	if err != nil {
		t.Fatal(err)
	}
	s := testenv.Get(t)
	f := &fixture{stack: s, fs: s.Firestore(t), gcs: s.Storage(t)}
	f.bucket = s.Bucket(t, f.gcs)
	f.topo = s.Topology(t)
	r := &crashRig{fixture: f,
		storage: testenv.NewProxy(t, strings.TrimPrefix(s.StorageHost, "http://")),
		broker:  testenv.NewProxy(t, s.AMQPHost(t)),
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	r.env = map[string]string{
		"FUNCTION_TARGET": "Gateway", "HOST": "127.0.0.1", "PORT": fmt.Sprint(port),
		"GCLOUD_PROJECT": s.Project, "EVENT": testenv.Unique("event"),
		"INPUT_BUCKET": f.bucket, "OUTPUT_BUCKET": s.OutputBucket, "QUEUE_PREFIX": f.topo.Prefix,
		"AMQP_URL": r.broker.AMQPURL(t, s.AMQPURL), "STORAGE_EMULATOR_HOST": r.storage.Addr(),
		"FIRESTORE_EMULATOR_HOST":     os.Getenv("FIRESTORE_EMULATOR_HOST"),
		"FIREBASE_AUTH_EMULATOR_HOST": os.Getenv("FIREBASE_AUTH_EMULATOR_HOST"),
		"MIN_PHOTO_SIDE":              "16", "PENDING_GRACE": "10s", "JOBS_PER_MINUTE": "0",
	}
	f.url = fmt.Sprintf("http://127.0.0.1:%d", port)
	r.proc = &process{t: t, path: bin, url: f.url}
	for k, v := range r.env {
		r.proc.env = append(r.proc.env, k+"="+v)
	}
	r.proc.env = append(r.proc.env, "PATH="+os.Getenv("PATH"), "HOME="+os.Getenv("HOME"))
	r.proc.start()
	r.user = s.NewUser(t, testenv.UserOpts{})
	return r
}

func (p *process) start() {
	p.t.Helper()
	cmd := exec.Command(p.path)
	cmd.Env = p.env
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.cmd = cmd
	p.t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
	testenv.Eventually(p.t, "the Gateway process serving", func() bool {
		resp, err := http.Get(p.url + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// kill ends the process with SIGKILL: no undo, no deferred clean-up.
func (p *process) kill() {
	p.t.Helper()
	if err := p.cmd.Process.Kill(); err != nil {
		p.t.Fatal(err)
	}
	_, _ = p.cmd.Process.Wait()
}

// submitInBackground posts a job whose answer never comes (its Gateway is
// killed first).
func (r *crashRig) submitInBackground(t *testing.T, key string) {
	body, ct := multipartBody(jpegBytes(t, 120, 90), "sketch")
	go func() {
		hr, _ := http.NewRequest(http.MethodPost, r.url+"/v1/jobs", bytes.NewReader(body))
		hr.Header.Set("Content-Type", ct)
		hr.Header.Set("Authorization", "Bearer "+r.user.Token)
		hr.Header.Set("Idempotency-Key", key)
		if resp, err := http.DefaultClient.Do(hr); err == nil {
			resp.Body.Close()
		}
	}()
}

// retry posts the same submission with key and returns the answer.
func (r *crashRig) retry(t *testing.T, key string) reply {
	t.Helper()
	return r.submit(t, r.user.Token, form{photo: jpegBytes(t, 120, 90), declared: "image/jpeg",
		fields: map[string]string{"style": "sketch"}}, map[string]string{"Idempotency-Key": key})
}

// reconcileLater runs one Reconcile pass as if PENDING_GRACE had passed.
func (r *crashRig) reconcileLater(t *testing.T) gateway.ReconcileReport {
	t.Helper()
	cfg := &gateway.Config{}
	if err := config.Load(context.Background(), config.FromMap(r.env), cfg); err != nil {
		t.Fatal(err)
	}
	srv, closeFn, err := gateway.Build(context.Background(), cfg, logging.New(t.Output(), 0),
		gateway.WithClock(func() time.Time { return time.Now().Add(time.Hour) }))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = closeFn() }()
	rep, err := srv.Reconcile(testenv.Ctx(t))
	if err != nil {
		t.Fatalf("reconcile: %v", err)
	}
	return rep
}

// messagesOf drains the job queue and counts the messages per job id.
func (r *crashRig) messagesOf(t *testing.T) map[string]int {
	t.Helper()
	got := map[string]int{}
	for {
		d, ok := r.stack.GetMessage(t, r.topo.Queue())
		if !ok {
			return got
		}
		got[d.MessageId]++
	}
}

// TestGatewayKilledMidRequest kills the real Gateway process (SIGKILL, as
// an instance dies) at each step of a request with an Idempotency-Key, and
// checks that the key is never blocked for good, that the job is enqueued
// exactly once as far as the worker is concerned, and that nothing is left
// behind once the reconciler ran.
func TestGatewayKilledMidRequest(t *testing.T) {
	t.Parallel()
	t.Run("after the object", func(t *testing.T) {
		t.Parallel()
		r := newCrashRig(t)
		key := testenv.Unique("k")
		r.storage.Hold(testenv.Replies) // the object is stored, the Gateway never hears
		r.submitInBackground(t, key)
		testenv.Eventually(t, "the input object stored", func() bool { return len(testenv.Objects(t, r.gcs, r.bucket)) == 1 })
		r.proc.kill()
		r.storage.Release(testenv.Replies)
		r.proc.start()

		got := r.retry(t, key)
		if got.status != http.StatusAccepted {
			t.Fatalf("retry after the crash: %d %v, want 202", got.status, got.body)
		}
		if ids := r.requestsOf(t, r.user.UID); len(ids) != 1 {
			t.Errorf("request documents %v, want 1", ids)
		}
		if msgs := r.messagesOf(t); len(msgs) != 1 || msgs[got.jobID()] != 1 {
			t.Errorf("messages %v, want one for %s", msgs, got.jobID())
		}
		if rep := r.reconcileLater(t); rep.Orphans != 1 {
			t.Errorf("reconcile %+v, want the crashed attempt's object deleted", rep)
		}
		job, err := store.NewReader(r.fs).Job(testenv.Ctx(t), got.jobID())
		if objs := testenv.Objects(t, r.gcs, r.bucket); err != nil || len(objs) != 1 || objs[0] != job.Request.Input {
			t.Errorf("input objects %v, want only the job's %s (%v)", objs, job.Request.Input, err)
		}
	})

	t.Run("after the document", func(t *testing.T) {
		t.Parallel()
		r := newCrashRig(t)
		key := testenv.Unique("k")
		r.broker.Hold(testenv.Requests) // the publish never reaches the broker
		r.submitInBackground(t, key)
		testenv.Eventually(t, "the request document written", func() bool { return len(r.requestsOf(t, r.user.UID)) == 1 })
		r.proc.kill()
		r.broker.Release(testenv.Requests)
		r.proc.start()

		if got := r.retry(t, key); got.status != http.StatusConflict {
			t.Errorf("retry within PENDING_GRACE: %d %v, want 409 (the first request might still be alive)", got.status, got.body)
		}
		var got reply
		testenv.Eventually(t, "a retry after PENDING_GRACE finishing the job", func() bool {
			got = r.retry(t, key)
			return got.status == http.StatusAccepted
		})
		if got.header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("the finished job is not a replay: %v", got.header)
		}
		if msgs := r.messagesOf(t); len(msgs) != 1 || msgs[got.jobID()] != 1 {
			t.Errorf("messages %v, want one for %s", msgs, got.jobID())
		}
		job, err := store.NewReader(r.fs).Job(testenv.Ctx(t), got.jobID())
		if err != nil || !job.Request.Enqueued() {
			t.Errorf("job %s not marked enqueued (%v)", got.jobID(), err)
		}
		if rep := r.reconcileLater(t); rep != (gateway.ReconcileReport{}) {
			t.Errorf("reconcile after the retry: %+v, want nothing left", rep)
		}
	})

	t.Run("after the publish", func(t *testing.T) {
		t.Parallel()
		r := newCrashRig(t)
		// A first job opens the broker connection the way every later one
		// uses it.
		if warm := r.retry(t, testenv.Unique("warm")); warm.status != http.StatusAccepted {
			t.Fatalf("warm-up: %d %v", warm.status, warm.body)
		}
		key := testenv.Unique("k")
		r.broker.Hold(testenv.Replies) // the broker takes the message, its confirm never arrives
		r.submitInBackground(t, key)
		testenv.Eventually(t, "the message in the queue", func() bool { return r.stack.QueueDepth(t, r.topo.Queue()) == 2 })
		r.proc.kill()
		r.broker.Release(testenv.Replies)
		r.proc.start()

		var got reply
		testenv.Eventually(t, "a retry after PENDING_GRACE finishing the job", func() bool {
			got = r.retry(t, key)
			return got.status == http.StatusAccepted
		})
		// Published twice: the worker acks a second copy of a job it has
		// started or finished without work (worker tests).
		msgs := r.messagesOf(t)
		if msgs[got.jobID()] != 2 || len(msgs) != 2 {
			t.Errorf("messages %v, want the job's twice and the warm-up's", msgs)
		}
		job, err := store.NewReader(r.fs).Job(testenv.Ctx(t), got.jobID())
		if err != nil || !job.Request.Enqueued() {
			t.Errorf("job %s not marked enqueued (%v)", got.jobID(), err)
		}
		if ids := r.requestsOf(t, r.user.UID); len(ids) != 2 {
			t.Errorf("request documents %v, want the warm-up's and the job's", ids)
		}
	})
}
