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
