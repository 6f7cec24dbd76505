package peer

import (
	"context"
	"net"
	"strconv"

	"github.com/hashicorp/consul/api"

	servicemgrv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/servicemgr/v1"

	"github.com/glusterd-ng/glusterd-ng/libs/errs"
	"github.com/glusterd-ng/glusterd-ng/libs/grpcx"
)

// grpcNodes talks to nodes' service managers over gRPC.
type grpcNodes struct{}

func (grpcNodes) call(ctx context.Context, addr string, fn func(servicemgrv1.ServiceManagerClient) error) error {
	conn, err := grpcx.Dial(addr)
	if err != nil {
		return errs.Wrap(errs.Invalid, err, "cannot dial %s", addr)
	}
	defer conn.Close()
	return errs.FromStatus(fn(servicemgrv1.NewServiceManagerClient(conn)))
}

func (n grpcNodes) Identity(ctx context.Context, addr string) (*servicemgrv1.NodeIdentity, error) {
	var id *servicemgrv1.NodeIdentity
	err := n.call(ctx, addr, func(c servicemgrv1.ServiceManagerClient) (err error) {
		id, err = c.GetIdentity(ctx, &servicemgrv1.GetIdentityRequest{})
		return err
	})
	return id, err
}

func (n grpcNodes) Join(ctx context.Context, addr, clusterID, peerID string) error {
	return n.call(ctx, addr, func(c servicemgrv1.ServiceManagerClient) error {
		_, err := c.Join(ctx, &servicemgrv1.JoinRequest{ClusterId: clusterID, PeerId: peerID})
		return err
	})
}

func (n grpcNodes) Leave(ctx context.Context, addr, clusterID string) error {
	return n.call(ctx, addr, func(c servicemgrv1.ServiceManagerClient) error {
		_, err := c.Leave(ctx, &servicemgrv1.LeaveRequest{ClusterId: clusterID})
		return err
	})
}

// consulHealth reads which nodes are up from Consul's health of their
// service managers (service "servicemgr", node id in the service meta).
type consulHealth struct {
	client *api.Client
}

func (h consulHealth) Connected(ctx context.Context) (map[string]string, error) {
	entries, _, err := h.client.Health().Service("servicemgr", "", true, (&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return nil, errs.Wrap(errs.Unavailable, err, "cannot read node health from Consul")
	}
	up := make(map[string]string, len(entries))
	for _, e := range entries {
		if id := e.Service.Meta["node_id"]; id != "" {
			up[id] = net.JoinHostPort(e.Service.Address, strconv.Itoa(e.Service.Port))
		}
	}
	return up, nil
}
