package main

import (
	"errors"
	"fmt"

	"github.com/tigerstudio/studio/infra/blob"
	"github.com/tigerstudio/studio/infra/config"
	"github.com/tigerstudio/studio/infra/queue"
)

// Config is studioctl's environment, the same variables the components
// read. Only the project is needed by every command; each command checks
// the rest it needs with Need.
type Config struct {
	config.GCP
	Event string `env:"EVENT, default=local"`
	// Each command checks the buckets and the broker it needs (Need).
	blob.Buckets
	queue.Broker
}

// Validate reports every problem common to all commands at once.
func (c *Config) Validate() error {
	errs := c.GCP.Problems()
	if err := config.DistinctBuckets(c.InputBucket, c.OutputBucket); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Setting names what a command needs beyond the project.
type Setting string

const (
	NeedEvent   Setting = "EVENT"
	NeedInput   Setting = "INPUT_BUCKET"
	NeedOutput  Setting = "OUTPUT_BUCKET"
	NeedBroker  Setting = "AMQP_URL"
	NeedQPrefix Setting = "QUEUE_PREFIX"
)

// Need reports every missing setting a command needs, at once.
func (c *Config) Need(what string, settings ...Setting) error {
	values := map[Setting]string{
		NeedEvent: c.Event, NeedInput: c.InputBucket, NeedOutput: c.OutputBucket,
		NeedBroker: c.AMQPURL, NeedQPrefix: c.QueuePrefix,
	}
	var pairs []string
	for _, s := range settings {
		pairs = append(pairs, string(s), values[s])
	}
	if err := errors.Join(config.Required(pairs...)...); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}
