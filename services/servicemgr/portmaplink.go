package servicemgr

import (
	"context"
	"maps"
	"sync"
	"time"

	"github.com/hashicorp/consul/api"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	portmapv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/portmap/v1"

	"github.com/glusterd-ng/glusterd-ng/libs/discovery"
	"github.com/glusterd-ng/glusterd-ng/libs/errs"
	"github.com/glusterd-ng/glusterd-ng/libs/grpcx"
	"github.com/glusterd-ng/glusterd-ng/libs/log"
)

// portsFreshness is how old a copy of the port map may be when asking
// whether a brick has signed in while the port map is not followed: many
// bricks starting at once share one ListPorts call.
const portsFreshness = 20 * time.Millisecond

// Bounds of the wait before the port map's stream is opened again after it
// broke; the portmap's own restart takes about as long as the first.
const (
	followRetryMin = 100 * time.Millisecond
	followRetryMax = 5 * time.Second
)

// portmapLink is this node's portmap as the daemons need it: a port for a
// brick about to start, and whether a brick has signed in. While follow
// keeps the portmap's WatchPorts stream open, whether a brick has signed in
// is answered from the map it sends, without a call per question; else
// from ListPorts.
type portmapLink struct {
	consul *api.Client
	nodeID string
	target string // configured gRPC target; empty: look it up in Consul

	mu      sync.Mutex
	conn    *grpc.ClientConn
	closed  bool
	ports   map[string]int32 // brick path -> signed-in port
	portsAt time.Time
	live    bool // ports is what the open WatchPorts stream last sent

	// onChange, when set, is called after the stream brought a port map
	// that differs from the one before.
	onChange func()
}

// client returns a connection to the portmap, finding it first if needed.
func (p *portmapLink) client(ctx context.Context) (portmapv1.PortmapClient, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, errs.New(errs.Unavailable, "the link to this node's portmap is closed")
	}
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
	fresh := p.live || time.Since(p.portsAt) < portsFreshness
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
	if !p.live {
		p.ports, p.portsAt = ports, time.Now()
	}
	p.mu.Unlock()
	got, ok = ports[brickPath]
	return ok && int(got) == port
}

// follow keeps the portmap's WatchPorts stream open until ctx ends, opening
// it again after a break (a portmap restart), and keeps the port map it
// sends for SignedIn.
func (p *portmapLink) follow(ctx context.Context, lg *zap.Logger) {
	wait := followRetryMin
	for ctx.Err() == nil {
		delivered, err := p.followOnce(ctx)
		p.mu.Lock()
		p.live = false
		p.mu.Unlock()
		if ctx.Err() != nil {
			return
		}
		p.failed(err)
		if delivered {
			wait = followRetryMin
		}
		lg.Debug("the portmap's port map stream ended; opening it again", log.Err(err), zap.Duration("after", wait))
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, followRetryMax)
	}
}

// followOnce opens the stream and keeps what it sends until it breaks;
// delivered says whether it sent anything.
func (p *portmapLink) followOnce(ctx context.Context) (delivered bool, err error) {
	c, err := p.client(ctx)
	if err != nil {
		return false, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.WatchPorts(ctx, &portmapv1.WatchPortsRequest{})
	if err != nil {
		return false, errs.FromStatus(err)
	}
	for {
		r, err := stream.Recv()
		if err != nil {
			return delivered, errs.FromStatus(err)
		}
		ports := make(map[string]int32, len(r.Ports))
		for _, e := range r.Ports {
			ports[e.BrickPath] = e.Port
		}
		p.mu.Lock()
		changed := !p.live || !maps.Equal(p.ports, ports)
		p.ports, p.portsAt, p.live = ports, time.Now(), true
		p.mu.Unlock()
		delivered = true
		if changed && p.onChange != nil {
			p.onChange()
		}
	}
}

// Close drops the connection; the link makes no new one.
func (p *portmapLink) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	if p.conn != nil {
		p.conn.Close()
		p.conn = nil
	}
}
