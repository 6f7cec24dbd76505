package discovery

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"

	"github.com/hashicorp/consul/api"
	"go.uber.org/zap"

	"github.com/glusterd-ng/glusterd-ng/libs/log"
)

// ConsulRegistry is a Registry backed by the local Consul agent.
type ConsulRegistry struct {
	agent  *api.Agent
	logger *zap.Logger
}

var _ Registry = (*ConsulRegistry)(nil)

// NewConsul returns a Registry that registers instances in the Consul agent
// client talks to; a nil logger discards logs.
func NewConsul(client *api.Client, logger *zap.Logger) *ConsulRegistry {
	if logger == nil {
		logger = zap.NewNop()
	}
	return &ConsulRegistry{agent: client.Agent(), logger: logger.Named("discovery")}
}

// Register adds the instance to the local agent with a gRPC health check on
// its address, replacing any earlier registration with the same id.
func (c *ConsulRegistry) Register(ctx context.Context, r Registration) error {
	if err := r.Validate(); err != nil {
		return fmt.Errorf("register %s: %w", r.Service, err)
	}
	r = r.WithDefaults()
	reg := &api.AgentServiceRegistration{
		ID:      r.ID,
		Name:    r.Service,
		Address: r.Address,
		Port:    r.Port,
		Tags:    slices.Clone(r.Tags),
		Meta:    r.Meta,
		Check: &api.AgentServiceCheck{
			Name:                           "gRPC health",
			GRPC:                           r.HostPort(),
			GRPCUseTLS:                     false,
			Interval:                       r.CheckInterval.String(),
			Timeout:                        r.CheckTimeout.String(),
			DeregisterCriticalServiceAfter: r.DeregisterAfter.String(),
			// Instances register once they serve, so they start passing
			// rather than critical until the first check runs.
			Status: api.HealthPassing,
		},
	}
	opts := api.ServiceRegisterOpts{}.WithContext(ctx)
	if err := c.agent.ServiceRegisterOpts(reg, opts); err != nil {
		return fmt.Errorf("register %s in consul: %w", r.ID, err)
	}
	c.logger.Info("registered service", zap.String("service_name", r.Service),
		zap.String("service_id", r.ID), log.Addr(r.HostPort()))
	return nil
}

// Deregister removes the instance from the local agent.
func (c *ConsulRegistry) Deregister(ctx context.Context, id string) error {
	q := (&api.QueryOptions{}).WithContext(ctx)
	if err := c.agent.ServiceDeregisterOpts(id, q); err != nil {
		return fmt.Errorf("deregister %s from consul: %w", id, err)
	}
	c.logger.Info("deregistered service", zap.String("service_id", id))
	return nil
}

// Lookup returns the "host:port" of every instance of service whose checks
// pass, sorted; none passing is an empty list, not an error.
func Lookup(ctx context.Context, client *api.Client, service string) ([]string, error) {
	q := (&api.QueryOptions{}).WithContext(ctx)
	entries, _, err := client.Health().Service(service, "", true, q)
	if err != nil {
		return nil, fmt.Errorf("look up %s in consul: %w", service, err)
	}
	return entryAddrs(entries), nil
}

// NodeMetaKey is the service meta key naming the storage node an instance
// of a per-node service (servicemgr, portmap) runs for.
const NodeMetaKey = "node_id"

// NodeInstance returns the "host:port" of the passing instance of service
// that runs for the storage node nodeID; found is false when there is none.
func NodeInstance(ctx context.Context, client *api.Client, service, nodeID string) (addr string, found bool, err error) {
	q := (&api.QueryOptions{}).WithContext(ctx)
	entries, _, err := client.Health().Service(service, "", true, q)
	if err != nil {
		return "", false, fmt.Errorf("look up %s in consul: %w", service, err)
	}
	for _, e := range entries {
		if e.Service != nil && e.Service.Meta[NodeMetaKey] == nodeID {
			if addrs := entryAddrs([]*api.ServiceEntry{e}); len(addrs) == 1 {
				return addrs[0], true, nil
			}
		}
	}
	return "", false, nil
}

// entryAddrs turns catalog entries into sorted, distinct "host:port" strings.
func entryAddrs(entries []*api.ServiceEntry) []string {
	addrs := make([]string, 0, len(entries))
	for _, e := range entries {
		if e.Service == nil {
			continue
		}
		host := e.Service.Address
		if host == "" && e.Node != nil {
			host = e.Node.Address
		}
		addrs = append(addrs, net.JoinHostPort(host, strconv.Itoa(e.Service.Port)))
	}
	slices.Sort(addrs)
	return slices.Compact(addrs)
}
