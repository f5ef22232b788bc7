// Package config loads a component's typed configuration from environment
// variables. The lookup is injectable so tests never touch the process
// environment.
package config

import (
	"context"
	"fmt"

	"github.com/sethvargo/go-envconfig"
)

// Validator is a configuration that can report every problem at once.
type Validator interface {
	Validate() error
}

// Lookuper finds an environment variable; envconfig.OsLookuper() in
// production, envconfig.MapLookuper in tests.
type Lookuper = envconfig.Lookuper

// FromEnv reads the OS environment.
func FromEnv() Lookuper { return envconfig.OsLookuper() }

// FromMap reads a map, for tests.
func FromMap(m map[string]string) Lookuper { return envconfig.MapLookuper(m) }

// Load fills cfg from l and validates it.
func Load(ctx context.Context, l Lookuper, cfg Validator) error {
	if err := envconfig.ProcessWith(ctx, &envconfig.Config{Target: cfg, Lookuper: l}); err != nil {
		return fmt.Errorf("config.Load: %w", err)
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("config.Load: invalid configuration: %w", err)
	}
	return nil
}

// Required reports each of the name, value pairs whose value is empty, so a
// Validate can list every missing variable at once.
func Required(nameValues ...string) []error {
	var errs []error
	for i := 0; i+1 < len(nameValues); i += 2 {
		if nameValues[i+1] == "" {
			errs = append(errs, fmt.Errorf("%s is required", nameValues[i]))
		}
	}
	return errs
}

// GCP is the part every component's configuration shares, embedded in
// each Config beside the adapters' parts (blob.Buckets, queue.Broker): the
// Google Cloud project the component runs in and whose services it calls.
type GCP struct {
	Project string `env:"GCLOUD_PROJECT"`
}

// Problems reports a missing project.
func (g GCP) Problems() []error { return Required("GCLOUD_PROJECT", g.Project) }

// DistinctBuckets reports input and output buckets that are the same: each
// has its own writer, so they must differ.
func DistinctBuckets(input, output string) error {
	if input != "" && input == output {
		return fmt.Errorf("INPUT_BUCKET and OUTPUT_BUCKET must differ: they have different writers")
	}
	return nil
}
