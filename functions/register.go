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

	"github.com/tigerstudio/studio/functions/gateway"
	"github.com/tigerstudio/studio/infra/config"
	"github.com/tigerstudio/studio/infra/logging"
)

func init() {
	functions.HTTP("Gateway", serveGateway)
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
