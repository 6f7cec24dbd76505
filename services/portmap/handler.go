package portmap

import (
	"context"
	"time"

	portmapv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/portmap/v1"

	"github.com/glusterd-ng/glusterd-ng/libs/errs"
	"github.com/glusterd-ng/glusterd-ng/services/portmap/internal/registry"
)

// handler is the gRPC view of the node's port map.
type handler struct {
	portmapv1.UnimplementedPortmapServer
	reg      *registry.Registry
	stopping <-chan struct{} // closed when the server stops
}

func (h *handler) ListPorts(context.Context, *portmapv1.ListPortsRequest) (*portmapv1.ListPortsResponse, error) {
	return h.ports(), nil
}

// ports is the registry as a ListPorts answer.
func (h *handler) ports() *portmapv1.ListPortsResponse {
	out := &portmapv1.ListPortsResponse{Ports: []*portmapv1.PortEntry{}}
	for _, e := range h.reg.List() {
		out.Ports = append(out.Ports, &portmapv1.PortEntry{BrickPath: e.Brick, Port: int32(e.Port)})
	}
	return out
}

// watchPortsBatch is how long WatchPorts lets changes gather before it
// sends the map, so that bricks signing in together cost one message.
const watchPortsBatch = 5 * time.Millisecond

func (h *handler) WatchPorts(_ *portmapv1.WatchPortsRequest, stream portmapv1.Portmap_WatchPortsServer) error {
	ctx := stream.Context()
	for {
		// Taken before the map is read, so no change after the read is missed.
		changed := h.reg.Changed()
		if err := stream.Send(h.ports()); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-h.stopping:
			return errs.New(errs.Unavailable, "the portmap is stopping")
		case <-changed:
		}
		select {
		case <-ctx.Done():
			return nil
		case <-h.stopping:
			return errs.New(errs.Unavailable, "the portmap is stopping")
		case <-time.After(watchPortsBatch):
		}
	}
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
