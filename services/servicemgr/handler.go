package servicemgr

import (
	"context"

	"go.uber.org/zap"

	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"
	servicemgrv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/servicemgr/v1"

	"github.com/glusterd-ng/glusterd-ng/libs/errs"
	"github.com/glusterd-ng/glusterd-ng/libs/identity"
	"github.com/glusterd-ng/glusterd-ng/libs/log"
	"github.com/glusterd-ng/glusterd-ng/services/servicemgr/internal/brick"
)

// handler maps the gRPC API onto the server.
type handler struct {
	servicemgrv1.UnimplementedServiceManagerServer
	s *Server
	// authorize decides whether the caller may run a node action (prepare,
	// unprepare and clean up bricks, statedumps): only members of this
	// cluster may. It is the seam for the security work (mTLS peer
	// identity); until then it is allowAll.
	authorize func(ctx context.Context, action string) error
}

// allowAll lets any caller that reaches the node run node actions; it
// stands until callers are authenticated (mTLS).
func allowAll(context.Context, string) error { return nil }

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

// otherBricks lists the paths of every brick of any volume on this node.
func (h *handler) otherBricks(ctx context.Context) ([]string, error) {
	vols, err := h.s.store.Volumes(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, v := range vols {
		for _, sv := range v.Subvolumes {
			for _, b := range sv.Bricks {
				if b.PeerId == h.s.NodeID() {
					out = append(out, b.Path)
				}
			}
		}
	}
	return out, nil
}

// The node actions below are for the orchestrator; each asks authorize first.

func (h *handler) PrepareBrick(ctx context.Context, req *servicemgrv1.PrepareBrickRequest) (*servicemgrv1.PrepareBrickResponse, error) {
	if err := h.authorize(ctx, "PrepareBrick"); err != nil {
		return nil, err
	}
	others, err := h.otherBricks(ctx)
	if err != nil {
		return nil, err
	}
	created, err := brick.Prepare(brick.Request{VolumeID: req.GetVolumeId(), Path: req.GetBrickPath(),
		CreateDir: req.GetCreateDir(), Force: req.GetForce(), Others: others})
	if err != nil {
		return nil, err
	}
	h.s.log.Info("prepared brick", zap.String("brick_path", req.BrickPath), zap.Bool("created_dir", created))
	return &servicemgrv1.PrepareBrickResponse{CreatedDir: created}, nil
}

func (h *handler) UnprepareBrick(ctx context.Context, req *servicemgrv1.UnprepareBrickRequest) (*servicemgrv1.UnprepareBrickResponse, error) {
	if err := h.authorize(ctx, "UnprepareBrick"); err != nil {
		return nil, err
	}
	if err := brick.Unprepare(req.GetVolumeId(), req.GetBrickPath(), req.GetRemoveDir()); err != nil {
		return nil, err
	}
	return &servicemgrv1.UnprepareBrickResponse{}, nil
}

func (h *handler) CleanupBrick(ctx context.Context, req *servicemgrv1.CleanupBrickRequest) (*servicemgrv1.CleanupBrickResponse, error) {
	if err := h.authorize(ctx, "CleanupBrick"); err != nil {
		return nil, err
	}
	if err := brick.Cleanup(req.GetVolumeId(), req.GetBrickPath()); err != nil {
		return nil, err
	}
	return &servicemgrv1.CleanupBrickResponse{}, nil
}

func (h *handler) Statedump(ctx context.Context, req *servicemgrv1.StatedumpRequest) (*servicemgrv1.StatedumpResponse, error) {
	if err := h.authorize(ctx, "Statedump"); err != nil {
		return nil, err
	}
	if req.GetVolume() == "" {
		return nil, errs.InvalidField("volume", "must not be empty")
	}
	if h.s.sup == nil {
		return nil, errs.New(errs.Precondition, "this node runs no daemons (servicemgr was started with --daemons=false)")
	}
	vol, err := h.s.store.Volume(ctx, req.Volume)
	if err != nil {
		return nil, err
	}
	dir := vol.Options["server.statedump-path"]
	if dir == "" {
		dir = defaultStatedumpDir
	}
	files, err := statedump(ctx, h.s.sup.Statuses(), dir, req)
	if err != nil {
		return nil, err
	}
	return &servicemgrv1.StatedumpResponse{Files: files}, nil
}
