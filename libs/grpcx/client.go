package grpcx

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/hashicorp/consul/api"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/glusterd-ng/glusterd-ng/libs/discovery"
	"github.com/glusterd-ng/glusterd-ng/libs/netx"
)

// reconnectBackoff is how a connection retries a server it cannot reach.
// gRPC's default grows to 120 s, and while it waits every call fails at
// once: a service started before the store, or cut off from it for a
// while, would keep failing long after the store is back. On a LAN a few
// seconds between attempts is plenty.
var reconnectBackoff = grpc.ConnectParams{
	Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 2 * time.Second},
	MinConnectTimeout: 5 * time.Second,
}

// Flow-control windows of every connection, fixed. gRPC otherwise sizes
// them by bandwidth-delay estimation, which pings the peer after data
// arrives: on a LAN that is a ping and its ack per call, extra writes and
// wake-ups for nothing, since these windows are already larger than what
// any of our calls or streams keeps in flight.
const (
	streamWindow = 1 << 20
	connWindow   = 4 << 20
)

// roundRobinServiceConfig spreads calls over every resolved address.
const roundRobinServiceConfig = `{"loadBalancingConfig": [{"round_robin": {}}]}`

// Dial returns a client connection to target ("host:port", "static:///a,b",
// or "consul:///<service>" with WithConsulResolver) that balances round
// robin and propagates the request id in ctx; opts override the defaults.
// It does not connect until the first call.
func Dial(target string, opts ...grpc.DialOption) (*grpc.ClientConn, error) {
	base := []grpc.DialOption{
		grpc.WithTransportCredentials(clientTransportCredentials()),
		grpc.WithDefaultServiceConfig(roundRobinServiceConfig),
		grpc.WithResolvers(discovery.NewStaticResolverBuilder()),
		grpc.WithChainUnaryInterceptor(propagateUnary),
		grpc.WithChainStreamInterceptor(propagateStream),
		grpc.WithConnectParams(reconnectBackoff),
		grpc.WithStaticStreamWindowSize(streamWindow),
		grpc.WithStaticConnWindowSize(connWindow),
		grpc.WithContextDialer(dial),
		grpc.WithDefaultCallOptions(grpc.ForceCodecV2(codec{})),
	}
	cc, err := grpc.NewClient(target, append(base, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", target, err)
	}
	return cc, nil
}

// dial connects to a server's address: over TCP with the reads and writes
// of libs/netx, as servers accept them (see Server.Serve), or to a Unix
// socket, which gRPC hands a custom dialer as "unix:path" or "unix://path".
func dial(ctx context.Context, addr string) (net.Conn, error) {
	var d net.Dialer
	if path, ok := strings.CutPrefix(addr, "unix:"); ok {
		return d.DialContext(ctx, "unix", strings.TrimPrefix(path, "//"))
	}
	return netx.Dial(ctx, &d, addr)
}

// clientTransportCredentials is the one place clients choose transport
// security: plaintext until mTLS is added by the security work.
func clientTransportCredentials() credentials.TransportCredentials {
	return insecure.NewCredentials()
}

// WithConsulResolver lets Dial resolve "consul:///<service>" targets through
// the Consul agent client talks to.
func WithConsulResolver(client *api.Client, logger *zap.Logger) grpc.DialOption {
	return grpc.WithResolvers(discovery.NewResolverBuilder(client, logger))
}

// propagateUnary sends ctx's request id with a unary call.
func propagateUnary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	return invoker(outgoingRequestID(ctx), method, req, reply, cc, opts...)
}

// propagateStream sends ctx's request id when opening a stream.
func propagateStream(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	return streamer(outgoingRequestID(ctx), desc, cc, method, opts...)
}

// outgoingRequestID adds ctx's request id to the outgoing metadata unless
// the caller already set one there.
func outgoingRequestID(ctx context.Context) context.Context {
	id := RequestID(ctx)
	if id == "" {
		return ctx
	}
	if md, ok := metadata.FromOutgoingContext(ctx); ok && len(md.Get(RequestIDHeader)) > 0 {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, RequestIDHeader, id)
}
