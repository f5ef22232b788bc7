// Package functions registers the Cloud Functions of this repository with the
// functions framework. Cloud Functions builds the repository's root package
// (functions.go), which imports this one; locally functions/cmd/local serves
// it.
package functions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"

	"github.com/GoogleCloudPlatform/functions-framework-go/functions"
	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/tigerstudio/studio/functions/authblock"
	"github.com/tigerstudio/studio/functions/gateway"
	"github.com/tigerstudio/studio/functions/gateway/api"
	"github.com/tigerstudio/studio/functions/notify"
	"github.com/tigerstudio/studio/infra/config"
	"github.com/tigerstudio/studio/infra/logging"
)

// The registrations and the services they build lazily are this package's
// only state, as the functions framework requires. Build's closer is not
// kept: an instance's clients live as long as it does.
var (
	gatewayService = newLazy(func(ctx context.Context, cfg *gateway.Config, log *slog.Logger) (*gateway.Server, error) {
		srv, _, err := gateway.Build(ctx, cfg, log)
		return srv, err
	})
	notifyService = newLazy(func(ctx context.Context, cfg *notify.Config, log *slog.Logger) (*notify.Service, error) {
		svc, _, err := notify.Build(ctx, cfg, log)
		return svc, err
	})
	blockService = newLazy(authblock.Build)
)

func init() {
	functions.HTTP("Gateway", serveGateway)
	functions.CloudEvent("Notify", handleNotify)
	// Run on a schedule (Cloud Scheduler; locally the runner's SCHEDULE),
	// never public: they finish what crashed requests and lost events left.
	functions.HTTP("Reconcile", scheduled(gatewayService, (*gateway.Server).Reconcile))
	functions.HTTP("NotifySweep", scheduled(notifyService, (*notify.Service).Sweep))
	// Identity Platform's blocking functions (beforeCreate, beforeSignIn).
	functions.HTTP("AuthBlocking", serveAuthBlocking)
}

func serveAuthBlocking(w http.ResponseWriter, r *http.Request) {
	h, err := blockService.get(r.Context())
	if err != nil {
		// Identity Platform refuses the sign-in on an error: fail closed.
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"error":{"status":"UNAVAILABLE","message":"sign-in checks are unavailable; try again"}}`))
		return
	}
	h.ServeHTTP(w, r)
}

// scheduled serves a scheduler's POST with pass, run on the function's service.
func scheduled[T, R any](svc *lazy[T], pass func(T, context.Context) (R, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		runScheduled(w, r, func(ctx context.Context) (any, error) {
			s, err := svc.get(ctx)
			if err != nil {
				return nil, err
			}
			return pass(s, ctx)
		})
	}
}

// runScheduled answers a scheduler's POST with the pass's report; a
// failed pass answers 500, so the scheduler records and retries it.
func runScheduled(w http.ResponseWriter, r *http.Request, pass func(context.Context) (any, error)) {
	w.Header().Set("Content-Type", "application/json")
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		w.WriteHeader(http.StatusMethodNotAllowed)
		_ = json.NewEncoder(w).Encode(api.ErrorBody{Error: api.Error{Code: api.CodeInvalidArgument, Message: "POST to run a pass"}})
		return
	}
	rep, err := pass(r.Context())
	if err != nil {
		logging.New(os.Stderr, 0).Error("scheduled pass failed", "path", r.URL.Path, "err", err)
		w.WriteHeader(http.StatusInternalServerError)
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"report": rep, "ok": err == nil})
}

func serveGateway(w http.ResponseWriter, r *http.Request) {
	h, err := gatewayService.get(r.Context())
	if err != nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_ = json.NewEncoder(w).Encode(api.ErrorBody{Error: api.Error{Code: api.CodeUnavailable, Message: "the gateway cannot start; see its logs"}})
		return
	}
	h.ServeHTTP(w, r)
}

func handleNotify(ctx context.Context, e event.Event) error {
	svc, err := notifyService.get(ctx)
	if err != nil {
		return err // the trigger retries; the logs say why
	}
	return svc.Handle(ctx, e)
}

// errConfig marks a configuration error: no retry can fix it.
var errConfig = errors.New("invalid configuration")

// component is a function's Config: validated when loaded, with a log level.
type component interface {
	config.Validator
	Level() (slog.Level, error)
}

// load reads cfg from the environment and makes the function's logger.
func load(ctx context.Context, cfg component) (*slog.Logger, error) {
	if err := config.Load(ctx, config.FromEnv(), cfg); err != nil {
		return nil, fmt.Errorf("%w: %w", errConfig, err)
	}
	level, _ := cfg.Level() // checked by Validate
	return logging.New(os.Stdout, level), nil
}

// lazy builds a service on first use, once per instance. A failed build is
// retried on the next call (a passing credential or network problem must not
// poison the instance) unless it is a configuration error, which is kept.
type lazy[T any] struct {
	build func(context.Context) (T, error)

	mu  sync.Mutex
	v   T
	ok  bool
	err error
}

func (l *lazy[T]) get(ctx context.Context) (T, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ok || l.err != nil {
		return l.v, l.err
	}
	// The service outlives the request that happened to build it.
	v, err := l.build(context.WithoutCancel(ctx))
	if err != nil {
		logging.New(os.Stderr, 0).Error("function start failed", "err", err)
		if errors.Is(err, errConfig) {
			l.err = err
		}
		return v, err
	}
	l.v, l.ok = v, true
	return v, nil
}

// newLazy builds a service with build on first use, from its function's
// Config read from the environment (a configuration error is kept).
func newLazy[C any, P interface {
	*C
	component
}, T any](build func(context.Context, P, *slog.Logger) (T, error)) *lazy[T] {
	return &lazy[T]{build: func(ctx context.Context) (T, error) {
		cfg := P(new(C))
		log, err := load(ctx, cfg)
		if err != nil {
			var zero T
			return zero, err
		}
		return build(ctx, cfg, log)
	}}
}
