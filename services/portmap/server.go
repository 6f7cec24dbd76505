// Package portmap is the per-node portmap service: GlusterFS's management
// RPC on 24007 (volfiles for bricks and clients, the brick port registry,
// FETCHSPEC when a volfile changes) and a gRPC view of the registry.
package portmap

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"
	portmapv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/portmap/v1"
	storev1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/store/v1"

	"github.com/glusterd-ng/glusterd-ng/libs/discovery"
	"github.com/glusterd-ng/glusterd-ng/libs/errs"
	"github.com/glusterd-ng/glusterd-ng/libs/grpcx"
	"github.com/glusterd-ng/glusterd-ng/libs/identity"
	"github.com/glusterd-ng/glusterd-ng/libs/log"
	"github.com/glusterd-ng/glusterd-ng/libs/service"
	"github.com/glusterd-ng/glusterd-ng/libs/storeclient"
	"github.com/glusterd-ng/glusterd-ng/libs/sunrpc"
	"github.com/glusterd-ng/glusterd-ng/services/portmap/internal/registry"
)

// ServiceName is the portmap's name in Consul's catalog.
const ServiceName = "portmap"

// Server is a running portmap service.
type Server struct {
	cfg       Config
	log       *zap.Logger
	nodeID    string
	lis       net.Listener
	mgmt      net.Listener
	grpc      *grpcx.Server
	store     *storeclient.Client
	followed  *followedVolumes // the volumes as the change feed delivers them
	storeConn *grpc.ClientConn
	reg       *registry.Registry
	rpc       *rpcServer
	registry  discovery.Registry
	persist   chan portChange
	// stopping is closed when Run's context ends, before the gRPC server
	// drains: streams that never end by themselves (WatchPorts) end then.
	stopping chan struct{}
}

// portChange is a registration to mirror into the store.
type portChange struct {
	brick     string
	port, pid int
	gone      bool
}

// New validates cfg, reads the node identity and binds both listeners.
func New(cfg Config, logger *zap.Logger, reg prometheus.Registerer) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("portmap config: %w", err)
	}
	ident, err := identity.Open(cfg.StateDir, cfg.NodeID)
	if err != nil {
		return nil, err
	}
	nodeID := ident.Get().NodeID
	logger = logger.With(log.Node(nodeID))
	deps, err := service.Connect(cfg.Common, cfg.StoreTarget, logger)
	if err != nil {
		return nil, err
	}
	kv, conn := deps.Consul, deps.Store
	ports, err := registry.New(cfg.BasePort, cfg.MaxPort)
	if err != nil {
		return nil, err
	}
	mgmt, err := net.Listen("tcp", cfg.MgmtListen)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("listen for the management RPC on %s: %w", cfg.MgmtListen, err)
	}
	lis, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		mgmt.Close()
		conn.Close()
		return nil, fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	store := storeclient.New(conn)
	s := &Server{stopping: make(chan struct{}), cfg: cfg, log: logger, nodeID: nodeID, lis: lis, mgmt: mgmt, store: store, storeConn: conn,
		reg: ports, persist: make(chan portChange, 1024), followed: newFollowedVolumes(store)}
	s.rpc = &rpcServer{reg: ports, vols: newVolfiles(s.followed, cfg.WorkDir, nodeID), log: logger.Named("rpc"), local: isLocal,
		conns:    map[uint64]*mgmtConn{},
		onSignIn: func(b string, port, pid int) { s.mirror(portChange{brick: b, port: port, pid: pid}) },
		onOut:    func(b string) { s.mirror(portChange{brick: b, gone: true}) },
		threads:  sunrpc.NewThreads(cfg.RPCThreads)}
	s.grpc = grpcx.NewServer(grpcx.ServerConfig{Name: ServiceName, Logger: logger, Registerer: reg})
	portmapv1.RegisterPortmapServer(s.grpc.GRPC(), &handler{reg: ports, stopping: s.stopping})
	if cfg.Register {
		s.registry = discovery.NewConsul(kv.API(), logger.Named("discovery"))
	}
	return s, nil
}

// Addr is the gRPC listener's address.
func (s *Server) Addr() string { return s.lis.Addr().String() }

// MgmtAddr is the management RPC listener's address.
func (s *Server) MgmtAddr() string { return s.mgmt.Addr().String() }

// isLocal says whether a peer address is on this machine (loopback or a
// local interface's address): such clients get the trusted volfile, as
// glusterd gives it to local ones.
func isLocal(a net.Addr) bool {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return false
	}
	if tcp.IP.IsLoopback() {
		return true
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, ia := range addrs {
		if n, ok := ia.(*net.IPNet); ok && n.IP.Equal(tcp.IP) {
			return true
		}
	}
	return false
}

// Run serves the management RPC and gRPC until ctx ends.
func (s *Server) Run(ctx context.Context) error {
	defer s.storeConn.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { <-ctx.Done(); close(s.stopping) }()
	go s.acceptMgmt(ctx)
	go s.keepStore(ctx)
	go s.watchVolumes(ctx)
	return service.Run(ctx, service.Options{
		Name: ServiceName, ID: ServiceName + "-" + s.nodeID, Listener: s.lis, Advertise: s.cfg.Advertise,
		Registry: s.registry, CheckInterval: s.cfg.CheckInterval, Server: s.grpc, Logger: s.log,
		Meta: map[string]string{discovery.NodeMetaKey: s.nodeID, "mgmt": s.MgmtAddr()},
	})
}

func (s *Server) acceptMgmt(ctx context.Context) {
	go func() { <-ctx.Done(); s.mgmt.Close() }()
	for {
		nc, err := s.mgmt.Accept()
		if err != nil {
			if ctx.Err() == nil {
				s.log.Error("management listener failed", log.Err(err))
			}
			return
		}
		go s.rpc.serve(ctx, nc)
	}
}

func (s *Server) mirror(c portChange) {
	select {
	case s.persist <- c:
	default:
		s.log.Warn("port map mirror queue full; the store will catch up at the next sign-in", zap.String("brick", c.brick))
	}
}

// portEntryName is the runtime entry name of a brick's port.
func portEntryName(brick string) string {
	sum := sha256.Sum256([]byte(brick))
	return "port-" + hex.EncodeToString(sum[:8])
}

// keepStore mirrors the port map into the store as runtime entries held by
// this service's node session, so it is visible cluster-wide and vanishes
// with the node; it also loads what a previous run left, so PORTBYBRICK
// answers before the bricks sign in again.
func (s *Server) keepStore(ctx context.Context) {
	if old, err := s.store.Runtime(ctx, s.nodeID); err == nil {
		for _, e := range old {
			if e.Kind == "port" && e.BrickPath != "" {
				s.reg.SignIn(e.BrickPath, int(e.Port), int(e.Pid), 0)
			}
		}
	}
	var session string
	versions := map[string]uint64{}
	renew := time.NewTicker(s.cfg.SessionTTL / 3)
	defer renew.Stop()
	open := func() bool {
		if session != "" {
			return true
		}
		id, err := s.store.OpenSession(ctx, s.nodeID, s.cfg.SessionTTL)
		if err != nil {
			s.log.Warn("cannot open the port map's store session", log.Err(err))
			return false
		}
		session, versions = id, map[string]uint64{}
		return true
	}
	for {
		select {
		case <-ctx.Done():
			if session != "" {
				cctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				_ = s.store.CloseSession(cctx, session)
				cancel()
			}
			return
		case <-renew.C:
			if session != "" {
				if err := s.store.RenewSession(ctx, session); errs.Is(err, errs.NotFound) {
					session = ""
				}
			}
		case c := <-s.persist:
			if !open() {
				continue
			}
			name := portEntryName(c.brick)
			if c.gone {
				if err := s.store.DeleteRuntime(ctx, s.nodeID, name); err != nil && !errs.Is(err, errs.NotFound) {
					s.log.Warn("cannot remove a port from the store", log.Err(err))
				}
				delete(versions, name)
				continue
			}
			e := &commonv1.RuntimeEntry{NodeId: s.nodeID, Name: name, Kind: "port", BrickPath: c.brick, Port: int32(c.port), Pid: int32(c.pid), Online: true}
			got, err := s.store.UpsertRuntime(ctx, e, session, versions[name])
			if err != nil {
				s.log.Warn("cannot record a port in the store", zap.String("brick", c.brick), log.Err(err))
				continue
			}
			versions[name] = got.Version
		}
	}
}

// watchVolumes follows volume changes in the store and tells connected
// processes whose volfile changed to fetch it again.
func (s *Server) watchVolumes(ctx context.Context) {
	var since uint64
	live := false
	for ctx.Err() == nil {
		if since == 0 {
			l, err := s.store.Raw().List(ctx, &storev1.ListRequest{Kind: storev1.Kind_VOLUME})
			if err != nil {
				time.Sleep(time.Second)
				continue
			}
			vols := make([]*commonv1.Volume, 0, len(l.Resources))
			for _, r := range l.Resources {
				if v := r.GetVolume(); v != nil {
					vols = append(vols, v)
				}
			}
			s.followed.Reset(vols)
			since = l.Version
		}
		stream, err := s.store.Raw().Watch(ctx, &storev1.WatchRequest{Kinds: []storev1.Kind{storev1.Kind_VOLUME}, Since: since})
		if err != nil {
			time.Sleep(time.Second)
			continue
		}
		for {
			ev, err := stream.Recv()
			if err != nil {
				if errs.Is(errs.FromStatus(err), errs.OutOfRange) {
					since = 0
				}
				// Changes may be missed until the watch is back: answer
				// from the store again meanwhile.
				s.followed.Follow(false)
				s.rpc.vols.SetLive(false)
				live = false
				break
			}
			if ev.Version > since {
				since = ev.Version
			}
			if ev.Type == storev1.EventType_BOOKMARK {
				s.followed.Follow(true)
				s.rpc.vols.SetLive(true)
				if !live {
					// Changes made before the feed was followed reached
					// no one: bring every process to its current volfile.
					live = true
					s.rpc.reconcile()
				}
				continue
			}
			switch ev.Type {
			case storev1.EventType_PUT:
				if v := ev.Resource.GetVolume(); v != nil {
					s.followed.Put(v)
				}
				s.rpc.vols.Invalidate(ev.Key.GetName())
			case storev1.EventType_DELETE:
				s.followed.Delete(ev.Key.GetName())
				s.rpc.vols.Forget(ev.Key.GetName())
			default:
				continue
			}
			s.rpc.volumeChanged(ev.Key.GetName())
		}
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
}
