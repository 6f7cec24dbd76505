// Package orchestrator is the orchestrator service: every volume operation,
// run as a journaled transaction across the nodes (docs/transactions.md).
package orchestrator

import (
	"context"
	"fmt"
	"net"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	orchestratorv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/orchestrator/v1"

	"github.com/glusterd-ng/glusterd-ng/libs/discovery"
	"github.com/glusterd-ng/glusterd-ng/libs/grpcx"
	"github.com/glusterd-ng/glusterd-ng/libs/log"
	"github.com/glusterd-ng/glusterd-ng/libs/service"
	"github.com/glusterd-ng/glusterd-ng/libs/storeclient"
	"github.com/glusterd-ng/glusterd-ng/services/orchestrator/internal/txn"
)

// ServiceName is the orchestrator's name in Consul's catalog.
const ServiceName = "orchestrator"

// Server is a running orchestrator replica.
type Server struct {
	cfg       Config
	log       *zap.Logger
	lis       net.Listener
	grpc      *grpcx.Server
	storeConn *grpc.ClientConn
	reg       discovery.Registry
	engine    *txn.Engine
	nodes     *nodes
}

// New validates cfg, connects to the store and Consul and binds the listener.
func New(cfg Config, logger *zap.Logger, reg prometheus.Registerer) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("orchestrator config: %w", err)
	}
	if cfg.ID == "" {
		cfg.ID = uuid.NewString()
	}
	failpoints, err := txn.ParseFailpoints(cfg.Failpoints)
	if err != nil {
		return nil, fmt.Errorf("orchestrator config: %w", err)
	}
	logger = logger.With(zap.String("replica", cfg.ID))
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
	store := storeclient.New(conn)
	nd := &nodes{consul: kv.API(), conns: map[string]*grpc.ClientConn{}}
	engine := txn.New(txn.Config{Owner: cfg.ID, SessionTTL: cfg.SessionTTL, Timeout: cfg.TxnTimeout,
		RecoverInterval: cfg.RecoverInterval, Retention: cfg.TxnRetention, History: cfg.TxnHistory, Failpoints: failpoints}, store, nd.actions(), logger.Named("txn"))
	gs := grpcx.NewServer(grpcx.ServerConfig{Name: ServiceName, Logger: logger, Registerer: reg})
	vh := &volumes{store: store, engine: engine, onlineTimeout: cfg.OnlineTimeout, log: logger.Named("volumes")}
	orchestratorv1.RegisterVolumeServiceServer(gs.GRPC(), vh)
	orchestratorv1.RegisterTransactionServiceServer(gs.GRPC(), &transactions{store: store})
	s := &Server{cfg: cfg, log: logger, lis: lis, grpc: gs, storeConn: conn, engine: engine, nodes: nd}
	if cfg.Register {
		s.reg = discovery.NewConsul(kv.API(), logger.Named("discovery"))
	}
	if len(failpoints) > 0 {
		logger.Warn("failpoints are set: transactions will crash or fail on purpose", zap.Any("failpoints", failpoints))
	}
	return s, nil
}

// Addr is the address the gRPC listener is bound to.
func (s *Server) Addr() string { return s.lis.Addr().String() }

// Run serves and recovers unfinished transactions until ctx ends.
func (s *Server) Run(ctx context.Context) error {
	defer s.storeConn.Close()
	defer s.nodes.close()
	ctx, cancel := context.WithCancel(ctx)
	engineDone := make(chan struct{})
	go func() { s.engine.Run(ctx); close(engineDone) }()
	defer func() { cancel(); <-engineDone }()
	s.log.Info("orchestrator replica starting", log.Key(s.cfg.ID))
	return service.Run(ctx, service.Options{
		Name: ServiceName, ID: ServiceName + "-" + s.cfg.ID, Listener: s.lis, Advertise: s.cfg.Advertise, Registry: s.reg,
		CheckInterval: s.cfg.CheckInterval, Server: s.grpc, Logger: s.log,
	})
}
