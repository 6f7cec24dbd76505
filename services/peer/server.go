// Package peer is the peer service: membership of the trusted storage pool.
package peer

import (
	"context"
	"fmt"
	"net"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	peerv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/peer/v1"

	"github.com/glusterd-ng/glusterd-ng/libs/discovery"
	"github.com/glusterd-ng/glusterd-ng/libs/grpcx"
	"github.com/glusterd-ng/glusterd-ng/libs/service"
	"github.com/glusterd-ng/glusterd-ng/libs/storeclient"
	"github.com/glusterd-ng/glusterd-ng/services/peer/internal/pool"
)

// ServiceName is the peer service's name in Consul's catalog.
const ServiceName = "peer"

// Server is a running peer service.
type Server struct {
	cfg       Config
	log       *zap.Logger
	lis       net.Listener
	grpc      *grpcx.Server
	storeConn *grpc.ClientConn
	reg       discovery.Registry
}

// New validates cfg, connects to the store and Consul and binds the listener.
func New(cfg Config, logger *zap.Logger, reg prometheus.Registerer) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("peer config: %w", err)
	}
	deps, err := service.Connect(cfg.Common, cfg.StoreTarget, logger)
	if err != nil {
		return nil, err
	}
	kv, conn := deps.Consul, deps.Store
	lis, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	p := pool.New(pool.Config{Store: storeclient.New(conn), Nodes: grpcNodes{}, Health: consulHealth{client: kv.API()},
		Logger: logger.Named("pool"), NodePort: cfg.NodePort, DialTimeout: cfg.DialTimeout})
	gs := grpcx.NewServer(grpcx.ServerConfig{Name: ServiceName, Logger: logger, Registerer: reg})
	peerv1.RegisterPeerServiceServer(gs.GRPC(), &handler{pool: p})
	s := &Server{cfg: cfg, log: logger, lis: lis, grpc: gs, storeConn: conn}
	if cfg.Register {
		s.reg = discovery.NewConsul(kv.API(), logger.Named("discovery"))
	}
	return s, nil
}

// Addr is the address the gRPC listener is bound to.
func (s *Server) Addr() string { return s.lis.Addr().String() }

// Run serves until ctx ends, then deregisters and stops gracefully.
func (s *Server) Run(ctx context.Context) error {
	defer s.storeConn.Close()
	return service.Run(ctx, service.Options{
		Name: ServiceName, Listener: s.lis, Advertise: s.cfg.Advertise, Registry: s.reg,
		CheckInterval: s.cfg.CheckInterval, Server: s.grpc, Logger: s.log,
	})
}
