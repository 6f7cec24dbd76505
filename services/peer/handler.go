package peer

import (
	"context"

	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"
	peerv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/peer/v1"

	"github.com/glusterd-ng/glusterd-ng/services/peer/internal/pool"
)

// handler maps the gRPC API onto the pool.
type handler struct {
	peerv1.UnimplementedPeerServiceServer
	pool *pool.Pool
}

func (h *handler) ListPeers(ctx context.Context, _ *peerv1.ListPeersRequest) (*peerv1.ListPeersResponse, error) {
	peers, err := h.pool.List(ctx)
	if err != nil {
		return nil, err
	}
	return &peerv1.ListPeersResponse{Peers: peers}, nil
}

func (h *handler) GetPeer(ctx context.Context, req *peerv1.GetPeerRequest) (*commonv1.Peer, error) {
	return h.pool.Get(ctx, req.GetPeer())
}

func (h *handler) AddPeer(ctx context.Context, req *peerv1.AddPeerRequest) (*commonv1.Peer, error) {
	return h.pool.Add(ctx, req.GetAddress(), req.GetLabels())
}

func (h *handler) RemovePeer(ctx context.Context, req *peerv1.RemovePeerRequest) (*peerv1.RemovePeerResponse, error) {
	if err := h.pool.Remove(ctx, req.GetPeer(), req.GetForce()); err != nil {
		return nil, err
	}
	return &peerv1.RemovePeerResponse{}, nil
}
