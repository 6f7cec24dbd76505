// Package grpcx builds the gRPC servers and clients every service uses: one
// interceptor chain (recovery, error conversion, request ids, logging,
// metrics), the standard health and reflection services, graceful stop, and
// clients that resolve services through Consul.
package grpcx

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	"github.com/glusterd-ng/glusterd-ng/libs/log"
	"github.com/glusterd-ng/glusterd-ng/libs/netx"
)

// ServerConfig configures a Server.
type ServerConfig struct {
	// Name is the service name, used in logs.
	Name string
	// Logger receives one line per call; nil discards logs.
	Logger *zap.Logger
	// Registerer receives the server's metrics; nil disables metrics.
	Registerer prometheus.Registerer
}

// Server is a gRPC server with the standard interceptor chain, health
// service and reflection registered.
type Server struct {
	name   string
	logger *zap.Logger
	grpc   *grpc.Server
	health *health.Server
}

// NewServer builds a Server; register services on GRPC() before Serve.
func NewServer(cfg ServerConfig) *Server {
	logger := cfg.Logger
	if logger == nil {
		logger = zap.NewNop()
	}
	logger = logger.Named("grpc")
	unary, stream := interceptors(logger, newMetrics(cfg.Registerer, logger))
	// Transport security (mTLS) arrives with the security work; it will be
	// added here as a grpc.Creds option.
	gs := grpc.NewServer(
		// A fixed pool of stream workers instead of a goroutine per call.
		grpc.NumStreamWorkers(uint32(runtime.NumCPU())),
		grpc.StaticStreamWindowSize(streamWindow),
		grpc.StaticConnWindowSize(connWindow),
		grpc.ForceServerCodecV2(codec{}),
		grpc.ChainUnaryInterceptor(unary...),
		grpc.ChainStreamInterceptor(stream...),
	)
	hs := health.NewServer()
	healthpb.RegisterHealthServer(gs, hs)
	reflection.Register(gs)
	return &Server{name: cfg.Name, logger: logger, grpc: gs, health: hs}
}

// GRPC returns the underlying server, to register services on.
func (s *Server) GRPC() *grpc.Server { return s.grpc }

// Health returns the health service, to set per-service serving status.
func (s *Server) Health() *health.Server { return s.health }

// Serve accepts connections on lis until Stop; it returns nil after Stop.
func (s *Server) Serve(lis net.Listener) error {
	s.logger.Info("serving gRPC", log.Service(s.name), log.Addr(lis.Addr().String()))
	if err := s.grpc.Serve(netx.Listener{Listener: lis}); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return fmt.Errorf("serve gRPC on %s: %w", lis.Addr(), err)
	}
	return nil
}

// Stop reports NOT_SERVING for every service, lets in-flight calls finish and
// closes all connections when ctx ends first; it returns ctx's error in that
// case and nil after a clean drain.
func (s *Server) Stop(ctx context.Context) error {
	s.health.Shutdown()
	done := make(chan struct{})
	go func() {
		s.grpc.GracefulStop()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.grpc.Stop()
		<-done
		return fmt.Errorf("graceful stop of %s: %w", s.name, ctx.Err())
	}
}
