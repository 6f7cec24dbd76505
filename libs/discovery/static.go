package discovery

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"

	"google.golang.org/grpc/resolver"
)

// StaticScheme is the resolver scheme of a fixed address list: "static:///host:port,host:port".
const StaticScheme = "static"

// Static is a Registry that registers nowhere and stands for a fixed list of
// addresses, for tests and setups without Consul.
type Static struct {
	addrs []string
}

var _ Registry = (*Static)(nil)

// NewStatic returns a Static registry for the given "host:port" addresses.
func NewStatic(addrs ...string) *Static {
	return &Static{addrs: slices.Clone(addrs)}
}

// Register does nothing: a static list does not change.
func (s *Static) Register(context.Context, Registration) error { return nil }

// Deregister does nothing: a static list does not change.
func (s *Static) Deregister(context.Context, string) error { return nil }

// Addrs returns the fixed "host:port" addresses.
func (s *Static) Addrs() []string { return slices.Clone(s.addrs) }

// Target returns the dial target that resolves to the fixed addresses.
func (s *Static) Target() string { return StaticTarget(s.addrs...) }

// StaticTarget returns the dial target "static:///a,b" for the given addresses.
func StaticTarget(addrs ...string) string {
	return StaticScheme + ":///" + strings.Join(addrs, ",")
}

// NewStaticResolverBuilder returns the resolver builder for the "static" scheme.
func NewStaticResolverBuilder() resolver.Builder { return staticBuilder{} }

// staticBuilder resolves "static:///host:port,host:port" once, at build time.
type staticBuilder struct{}

// Scheme returns "static".
func (staticBuilder) Scheme() string { return StaticScheme }

// Build parses the address list and hands it to the channel.
func (staticBuilder) Build(target resolver.Target, cc resolver.ClientConn, _ resolver.BuildOptions) (resolver.Resolver, error) {
	var addrs []resolver.Address
	for a := range strings.SplitSeq(target.Endpoint(), ",") {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(a); err != nil {
			return nil, fmt.Errorf("static target %q: %w", target.String(), err)
		}
		addrs = append(addrs, resolver.Address{Addr: a})
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("static target %q: no addresses", target.String())
	}
	// An error here asks for re-resolution, which cannot change a fixed list.
	_ = cc.UpdateState(resolver.State{Addresses: addrs})
	return staticResolver{}, nil
}

// staticResolver has nothing to re-resolve or release.
type staticResolver struct{}

// ResolveNow does nothing: the list never changes.
func (staticResolver) ResolveNow(resolver.ResolveNowOptions) {}

// Close does nothing: there is no watch to stop.
func (staticResolver) Close() {}
