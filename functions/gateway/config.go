package gateway

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"time"

	"github.com/tigerstudio/studio/infra/auth"
	"github.com/tigerstudio/studio/infra/blob"
	"github.com/tigerstudio/studio/infra/config"
	"github.com/tigerstudio/studio/infra/logging"
	"github.com/tigerstudio/studio/infra/queue"
)

// Config is the Gateway's environment, documented in README.md.
type Config struct {
	config.GCP
	Event string `env:"EVENT, default=local"`
	blob.Buckets
	queue.Broker
	StylesFile string `env:"STYLES_FILE"`
	MaxBytes   int64  `env:"MAX_UPLOAD_BYTES, default=15728640"`
	MaxPixels  int64  `env:"MAX_PIXELS, default=25000000"`
	// MinSide and MaxAspect refuse photos no portrait can come from (a
	// thumbnail, a 1 x 25,000,000 strip) at the door, not in the worker.
	MinSide   int     `env:"MIN_PHOTO_SIDE, default=256"`
	MaxAspect float64 `env:"MAX_PHOTO_ASPECT, default=4"`
	PerMinute int     `env:"JOBS_PER_MINUTE, default=20"`
	// GuestsPerMinute caps the jobs all guests (anonymous accounts) of the
	// event together may submit in a minute: a new guest account costs
	// nothing, so the per-user limit alone does not stop one client from
	// flooding the queue; signed-in attendees are not counted. 0 disables.
	GuestsPerMinute int `env:"GUEST_JOBS_PER_MINUTE, default=60"`
	// GeneratedStyles offers the styles a hosted model draws (Vertex AI);
	// false lists and accepts the local styles only.
	GeneratedStyles bool `env:"GENERATED_STYLES, default=true"`
	// GeneratedBudgetUSD is the event's budget for generated images at list
	// price: once the accepted generated jobs would pass it, generated
	// styles are refused (429) and the local ones still work. 0: no budget.
	GeneratedBudgetUSD float64 `env:"GENERATED_BUDGET_USD, default=0"`
	// MaxUploads bounds the job submissions an instance handles at once.
	// Each holds its photo about twice (the read and the Storage chunk),
	// so with MAX_UPLOAD_BYTES it bounds the memory photos take; further
	// submissions wait UploadWait for a turn, then get 503.
	MaxUploads int           `env:"MAX_UPLOADS_IN_FLIGHT, default=8"`
	UploadWait time.Duration `env:"UPLOAD_WAIT, default=2s"`
	// UploadTimeout bounds reading one request body, so a slow or stalled
	// client cannot hold a turn for long.
	UploadTimeout time.Duration `env:"UPLOAD_TIMEOUT, default=60s"`
	// UploadIdle gives a submission's turn back when its body sends no
	// byte for that long: a stalled client loses its turn in seconds, not
	// at UploadTimeout.
	UploadIdle time.Duration `env:"UPLOAD_IDLE_TIMEOUT, default=5s"`
	// UploadsPerUser bounds one account's submissions in flight, so one
	// account's stalled uploads cannot take every turn; more get 429.
	UploadsPerUser int `env:"UPLOADS_PER_USER, default=2"`
	// RetentionDays is the event's one retention setting: how long a job's
	// documents and images are kept, which the consent text states
	// (studio.json's retentionDays, written from the same value), the
	// buckets' lifecycle deletes after and each job document's expireAt
	// (Firestore's TTL) says. A pick-up code opens its job as long.
	RetentionDays int `env:"RETENTION_DAYS, default=7"`
	// AppCheck "enforce" refuses job submissions without a valid Firebase
	// App Check token from the event's web app (reCAPTCHA Enterprise in the
	// cloud; the stack's stand-in locally); "off" checks none.
	AppCheck string `env:"APP_CHECK, default=off"`
	// AppCheckJWKS is where App Check's signing keys are published (the
	// stand-in's locally).
	AppCheckJWKS string `env:"APP_CHECK_JWKS_URL, default=https://firebaseappcheck.googleapis.com/v1/jwks"`
	// AppCheckProjectNumber is the Firebase project's number, which App
	// Check tokens name as issuer and audience.
	AppCheckProjectNumber string `env:"APP_CHECK_PROJECT_NUMBER"`
	// AppCheckAppIDs are the Firebase app ids accepted (the event's web
	// app); empty: every app of the project.
	AppCheckAppIDs []string `env:"APP_CHECK_APP_IDS"`
	// PendingGrace is how long a request may take from its document to
	// the broker's confirm; past it, the reconciler finishes what a dead
	// request left (see enqueue.go).
	PendingGrace time.Duration `env:"PENDING_GRACE, default=2m"`
	// StorageEmulatorHost switches output links from signed URLs to the
	// emulator's download URLs.
	StorageEmulatorHost string        `env:"STORAGE_EMULATOR_HOST"`
	URLExpiry           time.Duration `env:"SIGNED_URL_EXPIRY, default=24h"`
	LogLevel            string        `env:"LOG_LEVEL, default=info"`
	// AppOrigins are the web app's origins allowed to call the API from a
	// browser (CORS): the event's Hosting site; locally WEB_URL.
	AppOrigins []string `env:"APP_ORIGINS"`
	// Auth caches each user's disabled/revoked state (AUTH_USER_CACHE_*).
	Auth auth.CacheConfig
}

// Validate reports every problem at once.
func (c *Config) Validate() error {
	errs := append(c.GCP.Problems(), config.Required("EVENT", c.Event)...)
	errs = append(errs, c.Buckets.Problems()...)
	errs = append(errs, c.Broker.Problems()...)
	if c.MaxBytes < 1024 {
		errs = append(errs, fmt.Errorf("MAX_UPLOAD_BYTES=%d is too small", c.MaxBytes))
	}
	if c.MaxPixels < 1024 {
		errs = append(errs, fmt.Errorf("MAX_PIXELS=%d is too small", c.MaxPixels))
	}
	if c.MinSide < 1 || c.MaxAspect < 1 {
		errs = append(errs, fmt.Errorf("MIN_PHOTO_SIDE=%d and MAX_PHOTO_ASPECT=%g must be at least 1", c.MinSide, c.MaxAspect))
	}
	if c.PerMinute < 0 {
		errs = append(errs, fmt.Errorf("JOBS_PER_MINUTE=%d must not be negative", c.PerMinute))
	}
	if !(c.GeneratedBudgetUSD >= 0) || math.IsInf(c.GeneratedBudgetUSD, 0) {
		errs = append(errs, fmt.Errorf("GENERATED_BUDGET_USD=%v must be a price in US dollars, or 0 for none", c.GeneratedBudgetUSD))
	}
	if c.GuestsPerMinute < 0 {
		errs = append(errs, fmt.Errorf("GUEST_JOBS_PER_MINUTE=%d must not be negative", c.GuestsPerMinute))
	}
	switch c.AppCheck {
	case "off":
	case "enforce":
		if c.AppCheckProjectNumber == "" || c.AppCheckJWKS == "" {
			errs = append(errs, errors.New("APP_CHECK=enforce needs APP_CHECK_PROJECT_NUMBER and APP_CHECK_JWKS_URL"))
		}
	default:
		errs = append(errs, fmt.Errorf("APP_CHECK=%q: want enforce or off", c.AppCheck))
	}
	if c.RetentionDays < 1 || c.RetentionDays > 3650 {
		errs = append(errs, fmt.Errorf("RETENTION_DAYS=%d must be between 1 and 3650", c.RetentionDays))
	}
	if c.UploadIdle <= 0 || c.UploadsPerUser < 1 {
		errs = append(errs, fmt.Errorf("UPLOAD_IDLE_TIMEOUT=%s must be positive and UPLOADS_PER_USER=%d at least 1", c.UploadIdle, c.UploadsPerUser))
	}
	if c.MaxUploads < 1 {
		errs = append(errs, fmt.Errorf("MAX_UPLOADS_IN_FLIGHT=%d must be at least 1", c.MaxUploads))
	}
	if c.UploadWait < 0 || c.UploadTimeout <= 0 {
		errs = append(errs, fmt.Errorf("UPLOAD_WAIT=%s must not be negative and UPLOAD_TIMEOUT=%s must be positive", c.UploadWait, c.UploadTimeout))
	}
	if c.PendingGrace < 10*time.Second {
		errs = append(errs, fmt.Errorf("PENDING_GRACE=%s must be at least 10s: it bounds the enqueue and undo steps", c.PendingGrace))
	}
	for _, o := range c.AppOrigins {
		if u, err := url.Parse(o); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			errs = append(errs, fmt.Errorf("APP_ORIGINS: %q is not an origin (scheme://host[:port])", o))
		}
	}
	errs = append(errs, blob.CheckURLExpiry(c.URLExpiry), c.Auth.Validate())
	if _, err := c.Level(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// CheckMemory reports whether the uploads in flight fit in half of the
// instance's memory limit (GOMEMLIMIT; math.MaxInt64 when unset), leaving
// the rest to the clients and the runtime.
func (c *Config) CheckMemory(limit int64) error {
	need := 2 * int64(c.MaxUploads) * c.MaxBytes
	if limit != math.MaxInt64 && need > limit/2 {
		return fmt.Errorf("MAX_UPLOADS_IN_FLIGHT=%d photos of up to MAX_UPLOAD_BYTES=%d need %d MiB, more than half of GOMEMLIMIT (%d MiB)",
			c.MaxUploads, c.MaxBytes, need>>20, limit>>20)
	}
	return nil
}

// Level parses LOG_LEVEL.
func (c *Config) Level() (slog.Level, error) { return logging.ParseLevel(c.LogLevel) }
