package grpcx_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"

	"github.com/glusterd-ng/glusterd-ng/libs/discovery"
	"github.com/glusterd-ng/glusterd-ng/libs/errs"
	"github.com/glusterd-ng/glusterd-ng/libs/grpcx"
	"github.com/glusterd-ng/glusterd-ng/libs/testutil"
)

// testService answers the hand-written test.Test service: Echo acts on its
// argument, Hang sends the request id and then blocks until the call ends.
type testService struct {
	started chan struct{}
}

type testServer interface{}

var testDesc = grpc.ServiceDesc{
	ServiceName: "test.Test",
	HandlerType: (*testServer)(nil),
	Methods:     []grpc.MethodDesc{{MethodName: "Echo", Handler: echoHandler}, {MethodName: "EchoVolume", Handler: echoVolumeHandler}},
	Streams:     []grpc.StreamDesc{{StreamName: "Hang", Handler: hangHandler, ServerStreams: true}},
}

func echoHandler(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
	in := new(wrapperspb.StringValue)
	if err := dec(in); err != nil {
		return nil, err
	}
	h := func(ctx context.Context, req any) (any, error) {
		return srv.(*testService).echo(ctx, req.(*wrapperspb.StringValue))
	}
	if interceptor == nil {
		return h(ctx, in)
	}
	return interceptor(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: "/test.Test/Echo"}, h)
}

// echoVolumeHandler returns the volume it was sent: a message of ours, so
// encoded by grpcx's codec with the generated methods.
func echoVolumeHandler(_ any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
	in := new(commonv1.Volume)
	if err := dec(in); err != nil {
		return nil, err
	}
	h := func(_ context.Context, req any) (any, error) { return req, nil }
	return interceptor(ctx, in, &grpc.UnaryServerInfo{FullMethod: "/test.Test/EchoVolume"}, h)
}

func (s *testService) echo(ctx context.Context, in *wrapperspb.StringValue) (*wrapperspb.StringValue, error) {
	switch in.GetValue() {
	case "panic":
		panic("handler exploded")
	case "invalid":
		return nil, fmt.Errorf("validate request: %w", errs.InvalidField("name", "must not be empty"))
	case "unavailable":
		return nil, errs.Wrap(errs.Unavailable, errors.New("dial 10.0.0.9:8500: connection refused"), "consul unreachable")
	case "slow":
		close(s.started)
		time.Sleep(300 * time.Millisecond)
		return wrapperspb.String("done"), nil
	case "rid":
		return wrapperspb.String(grpcx.RequestID(ctx)), nil
	}
	return in, nil
}

func hangHandler(srv any, stream grpc.ServerStream) error {
	if err := stream.RecvMsg(new(wrapperspb.StringValue)); err != nil {
		return err
	}
	if err := stream.SendMsg(wrapperspb.String(grpcx.RequestID(stream.Context()))); err != nil {
		return err
	}
	<-stream.Context().Done()
	return stream.Context().Err()
}

// testServerHandle is a running server and the outcome of its Serve.
type testServerHandle struct {
	srv      *grpcx.Server
	addr     string
	svc      *testService
	served   chan struct{}
	serveErr error
}

func startServer(t testing.TB, cfg grpcx.ServerConfig) *testServerHandle {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	return startServerOn(t, cfg, lis)
}

// startServerOn serves the test service on lis until the test ends.
func startServerOn(t testing.TB, cfg grpcx.ServerConfig, lis net.Listener) *testServerHandle {
	t.Helper()
	h := &testServerHandle{srv: grpcx.NewServer(cfg), svc: &testService{started: make(chan struct{})}, served: make(chan struct{})}
	h.srv.GRPC().RegisterService(&testDesc, h.svc)
	h.addr = lis.Addr().String()
	go func() {
		h.serveErr = h.srv.Serve(lis)
		close(h.served)
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = h.srv.Stop(ctx)
		<-h.served
	})
	return h
}

func dial(t testing.TB, target string) *grpc.ClientConn {
	t.Helper()
	cc, err := grpcx.Dial(target)
	require.NoError(t, err)
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

func echo(ctx context.Context, cc *grpc.ClientConn, arg string, opts ...grpc.CallOption) (string, error) {
	out := new(wrapperspb.StringValue)
	err := cc.Invoke(ctx, "/test.Test/Echo", wrapperspb.String(arg), out, opts...)
	return out.GetValue(), err
}

func observed(level zapcore.Level) (*zap.Logger, *observer.ObservedLogs) {
	core, logs := observer.New(level)
	return zap.New(core), logs
}

func TestPanicBecomesInternal(t *testing.T) {
	logger, logs := observed(zapcore.DebugLevel)
	h := startServer(t, grpcx.ServerConfig{Name: "test", Logger: logger})
	cc := dial(t, h.addr)

	_, err := echo(t.Context(), cc, "panic")
	st := status.Convert(err)
	require.Equal(t, codes.Internal, st.Code())
	require.Equal(t, "internal error", st.Message())

	panics := logs.FilterMessage("panic in gRPC handler").All()
	require.Len(t, panics, 1)
	fields := panics[0].ContextMap()
	require.Equal(t, "/test.Test/Echo", fields["method"])
	require.Equal(t, "handler exploded", fields["panic"])
	require.Contains(t, fields["stack"], "echo")

	calls := logs.FilterMessage("handled gRPC call").All()
	require.Len(t, calls, 1)
	require.Equal(t, "Internal", calls[0].ContextMap()["code"])
	require.Equal(t, true, calls[0].ContextMap()["panicked"])

	got, err := echo(t.Context(), cc, "still alive")
	require.NoError(t, err)
	require.Equal(t, "still alive", got)
}

func TestDomainErrorsBecomeStatuses(t *testing.T) {
	logger, logs := observed(zapcore.DebugLevel)
	h := startServer(t, grpcx.ServerConfig{Name: "test", Logger: logger})
	cc := dial(t, h.addr)

	_, err := echo(t.Context(), cc, "invalid")
	st := status.Convert(err)
	require.Equal(t, codes.InvalidArgument, st.Code())
	require.Equal(t, "name: must not be empty", st.Message())
	var de *errs.Error
	require.ErrorAs(t, errs.FromStatus(err), &de)
	require.Equal(t, "name", de.Field)

	_, err = echo(t.Context(), cc, "unavailable")
	st = status.Convert(err)
	require.Equal(t, codes.Unavailable, st.Code())
	require.Equal(t, "consul unreachable", st.Message(), "the cause must not reach the caller")

	calls := logs.FilterMessage("handled gRPC call").All()
	require.Len(t, calls, 2)
	require.Equal(t, zapcore.DebugLevel, calls[0].Level, "client errors are logged at debug")
	require.Equal(t, "InvalidArgument", calls[0].ContextMap()["code"])
	require.Equal(t, zapcore.InfoLevel, calls[1].Level, "server errors are logged at info")
	require.Equal(t, "Unavailable", calls[1].ContextMap()["code"])
	require.Contains(t, calls[1].ContextMap()["error"], "connection refused", "the log keeps the cause")
	require.NotEmpty(t, calls[1].ContextMap()["request_id"])
	require.Contains(t, calls[1].ContextMap(), "duration")
}

func TestRequestID(t *testing.T) {
	logger, logs := observed(zapcore.DebugLevel)
	h := startServer(t, grpcx.ServerConfig{Name: "test", Logger: logger})
	cc := dial(t, h.addr)

	t.Run("echoed when sent", func(t *testing.T) {
		ctx := metadata.AppendToOutgoingContext(t.Context(), grpcx.RequestIDHeader, "req-123")
		var hdr metadata.MD
		got, err := echo(ctx, cc, "rid", grpc.Header(&hdr))
		require.NoError(t, err)
		require.Equal(t, "req-123", got)
		require.Equal(t, []string{"req-123"}, hdr.Get(grpcx.RequestIDHeader))
	})
	t.Run("generated when absent", func(t *testing.T) {
		var hdr metadata.MD
		got, err := echo(t.Context(), cc, "rid", grpc.Header(&hdr))
		require.NoError(t, err)
		_, err = uuid.Parse(got)
		require.NoError(t, err, "generated id %q", got)
		require.Equal(t, []string{got}, hdr.Get(grpcx.RequestIDHeader))
	})
	t.Run("replaced when unusable", func(t *testing.T) {
		ctx := metadata.AppendToOutgoingContext(t.Context(), grpcx.RequestIDHeader, "two words")
		got, err := echo(ctx, cc, "rid")
		require.NoError(t, err)
		_, err = uuid.Parse(got)
		require.NoError(t, err, "generated id %q", got)
	})
	t.Run("sent back with errors", func(t *testing.T) {
		ctx := metadata.AppendToOutgoingContext(t.Context(), grpcx.RequestIDHeader, "req-err")
		var hdr metadata.MD
		_, err := echo(ctx, cc, "invalid", grpc.Header(&hdr))
		require.Equal(t, codes.InvalidArgument, status.Code(err))
		require.Equal(t, []string{"req-err"}, hdr.Get(grpcx.RequestIDHeader))
	})
	t.Run("propagated from ctx by Dial clients", func(t *testing.T) {
		got, err := echo(grpcx.WithRequestID(t.Context(), "from-ctx"), cc, "rid")
		require.NoError(t, err)
		require.Equal(t, "from-ctx", got)
	})
	t.Run("on streams", func(t *testing.T) {
		ctx, cancel := context.WithCancel(grpcx.WithRequestID(t.Context(), "stream-1"))
		defer cancel()
		cs, err := cc.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, "/test.Test/Hang")
		require.NoError(t, err)
		require.NoError(t, cs.SendMsg(wrapperspb.String("")))
		require.NoError(t, cs.CloseSend())
		out := new(wrapperspb.StringValue)
		require.NoError(t, cs.RecvMsg(out))
		require.Equal(t, "stream-1", out.GetValue())
		hdr, err := cs.Header()
		require.NoError(t, err)
		require.Equal(t, []string{"stream-1"}, hdr.Get(grpcx.RequestIDHeader))
	})
	t.Run("logged", func(t *testing.T) {
		ctx := metadata.AppendToOutgoingContext(t.Context(), grpcx.RequestIDHeader, "req-log")
		_, err := echo(ctx, cc, "x")
		require.NoError(t, err)
		testutil.Await(t, 2*time.Second, func() bool {
			return logs.FilterField(zap.String("request_id", "req-log")).Len() == 1
		}, "no log line with the request id")
	})
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := startServer(t, grpcx.ServerConfig{Name: "test", Registerer: reg})
	startServer(t, grpcx.ServerConfig{Name: "second", Registerer: reg})
	cc := dial(t, h.addr)
	for _, arg := range []string{"a", "b", "invalid"} {
		_, _ = echo(t.Context(), cc, arg)
	}

	families, err := reg.Gather()
	require.NoError(t, err)
	counts := map[string]float64{}
	var observations uint64
	for _, f := range families {
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["grpc_service"] != "test.Test" || labels["grpc_method"] != "Echo" {
				continue
			}
			switch f.GetName() {
			case "grpc_server_handled_total":
				counts[labels["grpc_code"]] = m.GetCounter().GetValue()
			case "grpc_server_handling_seconds":
				observations = m.GetHistogram().GetSampleCount()
			}
		}
	}
	require.Equal(t, map[string]float64{"OK": 2, "InvalidArgument": 1}, counts)
	require.Equal(t, uint64(3), observations)
}

func TestStopDrainsInFlightCalls(t *testing.T) {
	h := startServer(t, grpcx.ServerConfig{Name: "test"})
	cc := dial(t, h.addr)

	var (
		wg      sync.WaitGroup
		got     string
		callErr error
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		got, callErr = echo(t.Context(), cc, "slow")
	}()
	<-h.svc.started

	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	require.NoError(t, h.srv.Stop(ctx))
	wg.Wait()
	require.NoError(t, callErr)
	require.Equal(t, "done", got)

	<-h.served
	require.NoError(t, h.serveErr)
	resp, err := h.srv.Health().Check(t.Context(), &healthpb.HealthCheckRequest{})
	require.NoError(t, err)
	require.Equal(t, healthpb.HealthCheckResponse_NOT_SERVING, resp.GetStatus())
}

func TestStopHonoursDeadlineWithHangingStream(t *testing.T) {
	h := startServer(t, grpcx.ServerConfig{Name: "test"})
	cc := dial(t, h.addr)

	cs, err := cc.NewStream(t.Context(), &grpc.StreamDesc{ServerStreams: true}, "/test.Test/Hang")
	require.NoError(t, err)
	require.NoError(t, cs.SendMsg(wrapperspb.String("")))
	require.NoError(t, cs.CloseSend())
	require.NoError(t, cs.RecvMsg(new(wrapperspb.StringValue)))

	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = h.srv.Stop(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, time.Since(start), 3*time.Second)

	require.Error(t, cs.RecvMsg(new(wrapperspb.StringValue)), "the hanging stream is cut")
	<-h.served
	require.NoError(t, h.serveErr)
}

func TestHealthAndReflectionRegistered(t *testing.T) {
	h := startServer(t, grpcx.ServerConfig{Name: "test"})
	info := h.srv.GRPC().GetServiceInfo()
	require.Contains(t, info, "grpc.health.v1.Health")
	require.Contains(t, info, "grpc.reflection.v1.ServerReflection")

	cc := dial(t, h.addr)
	resp, err := healthpb.NewHealthClient(cc).Check(t.Context(), &healthpb.HealthCheckRequest{})
	require.NoError(t, err)
	require.Equal(t, healthpb.HealthCheckResponse_SERVING, resp.GetStatus())
}

func TestDialStaticRoundRobin(t *testing.T) {
	a := startServer(t, grpcx.ServerConfig{Name: "a"})
	b := startServer(t, grpcx.ServerConfig{Name: "b"})
	cc := dial(t, discovery.StaticTarget(a.addr, b.addr))

	seen := map[string]bool{}
	testutil.Await(t, 5*time.Second, func() bool {
		var p peer.Peer
		if _, err := echo(t.Context(), cc, "x", grpc.Peer(&p), grpc.WaitForReady(true)); err == nil {
			seen[p.Addr.String()] = true
		}
		return seen[a.addr] && seen[b.addr]
	}, "calls did not reach both servers: %v", seen)
}

func TestDialRejectsBadStaticTarget(t *testing.T) {
	cc, err := grpcx.Dial("static:///not-an-address")
	require.NoError(t, err, "resolution is lazy")
	defer cc.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	_, err = echo(ctx, cc, "x")
	require.Error(t, err)
	require.True(t, strings.Contains(err.Error(), "not-an-address"), err.Error())
}

// TestDialRetriesAnUnreachableServerEveryFewSeconds shows that a connection
// keeps trying a server it cannot reach at short intervals (gRPC's default
// waits up to 120 s between attempts, failing every call meanwhile): a
// listener that drops every connection sees the attempts, at most a few
// seconds apart, for as long as the outage lasts.
func TestDialRetriesAnUnreachableServerEveryFewSeconds(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer lis.Close()
	var mu sync.Mutex
	var attempts []time.Time
	go func() {
		for {
			c, err := lis.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			attempts = append(attempts, time.Now())
			mu.Unlock()
			_ = c.Close()
		}
	}()
	cc := dial(t, lis.Addr().String())
	const outage = 14 * time.Second // gRPC's default would be waiting 6.5 s by then
	end := time.Now().Add(outage)
	for time.Now().Before(end) {
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		_, err := echo(ctx, cc, "x")
		cancel()
		require.Error(t, err)
		time.Sleep(200 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	require.GreaterOrEqual(t, len(attempts), 7, "attempts at %v", attempts)
	for i := 1; i < len(attempts); i++ {
		gap := attempts[i].Sub(attempts[i-1])
		require.LessOrEqual(t, gap, 4*time.Second, "attempt %d came %v after the one before", i, gap)
	}
}

// BenchmarkUnaryRoundTrip measures one unary call through the standard
// server chain and a Dial client on loopback, with a 1 KiB message (the
// size of a volume record), as the store's callers make it.
func BenchmarkUnaryRoundTrip(b *testing.B) {
	h := startServer(b, grpcx.ServerConfig{Name: "bench"})
	cc := dial(b, h.addr)
	arg := strings.Repeat("x", 1024)
	ctx := context.Background()
	if _, err := echo(ctx, cc, arg); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := echo(ctx, cc, arg); err != nil {
			b.Fatal(err)
		}
	}
}

// Servers and clients use raw-syscall TCP connections (libs/netx); a Unix
// socket target still dials a Unix socket, both spellings gRPC accepts.
func TestDialUnixSocketTargets(t *testing.T) {
	path := filepath.Join(t.TempDir(), "grpc.sock")
	lis, err := net.Listen("unix", path)
	require.NoError(t, err)
	startServerOn(t, grpcx.ServerConfig{Name: "unix"}, lis)
	wd, err := os.Getwd()
	require.NoError(t, err)
	rel, err := filepath.Rel(wd, path)
	require.NoError(t, err)
	for _, target := range []string{"unix://" + path, "unix:" + rel} {
		got, err := echo(t.Context(), dial(t, target), "over a unix socket")
		require.NoError(t, err, target)
		require.Equal(t, "over a unix socket", got, target)
	}
}

// uncheckedCodec writes messages with the generated marshaller alone, as a
// client without grpcx's checks would.
type uncheckedCodec struct{}

func (uncheckedCodec) Name() string { return "proto" }

func (uncheckedCodec) Marshal(v any) (mem.BufferSlice, error) {
	b, err := v.(interface{ MarshalVT() ([]byte, error) }).MarshalVT()
	return mem.BufferSlice{mem.SliceBuffer(b)}, err
}

func (uncheckedCodec) Unmarshal(data mem.BufferSlice, v any) error {
	return proto.Unmarshal(data.Materialize(), v.(proto.Message))
}

// TestOurMessagesOnTheWire sends a volume through a grpcx server and
// client and gets it back equal; a string that is not UTF-8 is refused by
// the client before it is sent, and by the server from a client that sent
// it anyway, as protobuf-go refuses it.
func TestOurMessagesOnTheWire(t *testing.T) {
	h := startServer(t, grpcx.ServerConfig{Name: "test"})
	cc := dial(t, h.addr)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	vol := &commonv1.Volume{Name: "v1", Type: commonv1.VolumeType_DISTRIBUTED_REPLICATE, ReplicaCount: 3,
		Options:    map[string]string{"nfs.disable": "on", "é": "日本"},
		Subvolumes: []*commonv1.Subvolume{{Bricks: []*commonv1.Brick{{Host: "n1", Path: "/b/1"}, {Host: "n2", Path: "/b/2"}}}}}
	out := new(commonv1.Volume)
	require.NoError(t, cc.Invoke(ctx, "/test.Test/EchoVolume", vol, out))
	require.True(t, proto.Equal(vol, out), "%v\n%v", vol, out)

	bad := proto.Clone(vol).(*commonv1.Volume)
	bad.Subvolumes[0].Bricks[1].Path = "/b/\xff"
	err := cc.Invoke(ctx, "/test.Test/EchoVolume", bad, new(commonv1.Volume))
	require.Equal(t, codes.Internal, status.Code(err), "%v", err)
	require.Contains(t, status.Convert(err).Message(), "invalid UTF-8")

	err = cc.Invoke(ctx, "/test.Test/EchoVolume", bad, new(commonv1.Volume), grpc.ForceCodecV2(uncheckedCodec{}))
	require.Equal(t, codes.Internal, status.Code(err), "%v", err)
	require.Contains(t, status.Convert(err).Message(), "unmarshal")
	require.Contains(t, status.Convert(err).Message(), "invalid UTF-8")
}
