package peer

import (
	"context"
	"net"
	"strconv"

	"github.com/hashicorp/consul/api"
	"google.golang.org/grpc"

	servicemgrv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/servicemgr/v1"

	"github.com/glusterd-ng/glusterd-ng/libs/discovery"
	"github.com/glusterd-ng/glusterd-ng/libs/errs"
	"github.com/glusterd-ng/glusterd-ng/libs/grpcx"
	"github.com/glusterd-ng/glusterd-ng/services/peer/internal/pool"
)

// grpcNodes connects to nodes' service managers over gRPC.
type grpcNodes struct{}

// Dial connects to the service manager at addr; the connection is made on first use.
func (grpcNodes) Dial(addr string) (pool.Node, error) {
	conn, err := grpcx.Dial(addr)
	if err != nil {
		return nil, err
	}
	return &grpcNode{conn: conn, c: servicemgrv1.NewServiceManagerClient(conn)}, nil
}

// grpcNode is one connection to a node's service manager.
type grpcNode struct {
	conn *grpc.ClientConn
	c    servicemgrv1.ServiceManagerClient
}

func (n *grpcNode) Identity(ctx context.Context) (*servicemgrv1.NodeIdentity, error) {
	id, err := n.c.GetIdentity(ctx, &servicemgrv1.GetIdentityRequest{})
	return id, errs.FromStatus(err)
}

func (n *grpcNode) Join(ctx context.Context, clusterID, peerID string) error {
	_, err := n.c.Join(ctx, &servicemgrv1.JoinRequest{ClusterId: clusterID, PeerId: peerID})
	return errs.FromStatus(err)
}

func (n *grpcNode) Leave(ctx context.Context, clusterID string) error {
	_, err := n.c.Leave(ctx, &servicemgrv1.LeaveRequest{ClusterId: clusterID})
	return errs.FromStatus(err)
}

func (n *grpcNode) Close() error { return n.conn.Close() }

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
		if id := e.Service.Meta[discovery.NodeMetaKey]; id != "" {
			up[id] = net.JoinHostPort(e.Service.Address, strconv.Itoa(e.Service.Port))
		}
	}
	return up, nil
}
