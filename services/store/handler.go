package store

import (
	"context"
	"strconv"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	storev1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/store/v1"

	"github.com/glusterd-ng/glusterd-ng/libs/consulkv"
	"github.com/glusterd-ng/glusterd-ng/libs/errs"
	"github.com/glusterd-ng/glusterd-ng/libs/grpcx"
	"github.com/glusterd-ng/glusterd-ng/services/store/internal/engine"
)

// handler maps the gRPC API onto the engine.
type handler struct {
	storev1.UnimplementedStoreServiceServer
	storev1.UnimplementedClusterServiceServer
	store *engine.Store
}

func (h *handler) Get(ctx context.Context, req *storev1.GetRequest) (*storev1.GetResponse, error) {
	rctx, st := consulkv.WithStaleness(ctx)
	r, v, err := h.store.Get(rctx, req.GetKey())
	if err != nil {
		return nil, err
	}
	reportStale(ctx, st)
	return &storev1.GetResponse{Resource: r, ResourceVersion: v}, nil
}

func (h *handler) List(ctx context.Context, req *storev1.ListRequest) (*storev1.ListResponse, error) {
	rctx, st := consulkv.WithStaleness(ctx)
	if req.GetKeysOnly() {
		if req.GetNodeId() != "" {
			return nil, errs.InvalidField("node_id", "is only for RUNTIME listings, which keys_only does not list")
		}
		keys, v, err := h.store.ListKeys(rctx, req.GetKind())
		if err != nil {
			return nil, err
		}
		reportStale(ctx, st)
		return &storev1.ListResponse{Keys: keys, Version: v}, nil
	}
	rs, v, err := h.store.List(rctx, req.GetKind(), req.GetNodeId())
	if err != nil {
		return nil, err
	}
	reportStale(ctx, st)
	return &storev1.ListResponse{Resources: rs, Version: v}, nil
}

func (h *handler) Create(ctx context.Context, req *storev1.CreateRequest) (*storev1.CreateResponse, error) {
	r, v, err := h.store.Create(ctx, req.GetResource(), req.GetSessionId())
	if err != nil {
		return nil, err
	}
	return &storev1.CreateResponse{Resource: r, ResourceVersion: v}, nil
}

func (h *handler) Update(ctx context.Context, req *storev1.UpdateRequest) (*storev1.UpdateResponse, error) {
	r, v, err := h.store.Update(ctx, req.GetResource(), req.GetResourceVersion(), req.GetSessionId())
	if err != nil {
		return nil, err
	}
	return &storev1.UpdateResponse{Resource: r, ResourceVersion: v}, nil
}

func (h *handler) Delete(ctx context.Context, req *storev1.DeleteRequest) (*storev1.DeleteResponse, error) {
	v, err := h.store.Delete(ctx, req.GetKey(), req.GetResourceVersion())
	if err != nil {
		return nil, err
	}
	return &storev1.DeleteResponse{Version: v}, nil
}

func (h *handler) Apply(ctx context.Context, req *storev1.ApplyRequest) (*storev1.ApplyResponse, error) {
	rs, v, err := h.store.Apply(ctx, req.GetOperations())
	if err != nil {
		return nil, err
	}
	return &storev1.ApplyResponse{Results: rs, Version: v}, nil
}

func (h *handler) Watch(req *storev1.WatchRequest, stream storev1.StoreService_WatchServer) error {
	return h.store.Watch(stream.Context(), req.GetKinds(), req.GetSince(), stream.Send)
}

func (h *handler) OpenSession(ctx context.Context, req *storev1.OpenSessionRequest) (*storev1.OpenSessionResponse, error) {
	id, err := h.store.OpenSession(ctx, req.GetNodeId(), time.Duration(req.GetTtlSeconds())*time.Second,
		time.Duration(req.GetLockDelaySeconds())*time.Second)
	if err != nil {
		return nil, err
	}
	return &storev1.OpenSessionResponse{SessionId: id}, nil
}

func (h *handler) RenewSession(ctx context.Context, req *storev1.RenewSessionRequest) (*storev1.RenewSessionResponse, error) {
	return &storev1.RenewSessionResponse{}, h.store.RenewSession(ctx, req.GetSessionId())
}

func (h *handler) CloseSession(ctx context.Context, req *storev1.CloseSessionRequest) (*storev1.CloseSessionResponse, error) {
	return &storev1.CloseSessionResponse{}, h.store.CloseSession(ctx, req.GetSessionId())
}

func (h *handler) GetCluster(ctx context.Context, _ *storev1.GetClusterRequest) (*storev1.ClusterInfo, error) {
	ci, err := h.store.ClusterInfo(ctx)
	if err != nil {
		return nil, err
	}
	return &storev1.ClusterInfo{
		Id: ci.Cluster.Id, Name: ci.Cluster.Name, OpVersion: ci.Cluster.OpVersion,
		ConsulLeader: ci.Leader, ConsulServers: ci.Servers,
		PeerCount: uint32(ci.Peers), VolumeCount: uint32(ci.Volumes),
		CreatedAt: ci.Cluster.CreatedAt,
	}, nil
}

// reportStale tells the caller, in a response header, that a read was
// served without a Consul leader and how stale it may be.
func reportStale(ctx context.Context, st *consulkv.Staleness) {
	if stale, age := st.Stale(); stale {
		_ = grpc.SetHeader(ctx, metadata.Pairs(grpcx.StaleHeader, strconv.FormatInt(age.Milliseconds(), 10)))
	}
}

var (
	_ storev1.StoreServiceServer   = (*handler)(nil)
	_ storev1.ClusterServiceServer = (*handler)(nil)
)
