package discovery

import (
	"slices"
	"sync"

	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/serviceconfig"
)

// RecordingConn is a resolver.ClientConn that keeps what a resolver reports.
type RecordingConn struct {
	mu      sync.Mutex
	updates int
	addrs   []string
	errs    []error
}

// UpdateState records the addresses, sorted.
func (c *RecordingConn) UpdateState(s resolver.State) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.updates++
	c.addrs = c.addrs[:0:0]
	for _, a := range s.Addresses {
		c.addrs = append(c.addrs, a.Addr)
	}
	slices.Sort(c.addrs)
	return nil
}

// ReportError records err.
func (c *RecordingConn) ReportError(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.errs = append(c.errs, err)
}

// NewAddress is the deprecated form of UpdateState.
func (c *RecordingConn) NewAddress(addrs []resolver.Address) {
	_ = c.UpdateState(resolver.State{Addresses: addrs})
}

// ParseServiceConfig is unused by these resolvers.
func (c *RecordingConn) ParseServiceConfig(string) *serviceconfig.ParseResult { return nil }

// Addrs returns the last reported addresses and whether any report came.
func (c *RecordingConn) Addrs() ([]string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.addrs), c.updates > 0
}

// Updates returns how many states were reported.
func (c *RecordingConn) Updates() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.updates
}

// Errs returns the reported errors.
func (c *RecordingConn) Errs() []error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.errs)
}
