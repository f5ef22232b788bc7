package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tigerstudio/studio/infra/config/configtest"
	"github.com/tigerstudio/studio/infra/logging"
	"github.com/tigerstudio/studio/infra/testenv"
)

func TestRunnerConfig(t *testing.T) {
	base := map[string]string{"FUNCTION_TARGET": "Gateway"}
	configtest.Run(t, func() *runnerConfig { return &runnerConfig{} }, []configtest.Case{
		{Name: "defaults", Env: base},
		{Name: "Notify", Env: configtest.With(base, "FUNCTION_TARGET", "Notify")},
		{Name: "scheduled Reconcile", Env: configtest.With(base, "FUNCTION_TARGET", "Reconcile", "SCHEDULE", "30s")},
		{Name: "scheduled NotifySweep", Env: configtest.With(base, "FUNCTION_TARGET", "NotifySweep", "SCHEDULE", "30s")},
		{Name: "negative schedule", Env: configtest.With(base, "SCHEDULE", "-1s"), Want: []string{"SCHEDULE"}},
		{Name: "no target", Env: map[string]string{}, Want: []string{"FUNCTION_TARGET"}},
		{Name: "no limits", Env: configtest.With(base, "HTTP_READ_HEADER_TIMEOUT", "0s", "HTTP_READ_TIMEOUT", "0s",
			"HTTP_IDLE_TIMEOUT", "0s", "HTTP_SHUTDOWN_TIMEOUT", "-1s"),
			Want: []string{"HTTP_READ_HEADER_TIMEOUT", "HTTP_READ_TIMEOUT", "HTTP_IDLE_TIMEOUT", "HTTP_SHUTDOWN_TIMEOUT"}},
		{Name: "body deadline shorter than the headers'", Env: configtest.With(base, "HTTP_READ_TIMEOUT", "5s"), Want: []string{"HTTP_READ_TIMEOUT"}},
		{Name: "header bytes unbounded", Env: configtest.With(base, "HTTP_MAX_HEADER_BYTES", "0"), Want: []string{"HTTP_MAX_HEADER_BYTES"}},
		{Name: "header bytes huge", Env: configtest.With(base, "HTTP_MAX_HEADER_BYTES", "10485760"), Want: []string{"HTTP_MAX_HEADER_BYTES"}},
	})
}

// testConfig has timeouts small enough for a test and a ReadTimeout far
// above them, as in production.
func testConfig() *runnerConfig {
	return &runnerConfig{
		ReadHeaderTimeout: 200 * time.Millisecond,
		ReadTimeout:       time.Minute,
		IdleTimeout:       300 * time.Millisecond,
		MaxHeaderBytes:    minHeaderBytes,
		ShutdownTimeout:   5 * time.Second,
	}
}

// echoLength answers with the number of body bytes it read.
var echoLength = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	n, err := io.Copy(io.Discard, r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	fmt.Fprint(w, n)
})

// start serves h with cfg on a fresh loopback port until the test ends and
// returns the address.
func start(t *testing.T, cfg *runnerConfig, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, newServer(cfg, h), ln, cfg.ShutdownTimeout) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return ln.Addr().String()
}

// waitClosed reads conn until the server closes it, failing the test if
// that takes longer than within (the test's own, generous deadline), and
// returns how long it took from since.
func waitClosed(t *testing.T, conn net.Conn, since time.Time, within time.Duration) time.Duration {
	t.Helper()
	if err := conn.SetReadDeadline(time.Now().Add(within)); err != nil {
		t.Fatal(err)
	}
	_, err := io.Copy(io.Discard, conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("connection still open after %s", within)
	}
	// EOF (nil from io.Copy) or a reset: either way the server let go.
	return time.Since(since)
}

// TestServerDropsSlowClients checks that connections that stall before or
// inside their headers, or idle after a response, are closed by the server
// after the configured timeout.
func TestServerDropsSlowClients(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	addr := start(t, cfg, echoLength)
	for _, tc := range []struct {
		name string
		send string
		// respond: send is a whole request; read its answer first.
		respond bool
		after   time.Duration
	}{
		{name: "connects and sends nothing", after: cfg.ReadHeaderTimeout},
		{name: "stalls inside its headers", send: "POST / HTTP/1.1\r\nHost: x\r\nContent-Le", after: cfg.ReadHeaderTimeout},
		{name: "stalls after a header line", send: "GET / HTTP/1.1\r\nHost: x\r\n", after: cfg.ReadHeaderTimeout},
		{name: "idles after a response", send: "GET / HTTP/1.1\r\nHost: x\r\n\r\n", respond: true, after: cfg.IdleTimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			began := time.Now()
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := io.WriteString(conn, tc.send); err != nil {
				t.Fatal(err)
			}
			r := bufio.NewReader(conn)
			if tc.respond {
				resp, err := http.ReadResponse(r, nil)
				if err != nil {
					t.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("status %d", resp.StatusCode)
				}
			}
			took := waitClosed(t, conn, began, 10*time.Second)
			// The server's clock starts after ours: it cannot have closed
			// before its timeout had passed since we dialled.
			if took < tc.after {
				t.Errorf("closed after %s, before the timeout %s: not the timeout", took, tc.after)
			}
		})
	}
}

// TestServerServes checks that the limits leave ordinary clients alone: a
// plain request, and a body sent slowly over several header timeouts (an
// upload on a poor connection), which ReadHeaderTimeout must not cut.
func TestServerServes(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	addr := start(t, cfg, echoLength)

	t.Run("plain request", func(t *testing.T) {
		t.Parallel()
		resp, err := http.Post("http://"+addr+"/", "text/plain", strings.NewReader("hello"))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || string(body) != "5" {
			t.Fatalf("got %d %q, want 200 \"5\"", resp.StatusCode, body)
		}
	})

	t.Run("slow body", func(t *testing.T) {
		t.Parallel()
		const chunks, size = 5, 1000
		pr, pw := io.Pipe()
		go func() {
			// Pace the chunks like a slow client: the point is the time
			// they span (5 × the header timeout), not a condition.
			tick := time.NewTicker(cfg.ReadHeaderTimeout)
			defer tick.Stop()
			for range chunks {
				<-tick.C
				if _, err := pw.Write(make([]byte, size)); err != nil {
					return
				}
			}
			pw.Close()
		}()
		req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/", pr)
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = chunks * size
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || string(body) != strconv.Itoa(chunks*size) {
			t.Fatalf("got %d %q, want 200 %q", resp.StatusCode, body, strconv.Itoa(chunks*size))
		}
	})

	t.Run("headers too large", func(t *testing.T) {
		t.Parallel()
		req, err := http.NewRequest(http.MethodGet, "http://"+addr+"/", nil)
		if err != nil {
			t.Fatal(err)
		}
		// net/http reads MaxHeaderBytes plus 4 KiB of slack.
		req.Header.Set("X-Padding", strings.Repeat("x", 2*cfg.MaxHeaderBytes+4096))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Fatalf("status %d, want 431", resp.StatusCode)
		}
	})
}

// TestServeShutsDownGracefully checks that cancelling serve's context lets a
// request in flight finish, then returns without error and stops listening.
func TestServeShutsDownGracefully(t *testing.T) {
	t.Parallel()
	entered, release := make(chan struct{}), make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		fmt.Fprint(w, "done")
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	cfg := testConfig()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- serve(ctx, newServer(cfg, h), ln, cfg.ShutdownTimeout) }()

	answered := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + addr + "/")
		if err != nil {
			answered <- err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		answered <- string(b)
	}()
	<-entered
	cancel()
	close(release)
	if got := <-answered; got != "done" {
		t.Errorf("request in flight got %q, want done", got)
	}
	if err := <-served; err != nil {
		t.Errorf("serve: %v", err)
	}
	if conn, err := net.Dial("tcp", addr); err == nil {
		conn.Close()
		t.Error("still listening after shutdown")
	}
}

// TestFrameworkHandler checks that the linked funcframework.initServer
// gives the framework's handler for FUNCTION_TARGET, routing to this
// repository's registered functions. Not parallel: the framework reads
// FUNCTION_TARGET from the process environment.
func TestFrameworkHandler(t *testing.T) {
	for _, tc := range []struct {
		name       string
		target     string
		env        map[string]string
		req        *http.Request
		wantStatus int
		wantBody   string
		wantErr    bool
	}{
		{
			// The Gateway builds itself on first use; with its config
			// missing it answers 503 with its own error body, which shows
			// the request reached the registered function.
			name: "Gateway", target: "Gateway", env: map[string]string{"INPUT_BUCKET": ""},
			req:        httptest.NewRequest(http.MethodGet, "/healthz", nil),
			wantStatus: http.StatusServiceUnavailable, wantBody: "the gateway cannot start",
		},
		{
			// A POST that is no CloudEvent is refused by the framework's
			// CloudEvent decoding before Notify is built.
			name: "Notify", target: "Notify",
			req:        httptest.NewRequest(http.MethodPost, "/", strings.NewReader("{}")),
			wantStatus: http.StatusBadRequest,
		},
		{name: "unknown target", target: "Nope", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("FUNCTION_TARGET", tc.target)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			h, err := frameworkHandler()
			if tc.wantErr {
				if err == nil {
					t.Fatal("no error for an unregistered target")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, tc.req)
			if rec.Code != tc.wantStatus || !strings.Contains(rec.Body.String(), tc.wantBody) {
				t.Errorf("got %d %q, want %d containing %q", rec.Code, rec.Body.String(), tc.wantStatus, tc.wantBody)
			}
		})
	}
}

// TestSchedule: the runner stands in for Cloud Scheduler, POSTing to its
// function every period until stopped.
func TestSchedule(t *testing.T) {
	var posts atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			posts.Add(1)
		}
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { schedule(ctx, srv.URL, 10*time.Millisecond, logging.New(io.Discard, 0)); close(done) }()
	testenv.Eventually(t, "three scheduled passes", func() bool { return posts.Load() >= 3 })
	cancel()
	<-done
}
