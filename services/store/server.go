// Package store is the store service: the only reader and writer of the
// cluster's configuration in Consul KV, served over gRPC.
package store

import (
	"context"
	"fmt"
	"net"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	storev1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/store/v1"

	"github.com/glusterd-ng/glusterd-ng/libs/consulkv"
	"github.com/glusterd-ng/glusterd-ng/libs/discovery"
	"github.com/glusterd-ng/glusterd-ng/libs/grpcx"
	"github.com/glusterd-ng/glusterd-ng/libs/service"
	"github.com/glusterd-ng/glusterd-ng/services/store/internal/engine"
	"github.com/glusterd-ng/glusterd-ng/services/store/internal/schema"
)

// ServiceName is the store's name in Consul's catalog.
const ServiceName = "store"

// Server is a running store service.
type Server struct {
	cfg   Config
	log   *zap.Logger
	lis   net.Listener
	grpc  *grpcx.Server
	store *engine.Store
	reg   discovery.Registry
}

// New validates cfg, connects the engine and binds the listener.
func New(cfg Config, logger *zap.Logger, reg prometheus.Registerer) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("store config: %w", err)
	}
	kv, err := consulkv.New(consulkv.Config{Address: cfg.ConsulAddr, Token: cfg.ConsulToken, Timeout: cfg.RequestTimeout,
		WatchInterval: cfg.FeedInterval})
	if err != nil {
		return nil, err
	}
	layout, err := schema.NewLayout(cfg.KVPrefix)
	if err != nil {
		return nil, err
	}
	st, err := engine.New(engine.Config{KV: kv, Layout: layout, Logger: logger.Named("engine"),
		ClusterName: cfg.ClusterName, Retention: cfg.Retention, GCInterval: cfg.GCInterval})
	if err != nil {
		return nil, err
	}
	lis, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	gs := grpcx.NewServer(grpcx.ServerConfig{Name: ServiceName, Logger: logger, Registerer: reg})
	h := &handler{store: st}
	storev1.RegisterStoreServiceServer(gs.GRPC(), h)
	storev1.RegisterClusterServiceServer(gs.GRPC(), h)
	s := &Server{cfg: cfg, log: logger, lis: lis, grpc: gs, store: st}
	if cfg.Register {
		s.reg = discovery.NewConsul(kv.API(), logger.Named("discovery"))
	}
	return s, nil
}

// Addr is the address the gRPC listener is bound to.
func (s *Server) Addr() string { return s.lis.Addr().String() }

// Run serves until ctx ends, then deregisters and stops gracefully.
func (s *Server) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.store.Start(ctx)
	err := service.Run(ctx, service.Options{
		Name: ServiceName, Listener: s.lis, Advertise: s.cfg.Advertise, Registry: s.reg,
		CheckInterval: s.cfg.CheckInterval, Server: s.grpc, Logger: s.log,
	})
	cancel()
	s.store.Wait()
	return err
}
