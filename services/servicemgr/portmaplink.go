package servicemgr

import (
	"context"
	"sync"
	"time"

	"github.com/hashicorp/consul/api"
	"google.golang.org/grpc"

	portmapv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/portmap/v1"

	"github.com/glusterd-ng/glusterd-ng/libs/discovery"
	"github.com/glusterd-ng/glusterd-ng/libs/errs"
	"github.com/glusterd-ng/glusterd-ng/libs/grpcx"
)

// portsFreshness is how old a copy of the port map may be when asking
// whether a brick has signed in: many bricks starting at once share one
// ListPorts call.
const portsFreshness = 20 * time.Millisecond

// portmapLink is this node's portmap as the daemons need it: a port for a
// brick about to start, and whether a brick has signed in.
type portmapLink struct {
	consul *api.Client
	nodeID string
	target string // configured gRPC target; empty: look it up in Consul

	mu      sync.Mutex
	conn    *grpc.ClientConn
	ports   map[string]int32 // brick path -> signed-in port
	portsAt time.Time
}

// client returns a connection to the portmap, finding it first if needed.
func (p *portmapLink) client(ctx context.Context) (portmapv1.PortmapClient, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conn == nil {
		target := p.target
		if target == "" {
			addr, found, err := discovery.NodeInstance(ctx, p.consul, "portmap", p.nodeID)
			if err != nil {
				return nil, errs.Wrap(errs.Unavailable, err, "cannot look up this node's portmap")
			}
			if !found {
				return nil, errs.New(errs.Unavailable, "this node's portmap is not running (no passing portmap instance for node %s in Consul)", p.nodeID)
			}
			target = addr
		}
		conn, err := grpcx.Dial(target)
		if err != nil {
			return nil, errs.Wrap(errs.Unavailable, err, "dial this node's portmap at %s", target)
		}
		p.conn = conn
	}
	return portmapv1.NewPortmapClient(p.conn), nil
}

// failed drops the connection after an error that may mean the portmap
// moved, so the next call looks it up again.
func (p *portmapLink) failed(err error) {
	if !errs.Is(err, errs.Unavailable) || p.target != "" {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conn != nil {
		p.conn.Close()
		p.conn = nil
	}
}

// Allocate asks the portmap for a free brick port for brickPath.
func (p *portmapLink) Allocate(ctx context.Context, brickPath string) (int, error) {
	c, err := p.client(ctx)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	r, err := c.AllocatePort(ctx, &portmapv1.AllocatePortRequest{BrickPath: brickPath})
	if err != nil {
		err = errs.FromStatus(err)
		p.failed(err)
		return 0, errs.Wrap(errs.KindOf(err), err, "allocate a port for brick %s", brickPath)
	}
	return int(r.Port), nil
}

// SignedIn reports whether brickPath has signed in to the portmap on port.
func (p *portmapLink) SignedIn(ctx context.Context, brickPath string, port int) bool {
	p.mu.Lock()
	fresh := time.Since(p.portsAt) < portsFreshness
	got, ok := p.ports[brickPath]
	p.mu.Unlock()
	if fresh {
		return ok && int(got) == port
	}
	c, err := p.client(ctx)
	if err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	r, err := c.ListPorts(ctx, &portmapv1.ListPortsRequest{})
	if err != nil {
		p.failed(errs.FromStatus(err))
		return false
	}
	ports := make(map[string]int32, len(r.Ports))
	for _, e := range r.Ports {
		ports[e.BrickPath] = e.Port
	}
	p.mu.Lock()
	p.ports, p.portsAt = ports, time.Now()
	p.mu.Unlock()
	got, ok = ports[brickPath]
	return ok && int(got) == port
}

// Close drops the connection.
func (p *portmapLink) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conn != nil {
		p.conn.Close()
		p.conn = nil
	}
}
