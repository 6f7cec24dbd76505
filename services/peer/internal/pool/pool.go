// Package pool is the trusted storage pool: adding a node (probe), removing
// it (detach) and listing members with their live state. Membership is a
// record per node in the store plus Consul's health of the node's services,
// so adding the Nth node costs the same as adding the 3rd.
package pool

import (
	"context"
	"errors"
	"net"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"
	servicemgrv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/servicemgr/v1"

	"github.com/glusterd-ng/glusterd-ng/libs/errs"
	"github.com/glusterd-ng/glusterd-ng/libs/log"
)

// APIVersion is the node management API level this pool accepts.
const APIVersion = 1

// Store is what the pool needs of the store.
type Store interface {
	Cluster(ctx context.Context) (*commonv1.Cluster, error)
	Peer(ctx context.Context, id string) (*commonv1.Peer, error)
	Peers(ctx context.Context) ([]*commonv1.Peer, error)
	CreatePeer(ctx context.Context, p *commonv1.Peer) (*commonv1.Peer, error)
	DeletePeer(ctx context.Context, id string, version uint64) error
	Volumes(ctx context.Context) ([]*commonv1.Volume, error)
}

// Nodes connects to nodes' service managers.
type Nodes interface {
	// Dial connects to the service manager at addr ("host:port").
	Dial(addr string) (Node, error)
}

// Node is a connection to one node's service manager.
type Node interface {
	Identity(ctx context.Context) (*servicemgrv1.NodeIdentity, error)
	Join(ctx context.Context, clusterID, peerID string) error
	Leave(ctx context.Context, clusterID string) error
	Close() error
}

// Health says which nodes' service managers are up, by node id, and where.
type Health interface {
	Connected(ctx context.Context) (map[string]string, error)
}

// Config configures a Pool.
type Config struct {
	Store  Store
	Nodes  Nodes
	Health Health
	Logger *zap.Logger
	// NodePort is the service manager port used when an address has none.
	NodePort int
	// DialTimeout bounds talking to a node being added or removed.
	DialTimeout time.Duration
}

// Pool manages the trusted storage pool.
type Pool struct {
	cfg Config
	log *zap.Logger
}

// New returns a Pool.
func New(cfg Config) *Pool {
	if cfg.NodePort == 0 {
		cfg.NodePort = 24013
	}
	if cfg.DialTimeout == 0 {
		cfg.DialTimeout = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	return &Pool{cfg: cfg, log: cfg.Logger}
}

var peerNameRE = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

var hostnameRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$`)

// ParseAddress checks "host[:port]" and returns the host and "host:port"
// with the default port filled in.
func ParseAddress(addr string, defPort int) (host, hostPort string, err error) {
	addr = strings.TrimSpace(addr)
	if addr == "" {
		return "", "", errs.InvalidField("address", "must not be empty")
	}
	host, port := addr, strconv.Itoa(defPort)
	if h, p, splitErr := net.SplitHostPort(addr); splitErr == nil {
		host, port = h, p
	} else if strings.Count(addr, ":") > 1 && !strings.HasPrefix(addr, "[") {
		host = addr // a bare IPv6 address
	} else if strings.Contains(addr, ":") {
		return "", "", errs.InvalidField("address", "%q is not host[:port]", addr)
	}
	n, perr := strconv.Atoi(port)
	if perr != nil || n < 1 || n > 65535 {
		return "", "", errs.InvalidField("address", "port %q of %q is not a number from 1 to 65535", port, addr)
	}
	if net.ParseIP(host) == nil && (len(host) > 253 || !hostnameRE.MatchString(host)) {
		return "", "", errs.InvalidField("address", "%q is neither an IP address nor a valid host name", host)
	}
	return host, net.JoinHostPort(host, port), nil
}

// nameFor picks the peer's name: the host it was added by when that is a
// usable name (as glusterd keeps the probed host name), else the node's own.
func nameFor(host string, id *servicemgrv1.NodeIdentity) string {
	if len(host) <= 64 && peerNameRE.MatchString(host) && !strings.Contains(host, "..") {
		return host
	}
	return id.Name
}

// withState sets each peer's live state from Consul health.
func (p *Pool) withState(ctx context.Context, peers []*commonv1.Peer) []*commonv1.Peer {
	up, err := p.cfg.Health.Connected(ctx)
	if err != nil {
		p.log.Warn("cannot read node health from Consul; showing peers as disconnected", log.Err(err))
	}
	for _, peer := range peers {
		peer.State = commonv1.PeerState_DISCONNECTED
		if _, ok := up[peer.Id]; ok {
			peer.State = commonv1.PeerState_CONNECTED
		}
	}
	return peers
}

// List returns every peer with its live state, sorted by name.
func (p *Pool) List(ctx context.Context) ([]*commonv1.Peer, error) {
	peers, err := p.cfg.Store.Peers(ctx)
	if err != nil {
		return nil, err
	}
	sort.Slice(peers, func(i, j int) bool { return peers[i].Name < peers[j].Name })
	return p.withState(ctx, peers), nil
}

// find resolves a peer by id, name or one of its addresses.
func find(peers []*commonv1.Peer, ref string) *commonv1.Peer {
	for _, peer := range peers {
		if peer.Id == ref || peer.Name == ref || slices.Contains(peer.Addresses, ref) {
			return peer
		}
	}
	return nil
}

// Get returns one peer by id, name or address.
func (p *Pool) Get(ctx context.Context, ref string) (*commonv1.Peer, error) {
	if ref == "" {
		return nil, errs.InvalidField("peer", "must not be empty")
	}
	peers, err := p.cfg.Store.Peers(ctx)
	if err != nil {
		return nil, err
	}
	peer := find(peers, ref)
	if peer == nil {
		return nil, errs.New(errs.NotFound, "peer %s not found", ref)
	}
	return p.withState(ctx, []*commonv1.Peer{peer})[0], nil
}

// Add adds the node whose service manager answers at address to the pool.
// Adding a node that is already a member returns it.
func (p *Pool) Add(ctx context.Context, address string, labels map[string]string) (*commonv1.Peer, error) {
	host, hostPort, err := ParseAddress(address, p.cfg.NodePort)
	if err != nil {
		return nil, err
	}
	for k := range labels {
		if k == "" || len(k) > 63 {
			return nil, errs.InvalidField("labels", "label keys must be 1-63 characters")
		}
	}
	cluster, err := p.cfg.Store.Cluster(ctx)
	if err != nil {
		return nil, err
	}
	node, err := p.cfg.Nodes.Dial(hostPort)
	if err != nil {
		return nil, errs.Wrap(errs.Invalid, err, "cannot dial %s", hostPort)
	}
	defer node.Close()
	dctx, cancel := context.WithTimeout(ctx, p.cfg.DialTimeout)
	defer cancel()
	ident, err := node.Identity(dctx)
	if err != nil {
		return nil, errs.Wrap(errs.Unavailable, err, "node at %s is unreachable: its servicemgr did not answer within %s (%s)", hostPort, p.cfg.DialTimeout, short(err))
	}
	switch {
	case ident.ApiVersion != APIVersion:
		return nil, errs.New(errs.Precondition, "node at %s speaks management API %d (software %s); this cluster needs %d", hostPort, ident.ApiVersion, ident.Version, APIVersion)
	case ident.ClusterId != "" && ident.ClusterId != cluster.Id:
		return nil, errs.New(errs.Precondition, "node %s at %s already belongs to another cluster (%s); detach it there first", ident.NodeId, hostPort, ident.ClusterId)
	}
	if existing, err := p.cfg.Store.Peer(ctx, ident.NodeId); err == nil {
		if err := node.Join(dctx, cluster.Id, ident.NodeId); err != nil {
			return nil, err
		}
		existing.State = commonv1.PeerState_CONNECTED
		return existing, nil
	} else if !errs.Is(err, errs.NotFound) {
		return nil, err
	}
	// The node records its membership first: if the record cannot be
	// written it leaves again; if this service dies in between, the node
	// belongs to this cluster without a record, and adding it again (or the
	// node's own check at start) puts that right.
	if err := node.Join(dctx, cluster.Id, ident.NodeId); err != nil {
		return nil, err
	}
	addrs := []string{host}
	for _, a := range ident.Addresses {
		if !slices.Contains(addrs, a) {
			addrs = append(addrs, a)
		}
	}
	peer, err := p.cfg.Store.CreatePeer(ctx, &commonv1.Peer{Id: ident.NodeId, Name: nameFor(host, ident), Addresses: addrs, Labels: labels})
	if errs.Is(err, errs.AlreadyExists) {
		// Added concurrently by another request: the same node, so the same answer.
		return p.Get(ctx, ident.NodeId)
	}
	if err != nil {
		if lerr := node.Leave(context.WithoutCancel(ctx), cluster.Id); lerr != nil {
			p.log.Warn("undoing the node's join failed", log.Node(ident.NodeId), log.Err(lerr))
		}
		return nil, err
	}
	p.log.Info("peer added", log.Peer(peer.Id), zap.String("name", peer.Name), log.Addr(hostPort))
	peer.State = commonv1.PeerState_CONNECTED
	return peer, nil
}

// Remove takes a node out of the pool. It is refused while the node holds
// bricks. A node that is up is told to leave first; one that is down (and
// holds no bricks) is removed all the same and forgets the cluster when it
// comes back.
func (p *Pool) Remove(ctx context.Context, ref string, force bool) error {
	if ref == "" {
		return errs.InvalidField("peer", "must not be empty")
	}
	peers, err := p.cfg.Store.Peers(ctx)
	if err != nil {
		return err
	}
	peer := find(peers, ref)
	if peer == nil {
		return errs.New(errs.NotFound, "peer %s not found", ref)
	}
	vols, err := p.cfg.Store.Volumes(ctx)
	if err != nil {
		return err
	}
	var holding []string
	for _, v := range vols {
	bricks:
		for _, sv := range v.Subvolumes {
			for _, b := range sv.Bricks {
				if b.PeerId == peer.Id {
					holding = append(holding, v.Name)
					break bricks
				}
			}
		}
	}
	if len(holding) > 0 {
		return errs.New(errs.Precondition, "peer %s holds bricks of volume(s) %s; remove or replace those bricks first", peer.Name, strings.Join(holding, ", "))
	}
	cluster, err := p.cfg.Store.Cluster(ctx)
	if err != nil {
		return err
	}
	up, err := p.cfg.Health.Connected(ctx)
	if err != nil {
		return err
	}
	if addr, ok := up[peer.Id]; ok {
		err := p.leave(ctx, addr, cluster.Id)
		if err != nil && !force {
			return errs.Wrap(errs.Unavailable, err, "peer %s is up but did not take the detach (%s); retry, or use force", peer.Name, short(err))
		}
	}
	if err := p.cfg.Store.DeletePeer(ctx, peer.Id, peer.Version); err != nil {
		return err
	}
	p.log.Info("peer removed", log.Peer(peer.Id), zap.String("name", peer.Name))
	return nil
}

// leave tells the node at addr to leave the cluster.
func (p *Pool) leave(ctx context.Context, addr, clusterID string) error {
	node, err := p.cfg.Nodes.Dial(addr)
	if err != nil {
		return err
	}
	defer node.Close()
	ctx, cancel := context.WithTimeout(ctx, p.cfg.DialTimeout)
	defer cancel()
	return node.Leave(ctx, clusterID)
}

// short is the first line of an error, for messages.
func short(err error) string {
	var e *errs.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return strings.SplitN(err.Error(), "\n", 2)[0]
}
