package gateway

import (
	"context"

	"github.com/hashicorp/consul/api"
	"google.golang.org/grpc"

	peerv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/peer/v1"
	portmapv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/portmap/v1"
	servicemgrv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/servicemgr/v1"

	"github.com/glusterd-ng/glusterd-ng/libs/discovery"
	"github.com/glusterd-ng/glusterd-ng/libs/errs"
	"github.com/glusterd-ng/glusterd-ng/libs/grpcx"
)

// nodeProxy serves the per-node routes (/v1/peers/{peer}/daemons and
// /ports) by finding that node's service in Consul's catalog and asking it.
type nodeProxy struct {
	servicemgrv1.UnimplementedServiceManagerServer
	peers  peerv1.PeerServiceClient
	consul *api.Client
}

// portmapProxy is nodeProxy for the portmap routes.
type portmapProxy struct {
	portmapv1.UnimplementedPortmapServer
	*nodeProxy
}

// dialNode connects to the instance of service on the node of peer ref
// (id, name or address); the caller closes the connection.
func (n *nodeProxy) dialNode(ctx context.Context, service, ref string) (*grpc.ClientConn, error) {
	addr, err := n.nodeAddr(ctx, service, ref)
	if err != nil {
		return nil, err
	}
	return grpcx.Dial(addr)
}

// nodeAddr resolves a peer (id, name or address) to the address of its
// instance of service.
func (n *nodeProxy) nodeAddr(ctx context.Context, service, ref string) (string, error) {
	p, err := n.peers.GetPeer(ctx, &peerv1.GetPeerRequest{Peer: ref})
	if err != nil {
		return "", err
	}
	addr, found, err := discovery.NodeInstance(ctx, n.consul, service, p.Id)
	if err != nil {
		return "", errs.ToStatus(errs.Wrap(errs.Unavailable, err, "cannot read node services from Consul")).Err()
	}
	if found {
		return addr, nil
	}
	return "", errs.ToStatus(errs.New(errs.Unavailable, "peer %s is disconnected: its %s is not up", p.Name, service)).Err()
}

func (n *portmapProxy) ListPorts(ctx context.Context, req *portmapv1.ListPortsRequest) (*portmapv1.ListPortsResponse, error) {
	conn, err := n.dialNode(ctx, "portmap", req.GetPeer())
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return portmapv1.NewPortmapClient(conn).ListPorts(ctx, req)
}

func (n *nodeProxy) ListDaemons(ctx context.Context, req *servicemgrv1.ListDaemonsRequest) (*servicemgrv1.ListDaemonsResponse, error) {
	conn, err := n.dialNode(ctx, "servicemgr", req.GetPeer())
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return servicemgrv1.NewServiceManagerClient(conn).ListDaemons(ctx, req)
}
