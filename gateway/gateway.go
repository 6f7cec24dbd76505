// Package gateway is the REST facade (grpc-gateway) over the services, with
// the OpenAPI document, health, readiness, metrics, request ids and an
// access log.
package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	orchestratorv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/orchestrator/v1"
	peerv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/peer/v1"
	portmapv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/portmap/v1"
	servicemgrv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/servicemgr/v1"
	storev1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/store/v1"

	"github.com/glusterd-ng/glusterd-ng/gateway/openapi"
	"github.com/glusterd-ng/glusterd-ng/libs/consulkv"
	"github.com/glusterd-ng/glusterd-ng/libs/grpcx"
	"github.com/glusterd-ng/glusterd-ng/libs/log"
)

// Gateway is a running REST gateway.
type Gateway struct {
	cfg     Config
	log     *zap.Logger
	lis     net.Listener
	http    *http.Server
	kv      *consulkv.Client
	conns   map[string]*grpc.ClientConn
	reg     *prometheus.Registry
	metrics *httpMetrics
}

// createMethods answer 201 Created on success.
var createMethods = map[string]bool{
	"/gluster.peer.v1.PeerService/AddPeer":                true,
	"/gluster.orchestrator.v1.VolumeService/CreateVolume": true,
}

// New builds the gateway: dials the services it fronts and binds the listener.
func New(cfg Config, logger *zap.Logger) (*Gateway, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("gateway config: %w", err)
	}
	kv, err := consulkv.New(consulkv.Config{Address: cfg.ConsulAddr, Token: cfg.ConsulToken, Timeout: 3 * time.Second})
	if err != nil {
		return nil, err
	}
	resolver := grpcx.WithConsulResolver(kv.API(), logger.Named("resolver"))
	storeConn, err := grpcx.Dial(cfg.StoreTarget, resolver)
	if err != nil {
		return nil, fmt.Errorf("dial store at %s: %w", cfg.StoreTarget, err)
	}
	peerConn, err := grpcx.Dial(cfg.PeerTarget, resolver)
	if err != nil {
		return nil, fmt.Errorf("dial peer service at %s: %w", cfg.PeerTarget, err)
	}
	orchConn, err := grpcx.Dial(cfg.OrchestratorTarget, resolver)
	if err != nil {
		return nil, fmt.Errorf("dial orchestrator at %s: %w", cfg.OrchestratorTarget, err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	g := &Gateway{cfg: cfg, log: logger, kv: kv, conns: map[string]*grpc.ClientConn{"store": storeConn, "peer": peerConn, "orchestrator": orchConn}, reg: reg, metrics: newHTTPMetrics(reg)}

	mux := runtime.NewServeMux(
		runtime.WithOutgoingHeaderMatcher(func(key string) (string, bool) {
			// Only what the API documents leaves the gateway as a header.
			if key == grpcx.StaleHeader {
				return "X-Stale-Ms", true
			}
			return "", false
		}),
		runtime.WithErrorHandler(writeError),
		runtime.WithRoutingErrorHandler(routingError),
		runtime.WithMarshalerOption(runtime.MIMEWildcard, &runtime.JSONPb{
			MarshalOptions:   protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true},
			UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
		}),
		runtime.WithMetadata(func(ctx context.Context, _ *http.Request) metadata.MD {
			return metadata.Pairs(grpcx.RequestIDHeader, grpcx.RequestID(ctx))
		}),
		runtime.WithForwardResponseOption(func(ctx context.Context, w http.ResponseWriter, _ proto.Message) error {
			// An operation accepted to run in the background (?async=true) is 202.
			if md, ok := runtime.ServerMetadataFromContext(ctx); ok && len(md.HeaderMD.Get(grpcx.AcceptedHeader)) > 0 {
				w.WriteHeader(http.StatusAccepted)
				return nil
			}
			if m, ok := runtime.RPCMethod(ctx); ok && createMethods[m] {
				w.WriteHeader(http.StatusCreated)
			}
			return nil
		}),
	)
	ctx := context.Background()
	if err := storev1.RegisterClusterServiceHandlerClient(ctx, mux, storev1.NewClusterServiceClient(storeConn)); err != nil {
		return nil, err
	}
	peers := peerv1.NewPeerServiceClient(peerConn)
	if err := peerv1.RegisterPeerServiceHandlerClient(ctx, mux, peers); err != nil {
		return nil, err
	}
	nodes := &nodeProxy{peers: peers, consul: kv.API()}
	if err := servicemgrv1.RegisterServiceManagerHandlerServer(ctx, mux, nodes); err != nil {
		return nil, err
	}
	if err := portmapv1.RegisterPortmapHandlerServer(ctx, mux, &portmapProxy{nodeProxy: nodes}); err != nil {
		return nil, err
	}
	if err := orchestratorv1.RegisterVolumeServiceHandlerClient(ctx, mux, orchestratorv1.NewVolumeServiceClient(orchConn)); err != nil {
		return nil, err
	}
	if err := orchestratorv1.RegisterTransactionServiceHandlerClient(ctx, mux, orchestratorv1.NewTransactionServiceClient(orchConn)); err != nil {
		return nil, err
	}

	root := http.NewServeMux()
	root.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	root.HandleFunc("GET /readyz", g.ready)
	root.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(openapi.Document)
	})
	root.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	root.Handle("/", g.withTimeout(asyncQuery(mux)))

	lis, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	g.lis = lis
	g.http = &http.Server{
		Handler:           g.middleware(root),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	return g, nil
}

// Addr is the address the REST listener is bound to.
func (g *Gateway) Addr() string { return g.lis.Addr().String() }

// Run serves until ctx ends, then drains for up to 10 s.
func (g *Gateway) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- g.http.Serve(g.lis) }()
	g.log.Info("serving REST", log.Addr(g.Addr()))
	var err error
	select {
	case err = <-errc:
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = g.http.Shutdown(sctx)
		cancel()
	}
	for _, c := range g.conns {
		_ = c.Close()
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

func (g *Gateway) withTimeout(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), g.cfg.RequestTimeout)
		defer cancel()
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}

// ready answers 200 when Consul has a leader and every fronted service
// reports SERVING, and 503 naming what is not ready otherwise.
func (g *Gateway) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	checks := map[string]string{}
	ok := true
	if _, err := g.kv.Leader(ctx); err != nil {
		checks["consul"], ok = err.Error(), false
	} else {
		checks["consul"] = "ok"
	}
	for name, conn := range g.conns {
		resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
		switch {
		case err != nil:
			checks[name], ok = "unreachable: "+err.Error(), false
		case resp.Status != healthpb.HealthCheckResponse_SERVING:
			checks[name], ok = resp.Status.String(), false
		default:
			checks[name] = "ok"
		}
	}
	code := http.StatusOK
	if !ok {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, map[string]any{"ready": ok, "checks": checks})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
