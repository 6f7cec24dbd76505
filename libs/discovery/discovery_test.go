package discovery_test

import (
	"context"
	"net"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/resolver"

	"github.com/glusterd-ng/glusterd-ng/libs/discovery"
	"github.com/glusterd-ng/glusterd-ng/libs/errs"
	"github.com/glusterd-ng/glusterd-ng/libs/grpcx"
	"github.com/glusterd-ng/glusterd-ng/libs/testutil"
)

// instance is a running gRPC server with the standard health service.
type instance struct {
	srv  *grpcx.Server
	addr string
	port int
}

func startInstance(t *testing.T, name string) *instance {
	t.Helper()
	srv := grpcx.NewServer(grpcx.ServerConfig{Name: name})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = srv.Stop(ctx)
		<-served
	})
	return &instance{srv: srv, addr: lis.Addr().String(), port: lis.Addr().(*net.TCPAddr).Port}
}

func (in *instance) registration(id string, tags ...string) discovery.Registration {
	return discovery.Registration{
		Service:       "svc",
		ID:            id,
		Address:       "127.0.0.1",
		Port:          in.port,
		Tags:          tags,
		CheckInterval: time.Second,
		CheckTimeout:  500 * time.Millisecond,
	}
}

func buildResolver(t *testing.T, b resolver.Builder, target string) *discovery.RecordingConn {
	t.Helper()
	u, err := url.Parse(target)
	require.NoError(t, err)
	cc := &discovery.RecordingConn{}
	r, err := b.Build(resolver.Target{URL: *u}, cc, resolver.BuildOptions{})
	require.NoError(t, err)
	t.Cleanup(r.Close)
	return cc
}

func awaitAddrs(t *testing.T, cc *discovery.RecordingConn, want []string, msg string) {
	t.Helper()
	testutil.Await(t, 15*time.Second, func() bool {
		got, ok := cc.Addrs()
		return ok && slices.Equal(got, want)
	}, "%s: want %v", msg, want)
}

func awaitLookup(t *testing.T, client *api.Client, want []string) {
	t.Helper()
	testutil.Await(t, 15*time.Second, func() bool {
		got, err := discovery.Lookup(t.Context(), client, "svc")
		return err == nil && slices.Equal(got, want)
	}, "lookup: want %v", want)
}

func TestConsulRegistryAndResolver(t *testing.T) {
	consul := testutil.NewConsul(t)
	client := consul.Client
	reg := discovery.NewConsul(client, zap.NewNop())
	a := startInstance(t, "a")
	b := startInstance(t, "b")

	require.NoError(t, reg.Register(t.Context(), a.registration("svc-a", "blue")))
	checks, err := client.Agent().Checks()
	require.NoError(t, err)
	require.Equal(t, "grpc", checks["service:svc-a"].Type)

	awaitLookup(t, client, []string{a.addr})

	builder := discovery.NewResolverBuilder(client, zap.NewNop())
	all := buildResolver(t, builder, "consul:///svc")
	blue := buildResolver(t, builder, "consul:///svc?tag=blue")
	awaitAddrs(t, all, []string{a.addr}, "first instance")
	awaitAddrs(t, blue, []string{a.addr}, "tagged instance")

	cc, err := grpcx.Dial("consul:///svc", grpcx.WithConsulResolver(client, zap.NewNop()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = cc.Close() })
	health := healthpb.NewHealthClient(cc)
	check := func(p *peer.Peer) error {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		resp, err := health.Check(ctx, &healthpb.HealthCheckRequest{}, grpc.WaitForReady(true), grpc.Peer(p))
		if err == nil && resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("status %v", resp.GetStatus())
		}
		return err
	}
	var p peer.Peer
	require.NoError(t, check(&p))
	require.Equal(t, a.addr, p.Addr.String())

	require.NoError(t, reg.Register(t.Context(), b.registration("svc-b")))
	awaitAddrs(t, all, slices.Sorted(slices.Values([]string{a.addr, b.addr})), "second instance")
	seen := map[string]bool{}
	testutil.Await(t, 15*time.Second, func() bool {
		var p peer.Peer
		if check(&p) == nil {
			seen[p.Addr.String()] = true
		}
		return seen[a.addr] && seen[b.addr]
	}, "calls through consul:///svc did not reach both instances: %v", seen)
	awaitAddrs(t, blue, []string{a.addr}, "tag filter keeps the untagged instance out")

	require.NoError(t, reg.Deregister(t.Context(), "svc-a"))
	awaitAddrs(t, all, []string{b.addr}, "deregistered instance dropped")
	awaitLookup(t, client, []string{b.addr})
	awaitAddrs(t, blue, []string{}, "no tagged instance left")

	b.srv.Health().SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	awaitAddrs(t, all, []string{}, "NOT_SERVING instance dropped")
	awaitLookup(t, client, []string{})

	b.srv.Health().SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	awaitAddrs(t, all, []string{b.addr}, "recovered instance back")
	require.Empty(t, all.Errs())
}

func TestResolverReportsErrorWhenConsulIsDown(t *testing.T) {
	port, err := testutil.FreePort()
	require.NoError(t, err)
	client, err := api.NewClient(&api.Config{Address: "127.0.0.1:" + strconv.Itoa(port)})
	require.NoError(t, err)

	cc := buildResolver(t, discovery.NewResolverBuilder(client, zap.NewNop()), "consul:///svc")
	testutil.Await(t, 5*time.Second, func() bool { return len(cc.Errs()) > 0 }, "no error reported")
	_, ok := cc.Addrs()
	require.False(t, ok, "nothing resolved")

	_, err = discovery.Lookup(t.Context(), client, "svc")
	require.ErrorContains(t, err, "look up svc in consul")
}

func TestResolverRejectsBadTargets(t *testing.T) {
	client, err := api.NewClient(api.DefaultConfig())
	require.NoError(t, err)
	b := discovery.NewResolverBuilder(client, nil)
	require.Equal(t, discovery.ConsulScheme, b.Scheme())
	for _, target := range []string{"consul:///", "consul:///a/b"} {
		u, err := url.Parse(target)
		require.NoError(t, err)
		_, err = b.Build(resolver.Target{URL: *u}, &discovery.RecordingConn{}, resolver.BuildOptions{})
		require.Error(t, err, target)
	}
}

func TestRegisterValidates(t *testing.T) {
	client, err := api.NewClient(api.DefaultConfig())
	require.NoError(t, err)
	reg := discovery.NewConsul(client, nil)
	cases := map[string]discovery.Registration{
		"service": {Address: "127.0.0.1", Port: 1},
		"address": {Service: "svc", Port: 1},
		"port":    {Service: "svc", Address: "127.0.0.1", Port: 70000},
	}
	for field, r := range cases {
		err := reg.Register(t.Context(), r)
		require.True(t, errs.Is(err, errs.Invalid), "%s: %v", field, err)
		var de *errs.Error
		require.ErrorAs(t, err, &de)
		require.Equal(t, field, de.Field)
	}
}

func TestRegistrationDefaults(t *testing.T) {
	r := discovery.Registration{Service: "store", Address: "10.0.0.5", Port: 24011}.WithDefaults()
	require.Equal(t, "store-10.0.0.5-24011", r.ID)
	require.Equal(t, discovery.DefaultCheckInterval, r.CheckInterval)
	require.Equal(t, discovery.DefaultCheckTimeout, r.CheckTimeout)
	require.Equal(t, discovery.DefaultDeregisterAfter, r.DeregisterAfter)
	require.Equal(t, "10.0.0.5:24011", r.HostPort())

	r = discovery.Registration{ID: "x", CheckInterval: time.Second}.WithDefaults()
	require.Equal(t, "x", r.ID)
	require.Equal(t, time.Second, r.CheckInterval)
}

func TestStatic(t *testing.T) {
	s := discovery.NewStatic("127.0.0.1:1", "127.0.0.1:2")
	var _ discovery.Registry = s
	require.NoError(t, s.Register(t.Context(), discovery.Registration{}))
	require.NoError(t, s.Deregister(t.Context(), "x"))
	require.Equal(t, []string{"127.0.0.1:1", "127.0.0.1:2"}, s.Addrs())
	require.Equal(t, "static:///127.0.0.1:1,127.0.0.1:2", s.Target())

	b := discovery.NewStaticResolverBuilder()
	require.Equal(t, discovery.StaticScheme, b.Scheme())
	cc := buildResolver(t, b, s.Target())
	addrs, ok := cc.Addrs()
	require.True(t, ok)
	require.Equal(t, s.Addrs(), addrs)

	for _, bad := range []string{"static:///", "static:///no-port"} {
		u, err := url.Parse(bad)
		require.NoError(t, err)
		_, err = b.Build(resolver.Target{URL: *u}, &discovery.RecordingConn{}, resolver.BuildOptions{})
		require.Error(t, err, bad)
	}
}

func TestDialStaticThroughRegistry(t *testing.T) {
	a := startInstance(t, "a")
	cc, err := grpcx.Dial(discovery.NewStatic(a.addr).Target())
	require.NoError(t, err)
	defer cc.Close()
	resp, err := healthpb.NewHealthClient(cc).Check(t.Context(), &healthpb.HealthCheckRequest{}, grpc.WaitForReady(true))
	require.NoError(t, err)
	require.Equal(t, healthpb.HealthCheckResponse_SERVING, resp.GetStatus())
}
