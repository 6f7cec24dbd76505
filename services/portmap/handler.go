package portmap

import (
	"context"

	portmapv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/portmap/v1"

	"github.com/glusterd-ng/glusterd-ng/libs/errs"
	"github.com/glusterd-ng/glusterd-ng/services/portmap/internal/registry"
)

// handler is the gRPC view of the node's port map.
type handler struct {
	portmapv1.UnimplementedPortmapServer
	reg *registry.Registry
}

func (h *handler) ListPorts(context.Context, *portmapv1.ListPortsRequest) (*portmapv1.ListPortsResponse, error) {
	out := &portmapv1.ListPortsResponse{Ports: []*portmapv1.PortEntry{}}
	for _, e := range h.reg.List() {
		out.Ports = append(out.Ports, &portmapv1.PortEntry{BrickPath: e.Brick, Port: int32(e.Port)})
	}
	return out, nil
}

func (h *handler) AllocatePort(_ context.Context, req *portmapv1.AllocatePortRequest) (*portmapv1.AllocatePortResponse, error) {
	if req.GetBrickPath() == "" || req.BrickPath[0] != '/' {
		return nil, errs.InvalidField("brick_path", "must be an absolute path")
	}
	p, err := h.reg.Allocate(req.BrickPath)
	if err != nil {
		return nil, errs.Wrap(errs.Unavailable, err, "%s", err.Error())
	}
	return &portmapv1.AllocatePortResponse{Port: int32(p)}, nil
}
