// Package functions registers the Cloud Functions of this repository with the
// functions framework. Cloud Functions builds it with GOOGLE_FUNCTION_SOURCE
// pointing here; locally functions/cmd/local serves it.
package functions

import (
	"context"
	"net/http"
	"os"
	"sync"

	"github.com/GoogleCloudPlatform/functions-framework-go/functions"
	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/tigerstudio/studio/functions/gateway"
	"github.com/tigerstudio/studio/functions/notify"
	"github.com/tigerstudio/studio/infra/config"
	"github.com/tigerstudio/studio/infra/logging"
)

func init() {
	functions.HTTP("Gateway", serveGateway)
	functions.CloudEvent("Notify", handleNotify)
}

// gatewayHandler builds the Gateway once per instance, on the first request;
// a configuration error is answered (and logged) on every request instead of
// crashing the instance in a loop.
var gatewayHandler = sync.OnceValues(func() (http.Handler, error) {
	ctx := context.Background()
	var cfg gateway.Config
	if err := config.Load(ctx, config.FromEnv(), &cfg); err != nil {
		logging.New(os.Stderr, 0).Error("gateway configuration", "err", err)
		return nil, err
	}
	level, _ := cfg.Level() // checked by Validate
	srv, _, err := gateway.Build(ctx, &cfg, logging.New(os.Stdout, level))
	if err != nil {
		logging.New(os.Stderr, 0).Error("gateway start", "err", err)
		return nil, err
	}
	return srv, nil
})

// notifyService builds Notify once per instance, like gatewayHandler.
var notifyService = sync.OnceValues(func() (*notify.Service, error) {
	ctx := context.Background()
	var cfg notify.Config
	if err := config.Load(ctx, config.FromEnv(), &cfg); err != nil {
		logging.New(os.Stderr, 0).Error("notify configuration", "err", err)
		return nil, err
	}
	level, _ := cfg.Level() // checked by Validate
	svc, _, err := notify.Build(ctx, &cfg, logging.New(os.Stdout, level))
	if err != nil {
		logging.New(os.Stderr, 0).Error("notify start", "err", err)
		return nil, err
	}
	return svc, nil
})

func handleNotify(ctx context.Context, e event.Event) error {
	svc, err := notifyService()
	if err != nil {
		return err // the trigger retries; the logs say why
	}
	return svc.Handle(ctx, e)
}

func serveGateway(w http.ResponseWriter, r *http.Request) {
	h, err := gatewayHandler()
	if err != nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"error":{"code":"unavailable","message":"the gateway is misconfigured; see its logs"}}`))
		return
	}
	h.ServeHTTP(w, r)
}
