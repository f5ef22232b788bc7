package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"runtime/debug"
	"strings"
	"time"

	"github.com/tigerstudio/studio/functions/gateway/internal/gatewaydb"
	"github.com/tigerstudio/studio/functions/gateway/upload"
	"github.com/tigerstudio/studio/infra/appcheck"
	"github.com/tigerstudio/studio/infra/auth"
	"github.com/tigerstudio/studio/infra/blob"
	"github.com/tigerstudio/studio/infra/clients"
	"github.com/tigerstudio/studio/infra/queue"
	"github.com/tigerstudio/studio/infra/store"
	"github.com/tigerstudio/studio/infra/styles"
)

// Option changes a collaborator Build would make.
type Option func(*Deps)

// WithClock makes the Gateway read the time from now.
func WithClock(now func() time.Time) Option { return func(d *Deps) { d.Now = now } }

// Build connects the Gateway's real collaborators from cfg. The returned
// close function releases them.
func Build(ctx context.Context, cfg *Config, log *slog.Logger, opts ...Option) (*Server, func() error, error) {
	if err := checkMemory(cfg, log); err != nil {
		return nil, nil, fmt.Errorf("gateway.Build: %w", err)
	}
	cat, err := loadCatalogue(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("gateway.Build: %w", err)
	}
	verifier, err := auth.NewVerifier(ctx, cfg.Project, auth.WithCache(cfg.Auth))
	if err != nil {
		return nil, nil, fmt.Errorf("gateway.Build: %w", err)
	}
	appCheck, err := appCheckVerifier(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("gateway.Build: %w", err)
	}
	c, err := clients.Open(ctx, cfg.Project)
	if err != nil {
		return nil, nil, fmt.Errorf("gateway.Build: %w", err)
	}
	fs, gcs := c.Firestore, c.Storage
	urls := blob.NewURLs(gcs, cfg.StorageEmulatorHost, cfg.URLExpiry)
	pub := queue.NewPublisher(cfg.AMQPURL, cfg.Topology())
	writer := gatewaydb.NewWriter(fs)
	d := Deps{
		Verifier:        verifier,
		Publisher:       pub,
		Writer:          writer,
		Budget:          writer,
		GeneratedBudget: int64(math.Round(cfg.GeneratedBudgetUSD * 1e6)),
		Reader:          store.NewReader(fs),
		Inputs:          blob.NewWriter(gcs, cfg.InputBucket),
		URLs:            urls,
		Styles:          cat,
		Logger:          log,
		Event:           cfg.Event,
		OutputBucket:    cfg.OutputBucket,
		Photos:          upload.Limits{MaxBytes: cfg.MaxBytes, MaxPixels: cfg.MaxPixels, MinSide: cfg.MinSide, MaxAspect: cfg.MaxAspect},
		PerMinute:       cfg.PerMinute,
		GuestsPerMinute: cfg.GuestsPerMinute,
		MaxUploads:      cfg.MaxUploads,
		UploadWait:      cfg.UploadWait,
		UploadTimeout:   cfg.UploadTimeout,
		UploadIdle:      cfg.UploadIdle,
		UploadsPerUser:  cfg.UploadsPerUser,
		Retention:       time.Duration(cfg.RetentionDays) * 24 * time.Hour,
		PendingGrace:    cfg.PendingGrace,
		AppOrigins:      trimSlashes(cfg.AppOrigins),
		AppCheck:        appCheck,
	}
	for _, o := range opts {
		o(&d)
	}
	closeAll := func() error { return errors.Join(pub.Close(), c.Close()) }
	return New(d), closeAll, nil
}

// appCheckVerifier checks App Check tokens when the event enforces them;
// otherwise there is none (nil). It is made before the clients are opened,
// so that a bad setting leaves nothing open.
func appCheckVerifier(cfg *Config) (AppChecker, error) {
	if cfg.AppCheck != "enforce" {
		return nil, nil
	}
	v, err := appcheck.NewVerifier(appcheck.Config{
		JWKSURL: cfg.AppCheckJWKS, ProjectNumber: cfg.AppCheckProjectNumber, AppIDs: cfg.AppCheckAppIDs,
	}, nil)
	if err != nil {
		// Not v: a nil *Verifier in the interface would not be nil.
		return nil, err
	}
	return v, nil
}

// checkMemory holds the upload limits against the instance's memory
// (GOMEMLIMIT), warning when there is none to hold them against.
func checkMemory(cfg *Config, log *slog.Logger) error {
	memLimit := debug.SetMemoryLimit(-1)
	if memLimit == math.MaxInt64 {
		log.Warn("GOMEMLIMIT is not set; the garbage collector does not know the instance's memory size")
	}
	return cfg.CheckMemory(memLimit)
}

// loadCatalogue is the event's styles, without the generated ones when the
// event has them off.
func loadCatalogue(cfg *Config) (*styles.Catalogue, error) {
	cat, err := styles.Load(cfg.StylesFile)
	if err == nil && !cfg.GeneratedStyles {
		cat, err = cat.WithoutGenerated()
	}
	return cat, err
}

// trimSlashes drops a trailing slash, which a browser's Origin never has.
func trimSlashes(origins []string) []string {
	out := make([]string, len(origins))
	for i, o := range origins {
		out[i] = strings.TrimSuffix(o, "/")
	}
	return out
}

// The adapters Build wires satisfy the Gateway's interfaces.
var (
	_ Verifier   = (*auth.Verifier)(nil)
	_ Publisher  = (*queue.Publisher)(nil)
	_ Writer     = (*gatewaydb.Writer)(nil)
	_ Budget     = (*gatewaydb.Writer)(nil)
	_ Reader     = (*store.Reader)(nil)
	_ Inputs     = (*blob.Writer)(nil)
	_ AppChecker = (*appcheck.Verifier)(nil)
)
