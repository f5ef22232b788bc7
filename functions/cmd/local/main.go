// Command local serves the functions of this repository on the functions
// framework, the way Cloud Functions runs them: FUNCTION_TARGET picks the
// function, PORT the port.
//
// In the cloud the instance's server sits behind Cloud Functions' (Cloud
// Run's) front end, which takes slow or stalled clients' connections itself;
// this runner faces clients directly, so its own http.Server bounds how long
// a client may take to send its headers and keep an idle connection.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	_ "github.com/tigerstudio/studio/functions"
	"github.com/tigerstudio/studio/infra/config"
	"github.com/tigerstudio/studio/infra/entry"
	"github.com/tigerstudio/studio/infra/logging"
)

// runnerConfig is the runner's own environment; each function reads its own
// Config on first use.
type runnerConfig struct {
	Target string `env:"FUNCTION_TARGET"`
	Host   string `env:"HOST, default=127.0.0.1"`
	Port   string `env:"PORT, default=8080"`
	// ReadHeaderTimeout bounds the time from accepting a connection (or
	// its previous response) to the end of a request's headers: a client
	// that trickles or stalls its headers (slowloris) is dropped after it.
	ReadHeaderTimeout time.Duration `env:"HTTP_READ_HEADER_TIMEOUT, default=10s"`
	// ReadTimeout bounds reading a whole request, body included, for
	// handlers that set no deadline of their own. The Gateway sets its own
	// per-request body deadline (UPLOAD_TIMEOUT), which replaces this one,
	// so this is only a backstop: it is generous so that it cannot cut an
	// upload the Gateway would allow.
	ReadTimeout time.Duration `env:"HTTP_READ_TIMEOUT, default=5m"`
	// IdleTimeout bounds how long a keep-alive connection waits for its next
	// request.
	IdleTimeout time.Duration `env:"HTTP_IDLE_TIMEOUT, default=60s"`
	// MaxHeaderBytes bounds a request's headers (net/http's default is
	// 1 MiB); an ID token and the usual headers take a few KiB.
	MaxHeaderBytes int `env:"HTTP_MAX_HEADER_BYTES, default=65536"`
	// ShutdownTimeout bounds how long requests in flight may finish after
	// SIGTERM.
	ShutdownTimeout time.Duration `env:"HTTP_SHUTDOWN_TIMEOUT, default=10s"`
	// Schedule, when set, makes the runner POST to its own function this
	// often, as Cloud Scheduler does for Reconcile and NotifySweep.
	Schedule time.Duration `env:"SCHEDULE"`
}

const (
	minHeaderBytes = 4 << 10
	maxHeaderBytes = 1 << 20
)

// Validate reports every problem at once.
func (c *runnerConfig) Validate() error {
	var errs []error
	switch c.Target {
	case "Gateway", "Notify", "Reconcile", "NotifySweep", "AuthBlocking":
	default:
		errs = append(errs, fmt.Errorf("FUNCTION_TARGET=%q: want Gateway, Notify, Reconcile, NotifySweep or AuthBlocking", c.Target))
	}
	if c.Schedule < 0 {
		errs = append(errs, fmt.Errorf("SCHEDULE=%s must not be negative", c.Schedule))
	}
	// Zero would mean "no limit" to net/http (or, for the header timeout,
	// fall back to ReadTimeout): each must be set.
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"HTTP_READ_HEADER_TIMEOUT", c.ReadHeaderTimeout},
		{"HTTP_READ_TIMEOUT", c.ReadTimeout},
		{"HTTP_IDLE_TIMEOUT", c.IdleTimeout},
		{"HTTP_SHUTDOWN_TIMEOUT", c.ShutdownTimeout},
	} {
		if d.v <= 0 {
			errs = append(errs, fmt.Errorf("%s=%s must be positive", d.name, d.v))
		}
	}
	if c.ReadTimeout < c.ReadHeaderTimeout {
		errs = append(errs, fmt.Errorf("HTTP_READ_TIMEOUT=%s must not be shorter than HTTP_READ_HEADER_TIMEOUT=%s", c.ReadTimeout, c.ReadHeaderTimeout))
	}
	if c.MaxHeaderBytes < minHeaderBytes || c.MaxHeaderBytes > maxHeaderBytes {
		errs = append(errs, fmt.Errorf("HTTP_MAX_HEADER_BYTES=%d must be between %d and %d", c.MaxHeaderBytes, minHeaderBytes, maxHeaderBytes))
	}
	return errors.Join(errs...)
}

func main() {
	log := logging.New(os.Stderr, slog.LevelInfo)
	entry.Main(func(ctx context.Context) error { return realMain(ctx, log) }, func(err error) {
		log.Error("functions runner stopped", "err", err)
	})
}

func realMain(ctx context.Context, log *slog.Logger) error {
	var cfg runnerConfig
	if err := config.Load(ctx, config.FromEnv(), &cfg); err != nil {
		return err
	}
	h, err := frameworkHandler()
	if err != nil {
		return fmt.Errorf("funcframework: %w", err)
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", net.JoinHostPort(cfg.Host, cfg.Port))
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	log.Info("serving function", "target", cfg.Target, "addr", ln.Addr().String())
	if cfg.Schedule > 0 {
		go schedule(ctx, "http://"+ln.Addr().String()+"/", cfg.Schedule, log)
	}
	return serve(ctx, newServer(&cfg, h), ln, cfg.ShutdownTimeout)
}

// schedule POSTs to url every period until ctx ends, as Cloud Scheduler
// does; a failed pass is logged and the next one tries again.
func schedule(ctx context.Context, url string, period time.Duration, log *slog.Logger) {
	tick := time.NewTicker(period)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, nil)
		if err != nil {
			log.Error("schedule", "err", err)
			return
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Warn("scheduled pass could not run", "err", err)
			continue
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		log.Info("scheduled pass", "status", resp.StatusCode, "result", string(body))
	}
}

// newServer is the runner's http.Server around h, with cfg's limits. No
// WriteTimeout: it would count from the end of the headers and so cut a
// slow but legitimate upload together with its answer; responses here are
// small JSON documents.
func newServer(cfg *runnerConfig, h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    cfg.MaxHeaderBytes,
	}
}

// serve runs srv on ln until ctx is done, then shuts it down, giving the
// requests in flight up to shutdownTimeout to finish.
func serve(ctx context.Context, srv *http.Server, ln net.Listener, shutdownTimeout time.Duration) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}
