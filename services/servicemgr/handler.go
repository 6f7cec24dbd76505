package servicemgr

import (
	"context"

	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"
	servicemgrv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/servicemgr/v1"

	"github.com/glusterd-ng/glusterd-ng/libs/errs"
	"github.com/glusterd-ng/glusterd-ng/libs/identity"
	"github.com/glusterd-ng/glusterd-ng/libs/log"
)

// handler maps the gRPC API onto the server.
type handler struct {
	servicemgrv1.UnimplementedServiceManagerServer
	s *Server
}

func (h *handler) identity() *servicemgrv1.NodeIdentity {
	id := h.s.ident.Get()
	return &servicemgrv1.NodeIdentity{NodeId: id.NodeID, Name: h.s.cfg.Name, Addresses: h.s.cfg.AddressList(),
		ClusterId: id.ClusterID, Version: Version, ApiVersion: APIVersion}
}

func (h *handler) GetIdentity(context.Context, *servicemgrv1.GetIdentityRequest) (*servicemgrv1.NodeIdentity, error) {
	return h.identity(), nil
}

func (h *handler) Join(_ context.Context, req *servicemgrv1.JoinRequest) (*servicemgrv1.JoinResponse, error) {
	if req.GetClusterId() == "" {
		return nil, errs.InvalidField("cluster_id", "must not be empty")
	}
	id := h.s.ident.Get()
	if req.PeerId != "" && req.PeerId != id.NodeID {
		return nil, errs.InvalidField("peer_id", "%s is not this node's id %s", req.PeerId, id.NodeID)
	}
	if id.ClusterID != "" && id.ClusterID != req.ClusterId {
		return nil, errs.New(errs.Precondition, "node %s already belongs to cluster %s; detach it there first", id.NodeID, id.ClusterID)
	}
	if id.ClusterID == "" {
		if _, err := h.s.ident.Update(func(i *identity.Identity) { i.ClusterID = req.ClusterId }); err != nil {
			return nil, errs.Wrap(errs.Internal, err, "cannot record the cluster in the node's state directory")
		}
		h.s.log.Info("joined cluster", log.Key(req.ClusterId))
	}
	return &servicemgrv1.JoinResponse{Identity: h.identity()}, nil
}

func (h *handler) Leave(_ context.Context, req *servicemgrv1.LeaveRequest) (*servicemgrv1.LeaveResponse, error) {
	id := h.s.ident.Get()
	switch {
	case id.ClusterID == "":
		return &servicemgrv1.LeaveResponse{}, nil
	case req.GetClusterId() != id.ClusterID:
		return nil, errs.New(errs.Precondition, "node %s belongs to cluster %s, not %s", id.NodeID, id.ClusterID, req.GetClusterId())
	}
	if _, err := h.s.ident.Update(func(i *identity.Identity) { i.ClusterID = "" }); err != nil {
		return nil, errs.Wrap(errs.Internal, err, "cannot record leaving in the node's state directory")
	}
	h.s.log.Info("left cluster", log.Key(req.ClusterId))
	return &servicemgrv1.LeaveResponse{}, nil
}

func (h *handler) ListDaemons(ctx context.Context, _ *servicemgrv1.ListDaemonsRequest) (*servicemgrv1.ListDaemonsResponse, error) {
	entries, err := h.s.store.Runtime(ctx, h.s.NodeID())
	if err != nil {
		return nil, err
	}
	out := &servicemgrv1.ListDaemonsResponse{Daemons: []*commonv1.RuntimeEntry{}}
	for _, e := range entries {
		// The node's identity and the portmap's port entries are not daemons.
		if e.Kind != "node" && e.Kind != "port" {
			out.Daemons = append(out.Daemons, e)
		}
	}
	return out, nil
}
