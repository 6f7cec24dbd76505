// Package schema is the one definition of the store's key layout in Consul KV
// and of how resources are encoded there (docs/kv-schema.md). Nobody else
// writes key strings.
package schema

import (
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"
	storev1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/store/v1"

	"github.com/glusterd-ng/glusterd-ng/libs/errs"
)

// MaxNameLen is the longest name a volume, peer or runtime entry may have.
const MaxNameLen = 64

// nameChar says whether c may appear in a name: [A-Za-z0-9_.-].
func nameChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-'
}

// onlyNameChars says whether every byte of name is a nameChar.
func onlyNameChars(name string) bool {
	for i := 0; i < len(name); i++ {
		if !nameChar(name[i]) {
			return false
		}
	}
	return true
}

// ValidateName checks a user-supplied name: 1-64 characters from
// [A-Za-z0-9_.-], no "..", no leading "-". field names it in the error.
func ValidateName(field, name string) error {
	switch {
	case name == "":
		return errs.InvalidField(field, "must not be empty")
	case len(name) > MaxNameLen:
		return errs.InvalidField(field, "is %d characters long; the limit is %d", len(name), MaxNameLen)
	case !onlyNameChars(name):
		return errs.InvalidField(field, "%q has characters outside [A-Za-z0-9_.-]", name)
	case strings.Contains(name, ".."):
		return errs.InvalidField(field, "%q must not contain \"..\"", name)
	case strings.HasPrefix(name, "-"):
		return errs.InvalidField(field, "%q must not start with \"-\"", name)
	}
	return nil
}

// ValidateID checks a UUID-valued field.
func ValidateID(field, id string) error {
	if id == "" {
		return errs.InvalidField(field, "must not be empty")
	}
	if _, err := uuid.Parse(id); err != nil || len(id) != 36 {
		return errs.InvalidField(field, "%q is not a UUID", id)
	}
	return nil
}

// Layout maps resource keys to Consul keys under one prefix.
type Layout struct {
	prefix string
}

// NewLayout returns the layout under prefix (e.g. "glusterd-ng/"); the prefix
// must end in "/".
func NewLayout(prefix string) (Layout, error) {
	if prefix == "" || !strings.HasSuffix(prefix, "/") || strings.HasPrefix(prefix, "/") {
		return Layout{}, fmt.Errorf("kv prefix %q must be non-empty, end in / and not start with /", prefix)
	}
	return Layout{prefix: prefix + "v1/"}, nil
}

// Root is the prefix every key of the layout is under.
func (l Layout) Root() string { return l.prefix }

const (
	dirCluster = "cluster"
	dirPeers   = "peers/"
	dirVolumes = "volumes/"
	dirTxns    = "transactions/"
	dirRuntime = "runtime/"
	dirLocks   = "locks/"
	// Inside each kind's directory, two names no resource can take (names
	// and ids never start with "-"): the kind's deletion records, and the
	// newest of them collected so far.
	subTombstones = "-deleted/"
	keyCompacted  = "-compacted"
	// Where deletion records lived before they moved into their kind's
	// directory; only read to migrate them.
	legacyTombstones = "tombstones/"
	legacyCompacted  = "meta/compacted"
)

// KindPrefix is the Consul prefix holding every resource of kind (for
// RUNTIME, of one node when nodeID is set).
func (l Layout) KindPrefix(kind storev1.Kind, nodeID string) (string, error) {
	switch kind {
	case storev1.Kind_CLUSTER:
		return l.prefix + dirCluster, nil
	case storev1.Kind_PEER:
		return l.prefix + dirPeers, nil
	case storev1.Kind_VOLUME:
		return l.prefix + dirVolumes, nil
	case storev1.Kind_TRANSACTION:
		return l.prefix + dirTxns, nil
	case storev1.Kind_RUNTIME:
		if nodeID != "" {
			if err := ValidateID("node_id", nodeID); err != nil {
				return "", err
			}
			return l.prefix + dirRuntime + nodeID + "/", nil
		}
		return l.prefix + dirRuntime, nil
	case storev1.Kind_LOCK:
		return l.prefix + dirLocks, nil
	}
	return "", errs.InvalidField("kind", "unknown kind %v", kind)
}

// Key returns the Consul key of a resource key, validating its parts.
func (l Layout) Key(k *storev1.ResourceKey) (string, error) {
	if k == nil {
		return "", errs.InvalidField("key", "is required")
	}
	switch k.Kind {
	case storev1.Kind_CLUSTER:
		return l.prefix + dirCluster, nil
	case storev1.Kind_PEER:
		if err := ValidateID("key.name", k.Name); err != nil {
			return "", err
		}
		return l.prefix + dirPeers + k.Name, nil
	case storev1.Kind_VOLUME:
		if err := ValidateName("key.name", k.Name); err != nil {
			return "", err
		}
		return l.prefix + dirVolumes + k.Name, nil
	case storev1.Kind_TRANSACTION:
		if err := ValidateID("key.name", k.Name); err != nil {
			return "", err
		}
		return l.prefix + dirTxns + k.Name, nil
	case storev1.Kind_RUNTIME:
		if err := ValidateID("key.node_id", k.NodeId); err != nil {
			return "", err
		}
		if err := ValidateName("key.name", k.Name); err != nil {
			return "", err
		}
		return l.prefix + dirRuntime + k.NodeId + "/" + k.Name, nil
	case storev1.Kind_LOCK:
		if err := ValidateName("key.name", k.Name); err != nil {
			return "", err
		}
		return l.prefix + dirLocks + k.Name, nil
	}
	return "", errs.InvalidField("key.kind", "unknown kind %v", k.Kind)
}

// Tombstone returns the key that records the deletion of the resource at
// key: in the resource's own kind directory, so that a listing of the kind
// (its change feed) sees its deletions too.
func (l Layout) Tombstone(key string) string {
	rel := strings.TrimPrefix(key, l.prefix)
	dir, rest, _ := strings.Cut(rel, "/")
	return l.prefix + dir + "/" + subTombstones + rest
}

// TombstonePrefix is the prefix holding every deletion record of kind.
func (l Layout) TombstonePrefix(kind storev1.Kind) (string, error) {
	dir, err := l.kindDir(kind)
	if err != nil {
		return "", err
	}
	return dir + subTombstones, nil
}

// Compacted is the key holding the newest version of kind whose deletion
// record was garbage-collected: watches of kind cannot resume from before it.
func (l Layout) Compacted(kind storev1.Kind) (string, error) {
	dir, err := l.kindDir(kind)
	if err != nil {
		return "", err
	}
	return dir + keyCompacted, nil
}

// FeedPrefix is the Consul prefix a change feed of kind lists: the kind's
// resources, its deletion records and its compacted version.
func (l Layout) FeedPrefix(kind storev1.Kind) (string, error) {
	return l.KindPrefix(kind, "")
}

// kindDir is kind's directory, ending in "/" (for CLUSTER, whose record is
// one key, the directory beside it).
func (l Layout) kindDir(kind storev1.Kind) (string, error) {
	p, err := l.KindPrefix(kind, "")
	if err != nil {
		return "", err
	}
	if !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return p, nil
}

// LegacyTombstonePrefix is where deletion records were kept before they
// moved into each kind's directory (read only to migrate them away).
func (l Layout) LegacyTombstonePrefix() string { return l.prefix + legacyTombstones }

// LegacyCompacted is the single compacted-version key of the earlier layout.
func (l Layout) LegacyCompacted() string { return l.prefix + legacyCompacted }

// Parsed is what a Consul key under the layout says about itself.
type Parsed struct {
	// Key is the resource the Consul key is about (for a tombstone, the
	// deleted one; for a compacted version, only its kind).
	Key *storev1.ResourceKey
	// Tombstone is true for a deletion record.
	Tombstone bool
	// Compacted is true for a kind's compacted-version key.
	Compacted bool
}

// Parse reads a Consul key of the layout; ok is false for keys that are
// neither resources, tombstones nor compacted versions.
func (l Layout) Parse(key string) (Parsed, bool) {
	rel, found := strings.CutPrefix(key, l.prefix)
	if !found {
		return Parsed{}, false
	}
	if rel == dirCluster {
		return Parsed{Key: &storev1.ResourceKey{Kind: storev1.Kind_CLUSTER}}, true
	}
	dir, rest, ok := strings.Cut(rel, "/")
	if !ok {
		return Parsed{}, false
	}
	var kind storev1.Kind
	switch dir + "/" {
	case dirCluster + "/":
		kind = storev1.Kind_CLUSTER
	case dirPeers:
		kind = storev1.Kind_PEER
	case dirVolumes:
		kind = storev1.Kind_VOLUME
	case dirTxns:
		kind = storev1.Kind_TRANSACTION
	case dirRuntime:
		kind = storev1.Kind_RUNTIME
	case dirLocks:
		kind = storev1.Kind_LOCK
	default:
		return Parsed{}, false
	}
	if rest == keyCompacted {
		return Parsed{Key: &storev1.ResourceKey{Kind: kind}, Compacted: true}, true
	}
	tomb := false
	if r, ok := strings.CutPrefix(rest, subTombstones); ok {
		rest, tomb = r, true
	}
	k := &storev1.ResourceKey{Kind: kind}
	switch kind {
	case storev1.Kind_CLUSTER:
		if !tomb || rest != "" {
			return Parsed{}, false
		}
	case storev1.Kind_RUNTIME:
		node, name, ok := strings.Cut(rest, "/")
		if !ok {
			return Parsed{}, false
		}
		k.NodeId, k.Name = node, name
	default:
		k.Name = rest
	}
	return Parsed{Key: k, Tombstone: tomb}, true
}

// KeyOf returns the resource key of a resource, validating the fields the key is made of.
func KeyOf(r *storev1.Resource) (*storev1.ResourceKey, error) {
	switch b := r.GetBody().(type) {
	case *storev1.Resource_Cluster:
		if err := ValidateID("cluster.id", b.Cluster.GetId()); err != nil {
			return nil, err
		}
		return &storev1.ResourceKey{Kind: storev1.Kind_CLUSTER}, nil
	case *storev1.Resource_Peer:
		if err := ValidateID("peer.id", b.Peer.GetId()); err != nil {
			return nil, err
		}
		if b.Peer.Name != "" {
			if err := ValidateName("peer.name", b.Peer.Name); err != nil {
				return nil, err
			}
		}
		return &storev1.ResourceKey{Kind: storev1.Kind_PEER, Name: b.Peer.Id}, nil
	case *storev1.Resource_Volume:
		if err := ValidateName("volume.name", b.Volume.GetName()); err != nil {
			return nil, err
		}
		return &storev1.ResourceKey{Kind: storev1.Kind_VOLUME, Name: b.Volume.Name}, nil
	case *storev1.Resource_Transaction:
		if err := ValidateID("transaction.id", b.Transaction.GetId()); err != nil {
			return nil, err
		}
		return &storev1.ResourceKey{Kind: storev1.Kind_TRANSACTION, Name: b.Transaction.Id}, nil
	case *storev1.Resource_Runtime:
		if err := ValidateID("runtime.node_id", b.Runtime.GetNodeId()); err != nil {
			return nil, err
		}
		if err := ValidateName("runtime.name", b.Runtime.GetName()); err != nil {
			return nil, err
		}
		return &storev1.ResourceKey{Kind: storev1.Kind_RUNTIME, NodeId: b.Runtime.NodeId, Name: b.Runtime.Name}, nil
	case *storev1.Resource_Lock:
		if err := ValidateName("lock.name", b.Lock.GetName()); err != nil {
			return nil, err
		}
		return &storev1.ResourceKey{Kind: storev1.Kind_LOCK, Name: b.Lock.Name}, nil
	}
	return nil, errs.InvalidField("resource", "is required (one of cluster, peer, volume, transaction, runtime, lock)")
}

var (
	marshal   = protojson.MarshalOptions{UseProtoNames: true}
	unmarshal = protojson.UnmarshalOptions{DiscardUnknown: true}
)

// message returns the resource's body message.
func message(r *storev1.Resource) proto.Message {
	switch b := r.GetBody().(type) {
	case *storev1.Resource_Cluster:
		return b.Cluster
	case *storev1.Resource_Peer:
		return b.Peer
	case *storev1.Resource_Volume:
		return b.Volume
	case *storev1.Resource_Transaction:
		return b.Transaction
	case *storev1.Resource_Runtime:
		return b.Runtime
	case *storev1.Resource_Lock:
		return b.Lock
	}
	return nil
}

// Encode returns the stored form of a resource: protojson of its body, with
// the version (which Consul keeps as ModifyIndex) left out, and live-only
// fields (a peer's state) cleared.
func Encode(r *storev1.Resource) ([]byte, error) {
	c := r
	if version(r) != 0 || r.GetPeer().GetState() != commonv1.PeerState_PEER_STATE_UNSPECIFIED {
		// Clear them on a copy; a resource without them is encoded as it is.
		c = proto.Clone(r).(*storev1.Resource)
		SetVersion(c, 0)
		if p := c.GetPeer(); p != nil {
			p.State = commonv1.PeerState_PEER_STATE_UNSPECIFIED
		}
	}
	m := message(c)
	if m == nil {
		return nil, errs.InvalidField("resource", "is required")
	}
	b, planned, err := fastEncode(m.ProtoReflect())
	if !planned {
		b, err = marshal.Marshal(m)
	}
	if err != nil {
		// What cannot be encoded came from the caller: a timestamp out of
		// range, a string that is not UTF-8.
		return nil, errs.Wrap(errs.Invalid, err, "%s cannot be stored: %v", m.ProtoReflect().Descriptor().Name(), err)
	}
	return b, nil
}

// Decode reads a stored value of kind into a resource with version set.
func Decode(kind storev1.Kind, value []byte, version uint64) (*storev1.Resource, error) {
	r := &storev1.Resource{}
	var m proto.Message
	switch kind {
	case storev1.Kind_CLUSTER:
		x := &commonv1.Cluster{}
		r.Body, m = &storev1.Resource_Cluster{Cluster: x}, x
	case storev1.Kind_PEER:
		x := &commonv1.Peer{}
		r.Body, m = &storev1.Resource_Peer{Peer: x}, x
	case storev1.Kind_VOLUME:
		x := &commonv1.Volume{}
		r.Body, m = &storev1.Resource_Volume{Volume: x}, x
	case storev1.Kind_TRANSACTION:
		x := &commonv1.Transaction{}
		r.Body, m = &storev1.Resource_Transaction{Transaction: x}, x
	case storev1.Kind_RUNTIME:
		x := &commonv1.RuntimeEntry{}
		r.Body, m = &storev1.Resource_Runtime{Runtime: x}, x
	case storev1.Kind_LOCK:
		x := &commonv1.Lock{}
		r.Body, m = &storev1.Resource_Lock{Lock: x}, x
	default:
		return nil, fmt.Errorf("decode: unknown kind %v", kind)
	}
	if err := unmarshal.Unmarshal(value, m); err != nil {
		return nil, fmt.Errorf("decode %v: %w", kind, err)
	}
	SetVersion(r, version)
	return r, nil
}

// version returns the version field of the resource's body.
func version(r *storev1.Resource) uint64 {
	if m, ok := message(r).(interface{ GetVersion() uint64 }); ok {
		return m.GetVersion()
	}
	return 0
}

// SetVersion sets the version field of the resource's body.
func SetVersion(r *storev1.Resource, v uint64) {
	switch b := r.GetBody().(type) {
	case *storev1.Resource_Cluster:
		b.Cluster.Version = v
	case *storev1.Resource_Peer:
		b.Peer.Version = v
	case *storev1.Resource_Volume:
		b.Volume.Version = v
	case *storev1.Resource_Transaction:
		b.Transaction.Version = v
	case *storev1.Resource_Runtime:
		b.Runtime.Version = v
	case *storev1.Resource_Lock:
		b.Lock.Version = v
	}
}

// TombstoneValue is what a deletion record holds.
type TombstoneValue struct {
	DeletedAt time.Time `json:"deleted_at"`
}
