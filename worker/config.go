package worker

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/tigerstudio/studio/infra/blob"
	"github.com/tigerstudio/studio/infra/config"
	"github.com/tigerstudio/studio/infra/logging"
	"github.com/tigerstudio/studio/infra/queue"
	"github.com/tigerstudio/studio/worker/generate/vertex"
)

// Config is the worker's environment, documented in README.md.
type Config struct {
	config.GCP
	blob.Buckets
	queue.Broker
	StylesFile string `env:"STYLES_FILE"`
	Port       string `env:"PORT, default=8080"`
	// Slots is the number of jobs in hand, and the prefetch. The default of
	// two per GPU keeps the GPU busy: the next job is downloaded, decoded
	// and run through its CPU steps while the current one's model runs.
	// Without preemption a booth job may wait for every job in hand.
	Slots int `env:"WORKER_SLOTS, default=2"`
	// Generations bounds the local model runs (ONNX session runs) at once:
	// one per GPU. Only model runs take these turns; a job's other steps
	// overlap them. 0: no bound (as many as slots).
	Generations int `env:"WORKER_GENERATIONS, default=1"`
	MaxAttempts int `env:"WORKER_MAX_ATTEMPTS, default=3"`
	// Preempt makes room for a booth job at once: when every slot is busy
	// the consumer hands the newest online job back (a slot), and when
	// every model run is an online one the worker stops one, which runs
	// again after the booth job's (the GPU). The booth job waits for neither.
	Preempt      bool          `env:"WORKER_PREEMPT, default=true"`
	Grace        time.Duration `env:"WORKER_GRACE, default=8s"`
	RetryBackoff time.Duration `env:"WORKER_RETRY_BACKOFF, default=2s"`
	MaxSide      int           `env:"WORKER_MAX_SIDE, default=1024"`
	MaxInput     int64         `env:"WORKER_MAX_INPUT_BYTES, default=33554432"`
	// Device picks the ONNX execution provider: cpu or cuda.
	Device         string `env:"WORKER_DEVICE, default=cpu"`
	ModelDir       string `env:"MODEL_DIR"`
	ORTLibraryPath string `env:"ORT_LIBRARY_PATH"`
	LogLevel       string `env:"LOG_LEVEL, default=info"`

	// Vertex AI draws the generated styles (their generate steps). The
	// project defaults to GCLOUD_PROJECT; credentials are the service
	// account's (ADC). VertexStandInURL points the SDK at the local stack's
	// stand-in instead (unset in the cloud).
	VertexProject     string        `env:"VERTEX_PROJECT"`
	VertexLocation    string        `env:"VERTEX_LOCATION, default=global"`
	VertexModel       string        `env:"VERTEX_MODEL, default=gemini-2.5-flash-image"`
	VertexStandInURL  string        `env:"VERTEX_STANDIN_URL"`
	VertexMaxInFlight int           `env:"VERTEX_MAX_IN_FLIGHT, default=8"`
	VertexTimeout     time.Duration `env:"VERTEX_TIMEOUT, default=60s"`
	// BusyRetries bounds how often a job the hosted model refused for now
	// (429, 503, a deadline) is put back without using an attempt.
	BusyRetries int `env:"WORKER_BUSY_RETRIES, default=8"`
}

// Vertex is the generate step's configuration.
func (c *Config) Vertex() vertex.Config {
	project := c.VertexProject
	if project == "" {
		project = c.Project
	}
	return vertex.Config{
		Project: project, Location: c.VertexLocation, Model: c.VertexModel,
		StandInURL: c.VertexStandInURL, MaxInFlight: c.VertexMaxInFlight, Timeout: c.VertexTimeout,
	}
}

// Validate reports every problem at once.
func (c *Config) Validate() error {
	errs := c.GCP.Problems()
	errs = append(errs, c.Buckets.Problems()...)
	errs = append(errs, c.Broker.Problems()...)
	if c.Slots < 1 || c.Slots > 64 {
		errs = append(errs, fmt.Errorf("WORKER_SLOTS=%d must be within 1..64", c.Slots))
	}
	if c.Generations < 0 || c.Generations > c.Slots {
		errs = append(errs, fmt.Errorf("WORKER_GENERATIONS=%d must be within 0..WORKER_SLOTS (%d)", c.Generations, c.Slots))
	}
	if c.MaxAttempts < 1 {
		errs = append(errs, fmt.Errorf("WORKER_MAX_ATTEMPTS=%d must be at least 1", c.MaxAttempts))
	}
	if c.Grace < 0 {
		errs = append(errs, fmt.Errorf("WORKER_GRACE=%s must not be negative", c.Grace))
	}
	if c.RetryBackoff <= 0 {
		errs = append(errs, fmt.Errorf("WORKER_RETRY_BACKOFF=%s must be positive", c.RetryBackoff))
	}
	if c.MaxSide < 64 {
		errs = append(errs, fmt.Errorf("WORKER_MAX_SIDE=%d must be at least 64", c.MaxSide))
	}
	if c.Device != "cpu" && c.Device != "cuda" {
		errs = append(errs, fmt.Errorf("WORKER_DEVICE=%q: want cpu or cuda", c.Device))
	}
	if c.BusyRetries < 0 || c.BusyRetries > 100 {
		errs = append(errs, fmt.Errorf("WORKER_BUSY_RETRIES=%d must be within 0..100", c.BusyRetries))
	}
	errs = append(errs, c.Vertex().Validate())
	if _, err := c.Level(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Level parses LOG_LEVEL.
func (c *Config) Level() (slog.Level, error) { return logging.ParseLevel(c.LogLevel) }
