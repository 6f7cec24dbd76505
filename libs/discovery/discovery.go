// Package discovery registers services in Consul's catalog with a gRPC health
// check and resolves them for gRPC clients, so callers dial
// "consul:///<service>" instead of hard-coded addresses; a static registry and
// resolver stand in for Consul in tests.
package discovery

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/glusterd-ng/glusterd-ng/libs/errs"
)

// Defaults applied to a Registration's zero durations.
const (
	// DefaultCheckInterval is how often Consul runs the gRPC health check.
	DefaultCheckInterval = 5 * time.Second
	// DefaultCheckTimeout is how long one health check may take.
	DefaultCheckTimeout = 2 * time.Second
	// DefaultDeregisterAfter is how long a critical instance stays in the catalog.
	DefaultDeregisterAfter = time.Minute
)

// Registration describes one instance of a service as the catalog knows it.
type Registration struct {
	// Service is the service name callers resolve, e.g. "store".
	Service string
	// ID identifies this instance; empty means "<service>-<address>-<port>".
	ID string
	// Address is the host or IP callers (and the health check) reach the instance on.
	Address string
	// Port is the instance's gRPC port.
	Port int
	// Tags are catalog tags callers may filter on.
	Tags []string
	// Meta is free-form catalog metadata.
	Meta map[string]string
	// CheckInterval is how often the health check runs (default 5s).
	CheckInterval time.Duration
	// CheckTimeout bounds one health check (default 2s).
	CheckTimeout time.Duration
	// DeregisterAfter removes an instance critical for this long (default 1m).
	DeregisterAfter time.Duration
}

// Registry is where a service announces and withdraws its instances.
type Registry interface {
	// Register adds or replaces an instance in the catalog.
	Register(ctx context.Context, r Registration) error
	// Deregister removes the instance with the given id.
	Deregister(ctx context.Context, id string) error
}

// HostPort is the "address:port" the instance listens on.
func (r Registration) HostPort() string {
	return net.JoinHostPort(r.Address, strconv.Itoa(r.Port))
}

// WithDefaults returns r with the defaults filled in for empty fields.
func (r Registration) WithDefaults() Registration {
	if r.ID == "" {
		r.ID = fmt.Sprintf("%s-%s-%d", r.Service, r.Address, r.Port)
	}
	if r.CheckInterval <= 0 {
		r.CheckInterval = DefaultCheckInterval
	}
	if r.CheckTimeout <= 0 {
		r.CheckTimeout = DefaultCheckTimeout
	}
	if r.DeregisterAfter <= 0 {
		r.DeregisterAfter = DefaultDeregisterAfter
	}
	return r
}

// Validate reports the first field of r that cannot be registered.
func (r Registration) Validate() error {
	switch {
	case r.Service == "":
		return errs.InvalidField("service", "must not be empty")
	case r.Address == "":
		return errs.InvalidField("address", "must not be empty")
	case r.Port <= 0 || r.Port > 65535:
		return errs.InvalidField("port", "must be between 1 and 65535, got %d", r.Port)
	}
	return nil
}
