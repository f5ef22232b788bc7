// Package gcs runs fake-gcs-server in process as the Cloud Storage emulator of
// the local stack.
//
// The Go storage client reaches it through STORAGE_EMULATOR_HOST=host:port: it
// sends JSON API calls to http://host:port/storage/v1/ and uploads to
// /upload/storage/v1/, and reads objects path style from
// http://host:port/bucket/object. That last form only works because the
// server's public host is set to the same host:port (see Start).
package gcs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"

	"github.com/fsouza/fake-gcs-server/fakestorage"
)

// Config says where the emulator listens and which buckets exist at start.
type Config struct {
	// Host is the address to bind, normally 127.0.0.1 (nothing outside the
	// machine should reach the emulator: it has no authentication).
	Host string
	// Port is the TCP port to bind; it must be fixed because clients find the
	// emulator through STORAGE_EMULATOR_HOST.
	Port uint16
	// Buckets are created, empty, before Start returns.
	Buckets []string
	// AccessLog, when not nil, receives one line per HTTP request.
	AccessLog io.Writer
}

// Validate reports the first problem in c.
func (c Config) Validate() error {
	if c.Host == "" {
		return errors.New("gcs: empty host")
	}
	if c.Port == 0 {
		return errors.New("gcs: port must be set (clients find the emulator by host:port)")
	}
	seen := make(map[string]bool, len(c.Buckets))
	for _, b := range c.Buckets {
		if b == "" {
			return errors.New("gcs: empty bucket name")
		}
		if seen[b] {
			return fmt.Errorf("gcs: bucket %q named twice", b)
		}
		seen[b] = true
	}
	return nil
}

// Addr is the host:port clients use, the value of STORAGE_EMULATOR_HOST.
func (c Config) Addr() string {
	return net.JoinHostPort(c.Host, strconv.Itoa(int(c.Port)))
}

// Start starts the emulator with an in-memory backend (every start is empty
// apart from c.Buckets) and returns once it accepts connections and the
// buckets exist. The caller must call Stop on the result.
func Start(c Config) (*fakestorage.Server, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	addr := c.Addr()
	srv, err := fakestorage.NewServerWithOptions(fakestorage.Options{
		Scheme: "http",
		Host:   c.Host,
		Port:   c.Port,
		// Without PublicHost, path-style object reads (GET /bucket/object,
		// what the Go client's NewReader and signed URLs use) would only be
		// served for Host "storage.googleapis.com".
		PublicHost: addr,
		// ExternalURL is what the server writes into selfLink, mediaLink
		// and the Location of resumable uploads: it must be reachable.
		ExternalURL: "http://" + addr,
		Writer:      c.AccessLog,
		// StorageRoot left empty selects the in-memory backend.
	})
	if err != nil {
		return nil, fmt.Errorf("gcs: start on %s: %w", addr, err)
	}
	for _, b := range c.Buckets {
		// CreateBucketWithOpts panics when the backend fails; the memory
		// backend only fails on a duplicate, which Validate rules out.
		srv.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: b})
	}
	return srv, nil
}

// Run starts the emulator, logs that it is ready and serves until ctx is
// done.
func Run(ctx context.Context, logger *slog.Logger, c Config) error {
	srv, err := Start(c)
	if err != nil {
		return err
	}
	defer srv.Stop()
	logger.InfoContext(ctx, "storage emulator ready",
		slog.String("STORAGE_EMULATOR_HOST", c.Addr()),
		slog.Any("buckets", c.Buckets))
	<-ctx.Done()
	logger.InfoContext(ctx, "storage emulator stopping")
	return nil
}
