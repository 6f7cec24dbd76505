// Package servicemgr is the per-node service manager: the node's identity
// and membership now, and (with the daemon work) the GlusterFS daemons run
// to match the configuration.
package servicemgr

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"
	servicemgrv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/servicemgr/v1"

	"github.com/glusterd-ng/glusterd-ng/libs/discovery"
	"github.com/glusterd-ng/glusterd-ng/libs/errs"
	"github.com/glusterd-ng/glusterd-ng/libs/grpcx"
	"github.com/glusterd-ng/glusterd-ng/libs/identity"
	"github.com/glusterd-ng/glusterd-ng/libs/log"
	"github.com/glusterd-ng/glusterd-ng/libs/service"
	"github.com/glusterd-ng/glusterd-ng/libs/storeclient"
	"github.com/glusterd-ng/glusterd-ng/services/servicemgr/internal/supervisor"
)

// ServiceName is the service manager's name in Consul's catalog.
const ServiceName = "servicemgr"

// APIVersion is the management API level this node speaks; the peer
// service refuses nodes of another level.
const APIVersion = 1

// Version is the software version reported to peers.
const Version = "0.1.0"

// Server is a running service manager.
type Server struct {
	cfg       Config
	log       *zap.Logger
	lis       net.Listener
	grpc      *grpcx.Server
	ident     *identity.Store
	store     *storeclient.Client
	storeConn *grpc.ClientConn
	reg       discovery.Registry

	sup   *supervisor.Supervisor // nil when the node runs no daemons
	recon *reconciler
	// changed is signalled when a daemon's status changed.
	changed chan struct{}

	mu      sync.Mutex
	session string
	fatalc  chan error
}

// New validates cfg, opens the node's identity and binds the listener.
func New(cfg Config, logger *zap.Logger, reg prometheus.Registerer) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("servicemgr config: %w", err)
	}
	ident, err := identity.Open(cfg.StateDir, cfg.NodeID)
	if err != nil {
		return nil, err
	}
	logger = logger.With(log.Node(ident.Get().NodeID))
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
	gs := grpcx.NewServer(grpcx.ServerConfig{Name: ServiceName, Logger: logger, Registerer: reg})
	s := &Server{cfg: cfg, log: logger, lis: lis, grpc: gs, ident: ident, store: storeclient.New(conn),
		storeConn: conn, fatalc: make(chan error, 1)}
	servicemgrv1.RegisterServiceManagerServer(gs.GRPC(), &handler{s: s, authorize: allowAll})
	if cfg.Register {
		s.reg = discovery.NewConsul(kv.API(), logger.Named("discovery"))
	}
	if cfg.Daemons {
		s.changed = make(chan struct{}, 1)
		s.sup = supervisor.New(supervisor.Options{
			RecordDir: filepath.Join(cfg.StateDir, "daemons"), StopTimeout: cfg.DaemonStopTimeout,
			StopOnExit: cfg.StopDaemonsOnExit, OnChange: func(string) { s.signalChanged() },
			// Sign-ins and sign-outs come from the portmap's stream,
			// which has every daemon check at once (Recheck); the
			// interval only bounds how late a change is seen while that
			// stream is down, so running bricks do not wake to poll.
			RunningProbeInterval: runningProbeInterval,
		}, logger.Named("supervisor"))
		pm := &portmapLink{consul: kv.API(), nodeID: ident.Get().NodeID, target: cfg.Portmap, onChange: s.sup.Recheck}
		s.recon = &reconciler{s: s, sup: s.sup, pm: pm, log: logger.Named("reconcile"), vols: map[string]*commonv1.Volume{}}
	}
	return s, nil
}

// Addr is the address the gRPC listener is bound to.
func (s *Server) Addr() string { return s.lis.Addr().String() }

// runningProbeInterval is how often a running daemon's readiness is
// checked when nothing reported a change (see supervisor.Recheck).
const runningProbeInterval = 30 * time.Second

// NodeID is this node's UUID.
func (s *Server) NodeID() string { return s.ident.Get().NodeID }

func (s *Server) signalChanged() {
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

func (s *Server) fatal(err error) {
	select {
	case s.fatalc <- err:
	default:
	}
}

// Run claims the node's id (failing when another node holds it), then serves
// until ctx ends; at a clean stop the node's session ends with it.
func (s *Server) Run(ctx context.Context) error {
	defer s.storeConn.Close()
	if err := s.claim(ctx); err != nil {
		s.lis.Close()
		return err
	}
	defer s.release()
	s.forgetStaleMembership(ctx)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go s.keepSession(ctx)
	if s.sup != nil {
		supDone, followDone := make(chan struct{}), make(chan struct{})
		go func() { s.sup.Run(ctx); close(supDone) }()
		go func() { s.recon.pm.follow(ctx, s.log.Named("portmap-link")); close(followDone) }()
		// The daemons are stopped (or left to the next run) before the
		// session, and with it their status, ends.
		defer func() { cancel(); <-supDone; <-followDone; s.recon.pm.Close() }()
		go s.recon.watch(ctx)
		go s.publishStatus(ctx, s.sup, s.changed)
	}
	id := s.ident.Get()
	errc := make(chan error, 1)
	go func() {
		errc <- service.Run(ctx, service.Options{
			Name: ServiceName, ID: ServiceName + "-" + id.NodeID, Listener: s.lis, Advertise: s.cfg.Advertise,
			Registry: s.reg, CheckInterval: s.cfg.CheckInterval, Server: s.grpc, Logger: s.log,
			Meta: map[string]string{discovery.NodeMetaKey: id.NodeID, "name": s.cfg.Name},
		})
	}()
	select {
	case err := <-errc:
		return err
	case err := <-s.fatalc:
		cancel()
		<-errc
		return err
	}
}

// forgetStaleMembership clears the node's cluster when that cluster no
// longer lists it (it was detached while the node was down).
func (s *Server) forgetStaleMembership(ctx context.Context) {
	id := s.ident.Get()
	if id.ClusterID == "" {
		return
	}
	cluster, err := s.store.Cluster(ctx)
	if err != nil || cluster.Id != id.ClusterID {
		return
	}
	if _, err := s.store.Peer(ctx, id.NodeID); errs.Is(err, errs.NotFound) {
		if _, err := s.ident.Update(func(i *identity.Identity) { i.ClusterID = "" }); err == nil {
			s.log.Info("the cluster detached this node while it was down; it now belongs to no cluster")
		}
	}
}
