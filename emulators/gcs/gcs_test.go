package gcs

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tigerstudio/studio/infra/testenv"
)

// freePort asks the kernel for a port that is free right now.
func freePort(t *testing.T) uint16 {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return uint16(l.Addr().(*net.TCPAddr).Port)
}

func TestValidate(t *testing.T) {
	for name, c := range map[string]Config{
		"no host":      {Port: 1, Buckets: []string{"a"}},
		"no port":      {Host: "127.0.0.1", Buckets: []string{"a"}},
		"empty bucket": {Host: "127.0.0.1", Port: 1, Buckets: []string{""}},
		"duplicate":    {Host: "127.0.0.1", Port: 1, Buckets: []string{"a", "a"}},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("%s: Validate() = nil, want error", name)
		}
	}
}

// TestServesPathStyle checks what the Go storage client relies on: buckets
// exist at start, the JSON upload works, and a path-style GET /bucket/object
// (how NewReader reads through STORAGE_EMULATOR_HOST) returns the bytes.
func TestServesPathStyle(t *testing.T) {
	cfg := Config{Host: "127.0.0.1", Port: freePort(t), Buckets: []string{"in", "out"}}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, slog.New(slog.DiscardHandler), cfg) }()
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Run did not return after cancel")
		}
	}()
	base := "http://" + cfg.Addr()

	var body string
	testenv.Eventually(t, "the buckets listed", func() bool {
		resp, err := http.Get(base + "/storage/v1/b")
		if err != nil {
			return false
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body = string(b)
		return strings.Contains(body, `"out"`)
	})
	if !strings.Contains(body, `"in"`) {
		t.Fatalf("bucket list %s lacks in", body)
	}

	resp, err := http.Post(base+"/upload/storage/v1/b/in/o?uploadType=media&name=dir/a.txt", "text/plain", strings.NewReader("hello"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("upload status %d", resp.StatusCode)
	}
	resp, err = http.Get(base + "/in/dir/a.txt")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(got) != "hello" {
		t.Fatalf("path-style read: status %d body %q", resp.StatusCode, got)
	}
}
