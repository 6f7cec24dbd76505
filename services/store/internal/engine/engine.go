// Package engine is the store's core: typed, versioned resources over Consul
// KV with check-and-set writes, atomic multi-resource writes, node sessions
// and an ordered, resumable change feed. It knows nothing of gRPC.
package engine

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"
	storev1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/store/v1"

	"github.com/glusterd-ng/glusterd-ng/libs/consulkv"
	"github.com/glusterd-ng/glusterd-ng/libs/errs"
	"github.com/glusterd-ng/glusterd-ng/libs/log"
	"github.com/glusterd-ng/glusterd-ng/services/store/internal/schema"
)

// GlusterOpVersion is the GlusterFS operating version a new cluster starts at (GlusterFS 10).
const GlusterOpVersion = 100000

// Config configures a Store.
type Config struct {
	// KV is the Consul client.
	KV *consulkv.Client
	// Layout is the key layout (prefix) in Consul.
	Layout schema.Layout
	// Logger is the store's logger.
	Logger *zap.Logger
	// ClusterName names the cluster record created on first start.
	ClusterName string
	// Retention is how long deletion records are kept for watches to resume across.
	Retention time.Duration
	// GCInterval is how often expired deletion records are collected.
	GCInterval time.Duration
	// MaxWatchQueue is how many undelivered events a watcher may have before it is cut off.
	MaxWatchQueue int
	// FeedIdle is how long the change feed keeps running after the last watcher left.
	FeedIdle time.Duration
	// TxnInflight is how many Consul transactions may be in flight at once
	// (default 1); writes arriving meanwhile are committed together.
	TxnInflight int
}

// Store reads and writes resources in Consul KV.
type Store struct {
	cfg    Config
	kv     *consulkv.Client
	layout schema.Layout
	log    *zap.Logger
	all    *hub                  // change feed of the whole tree
	kinds  map[storev1.Kind]*hub // change feed of each kind's directory
	gc     collector
	marked atomic.Bool    // every kind's compacted key exists
	bg     sync.WaitGroup // the goroutines Start began
	batch  *consulkv.Batcher
}

// New returns a Store; call Run to start its change feed and housekeeping.
func New(cfg Config) (*Store, error) {
	if cfg.KV == nil {
		return nil, fmt.Errorf("store: KV client is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.Retention == 0 {
		cfg.Retention = time.Hour
	}
	if cfg.GCInterval == 0 {
		cfg.GCInterval = time.Minute
	}
	if cfg.MaxWatchQueue == 0 {
		cfg.MaxWatchQueue = 10000
	}
	if cfg.TxnInflight == 0 {
		// One: every write that arrives while a transaction is in flight
		// goes in the next one, which Consul commits for about the price
		// of a single write. With two in flight, 8 concurrent writers
		// made 1.4× the store's writes/s of raw Consul transactions
		// instead of 1.0-1.2× (docs/benchmarks.md, store section).
		cfg.TxnInflight = 1
	}
	if cfg.FeedIdle == 0 {
		cfg.FeedIdle = 30 * time.Second
	}
	if cfg.ClusterName == "" {
		cfg.ClusterName = "gluster"
	}
	s := &Store{cfg: cfg, kv: cfg.KV, layout: cfg.Layout, log: cfg.Logger, batch: consulkv.NewBatcher(cfg.KV, cfg.TxnInflight)}
	feed := func(prefix string) *hub {
		return newHub(cfg.Layout, prefix, cfg.Logger.Named("watch"), cfg.MaxWatchQueue, cfg.FeedIdle,
			func(ctx context.Context, fn consulkv.WatchFunc, onErr consulkv.ErrorFunc) {
				s.kv.WatchPrefix(ctx, prefix, fn, onErr)
			})
	}
	s.all = feed(s.layout.Root())
	s.kinds = map[storev1.Kind]*hub{}
	for _, kind := range allKinds() {
		prefix, err := s.layout.FeedPrefix(kind)
		if err != nil {
			return nil, err
		}
		s.kinds[kind] = feed(prefix)
	}
	return s, nil
}

// Start serves the change feed to watchers, makes sure the cluster record
// exists and collects expired deletion records, until ctx ends. It returns
// at once.
func (s *Store) Start(ctx context.Context) {
	s.all.start(ctx)
	for _, h := range s.kinds {
		h.start(ctx)
	}
	s.bg.Go(func() { s.kv.MonitorLeader(ctx, 500*time.Millisecond) })
	s.bg.Go(func() { s.ensureCluster(ctx) })
	s.bg.Go(func() {
		for ctx.Err() == nil && !s.marked.Load() {
			if err := s.ensureMarkers(ctx); err != nil && ctx.Err() == nil {
				s.log.Debug("cannot write the kinds' compacted keys yet; retrying", log.Err(err))
				select {
				case <-ctx.Done():
				case <-time.After(time.Second):
				}
			}
		}
	})
	s.bg.Go(func() {
		t := time.NewTicker(s.cfg.GCInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := s.collect(ctx); err != nil && ctx.Err() == nil {
					s.log.Warn("collecting deletion records failed", log.Err(err))
				}
			}
		}
	})
}

// Wait returns once the background work Start began has ended (after
// Start's context ended).
func (s *Store) Wait() { s.bg.Wait() }

func (s *Store) ensureCluster(ctx context.Context) {
	for ctx.Err() == nil {
		r, v, err := s.Get(ctx, &storev1.ResourceKey{Kind: storev1.Kind_CLUSTER})
		if err == nil && len(r.GetCluster().AuthSecret) == 0 {
			// A record from before the secret existed gets one.
			secret := make([]byte, 32)
			if _, err = rand.Read(secret); err == nil {
				r.GetCluster().AuthSecret = secret
				_, _, err = s.Update(ctx, r, v, "")
			}
		}
		if errs.Is(err, errs.NotFound) {
			secret := make([]byte, 32)
			if _, err := rand.Read(secret); err != nil {
				s.log.Error("cannot make the cluster secret", log.Err(err))
				return
			}
			c := &commonv1.Cluster{Id: uuid.NewString(), Name: s.cfg.ClusterName, OpVersion: GlusterOpVersion, AuthSecret: secret}
			_, _, err = s.Create(ctx, &storev1.Resource{Body: &storev1.Resource_Cluster{Cluster: c}}, "")
			if err == nil {
				s.log.Info("created cluster record", zap.String("cluster_id", c.Id), zap.String("name", c.Name))
			}
			if errs.Is(err, errs.AlreadyExists) {
				err = nil
			}
		}
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// describe names a resource for messages: "volume gv0", "peer <id>".
func describe(k *storev1.ResourceKey) string {
	switch k.GetKind() {
	case storev1.Kind_CLUSTER:
		return "cluster record"
	case storev1.Kind_PEER:
		return "peer " + k.Name
	case storev1.Kind_VOLUME:
		return "volume " + k.Name
	case storev1.Kind_TRANSACTION:
		return "transaction " + k.Name
	case storev1.Kind_RUNTIME:
		return "runtime entry " + k.NodeId + "/" + k.Name
	case storev1.Kind_LOCK:
		return "lock " + k.Name
	}
	return "resource"
}

// sessionBound says whether resources of kind live as long as a session:
// runtime entries (a node's) and locks (their holder's).
func sessionBound(kind storev1.Kind) bool {
	return kind == storev1.Kind_RUNTIME || kind == storev1.Kind_LOCK
}

// dead says whether a stored entry counts as absent: a session-bound one
// whose session has ended.
func dead(kind storev1.Kind, e *consulkv.Entry) bool {
	return sessionBound(kind) && e.Session == ""
}

// Get reads one resource and its version.
func (s *Store) Get(ctx context.Context, key *storev1.ResourceKey) (*storev1.Resource, uint64, error) {
	ck, err := s.layout.Key(key)
	if err != nil {
		return nil, 0, err
	}
	e, _, err := s.kv.Get(ctx, ck)
	if err != nil {
		return nil, 0, err
	}
	if e == nil || dead(key.Kind, e) {
		return nil, 0, errs.New(errs.NotFound, "%s not found", describe(key))
	}
	r, err := schema.Decode(key.Kind, e.Value, e.ModifyIndex)
	if err != nil {
		return nil, 0, errs.Wrap(errs.Internal, err, "%s is stored in a form this store cannot read", describe(key))
	}
	return r, e.ModifyIndex, nil
}

// List reads every resource of a kind (RUNTIME: optionally of one node) and
// the store version the listing is consistent with.
func (s *Store) List(ctx context.Context, kind storev1.Kind, nodeID string) ([]*storev1.Resource, uint64, error) {
	prefix, err := s.layout.KindPrefix(kind, nodeID)
	if err != nil {
		return nil, 0, err
	}
	entries, index, err := s.kv.List(ctx, prefix)
	if err != nil {
		return nil, 0, err
	}
	out := make([]*storev1.Resource, 0, len(entries))
	for i := range entries {
		e := &entries[i]
		if _, ok := s.resourceKey(kind, e.Key); !ok || dead(kind, e) {
			continue
		}
		r, err := schema.Decode(kind, e.Value, e.ModifyIndex)
		if err != nil {
			s.log.Error("skipping unreadable stored value", log.Key(e.Key), log.Err(err))
			continue
		}
		out = append(out, r)
	}
	return out, index, nil
}

// ListKeys reads the keys of every resource of a kind, and the store
// version the listing is consistent with, without reading their values.
// RUNTIME and LOCK entries cannot be listed so: only a value's session
// says whether the entry is alive.
func (s *Store) ListKeys(ctx context.Context, kind storev1.Kind) ([]*storev1.ResourceKey, uint64, error) {
	if sessionBound(kind) {
		return nil, 0, errs.InvalidField("keys_only", "cannot list %s keys alone: whether one is alive is in its value", describeKind(kind))
	}
	prefix, err := s.layout.KindPrefix(kind, "")
	if err != nil {
		return nil, 0, err
	}
	keys, index, err := s.kv.Keys(ctx, prefix)
	if err != nil {
		return nil, 0, err
	}
	out := make([]*storev1.ResourceKey, 0, len(keys))
	for _, k := range keys {
		if key, ok := s.resourceKey(kind, k); ok {
			out = append(out, key)
		}
	}
	return out, index, nil
}

// resourceKey reads a Consul key listed under kind's prefix: ok only for a
// resource of kind, not its deletion records or compacted version.
func (s *Store) resourceKey(kind storev1.Kind, key string) (*storev1.ResourceKey, bool) {
	p, ok := s.layout.Parse(key)
	if !ok || p.Tombstone || p.Compacted || p.Key.Kind != kind {
		return nil, false
	}
	return p.Key, true
}

// Create writes a resource that must not exist; RUNTIME entries need a session.
func (s *Store) Create(ctx context.Context, r *storev1.Resource, session string) (*storev1.Resource, uint64, error) {
	res, idx, err := s.Apply(ctx, []*storev1.Operation{{Op: &storev1.Operation_Create{Create: &storev1.CreateRequest{Resource: r, SessionId: session}}}})
	if err != nil {
		return nil, 0, err
	}
	return res[0].Resource, idx, nil
}

// Update replaces a resource if it is still at version (check-and-set).
func (s *Store) Update(ctx context.Context, r *storev1.Resource, version uint64, session string) (*storev1.Resource, uint64, error) {
	res, idx, err := s.Apply(ctx, []*storev1.Operation{{Op: &storev1.Operation_Update{Update: &storev1.UpdateRequest{Resource: r, ResourceVersion: version, SessionId: session}}}})
	if err != nil {
		return nil, 0, err
	}
	return res[0].Resource, idx, nil
}

// Delete removes a resource (at version, when non-zero) and records the deletion.
func (s *Store) Delete(ctx context.Context, key *storev1.ResourceKey, version uint64) (uint64, error) {
	_, idx, err := s.Apply(ctx, []*storev1.Operation{{Op: &storev1.Operation_Delete{Delete: &storev1.DeleteRequest{Key: key, ResourceVersion: version}}}})
	return idx, err
}

// planned is one Operation turned into Consul transaction operations.
type planned struct {
	verb    string
	key     *storev1.ResourceKey
	ckey    string
	ops     []consulkv.Op
	res     *storev1.Resource
	version uint64
}

func now() *timestamppb.Timestamp { return timestamppb.New(time.Now().UTC()) }

// withDefaults fills the fields a new resource gets from the store: ids and
// creation times left empty by the caller.
func withDefaults(r *storev1.Resource) {
	switch b := r.GetBody().(type) {
	case *storev1.Resource_Cluster:
		if b.Cluster.CreatedAt == nil {
			b.Cluster.CreatedAt = now()
		}
	case *storev1.Resource_Peer:
		if b.Peer.JoinedAt == nil {
			b.Peer.JoinedAt = now()
		}
	case *storev1.Resource_Volume:
		if b.Volume.Id == "" {
			b.Volume.Id = uuid.NewString()
		}
		if b.Volume.CreatedAt == nil {
			b.Volume.CreatedAt = now()
		}
	case *storev1.Resource_Transaction:
		if b.Transaction.StartedAt == nil {
			b.Transaction.StartedAt = now()
		}
	case *storev1.Resource_Runtime:
		b.Runtime.UpdatedAt = now()
	case *storev1.Resource_Lock:
		b.Lock.AcquiredAt = now()
	}
}

// describeKind names a kind for messages.
func describeKind(k storev1.Kind) string {
	if k == storev1.Kind_LOCK {
		return "lock"
	}
	return "runtime entry"
}

func (s *Store) plan(ctx context.Context, op *storev1.Operation) (*planned, error) {
	switch o := op.GetOp().(type) {
	case *storev1.Operation_Create:
		return s.planWrite(ctx, "create", o.Create.GetResource(), 0, o.Create.GetSessionId())
	case *storev1.Operation_Update:
		if o.Update.GetResourceVersion() == 0 {
			return nil, errs.InvalidField("resource_version", "is required for an update (the version you read)")
		}
		return s.planWrite(ctx, "update", o.Update.GetResource(), o.Update.GetResourceVersion(), o.Update.GetSessionId())
	case *storev1.Operation_Delete:
		return s.planDelete(ctx, o.Delete.GetKey(), o.Delete.GetResourceVersion())
	case *storev1.Operation_Check:
		ck, err := s.layout.Key(o.Check.GetKey())
		if err != nil {
			return nil, err
		}
		p := &planned{verb: "check", key: o.Check.Key, ckey: ck, version: o.Check.ResourceVersion}
		if o.Check.ResourceVersion == 0 {
			p.ops = []consulkv.Op{consulkv.CheckNotExists(ck)}
		} else {
			p.ops = []consulkv.Op{consulkv.CheckIndex(ck, o.Check.ResourceVersion)}
		}
		return p, nil
	}
	return nil, errs.InvalidField("operations", "each operation needs one of create, update, delete, check")
}

func (s *Store) planWrite(ctx context.Context, verb string, r *storev1.Resource, version uint64, session string) (*planned, error) {
	key, err := schema.KeyOf(r)
	if err != nil {
		return nil, err
	}
	ck, err := s.layout.Key(key)
	if err != nil {
		return nil, err
	}
	runtime := sessionBound(key.Kind)
	switch {
	case runtime && session == "":
		return nil, errs.InvalidField("session_id", "is required for a %s (it lives as long as its session)", describeKind(key.Kind))
	case !runtime && session != "":
		return nil, errs.InvalidField("session_id", "only runtime entries and locks are bound to a session")
	}
	r = cloneResource(r)
	// The version is Consul's to give (Apply sets the new one); cleared on
	// this copy, it needs no second copy to be left out of the encoding.
	schema.SetVersion(r, 0)
	if verb == "create" {
		withDefaults(r)
	} else if rt := r.GetRuntime(); rt != nil {
		rt.UpdatedAt = now()
	}
	val, err := schema.Encode(r)
	if err != nil {
		return nil, err
	}
	if err := s.kv.CheckSize(ck, val); err != nil {
		return nil, errs.Wrap(errs.TooLarge, err, "%s encodes to %d bytes; the store's limit per resource is %d bytes (Consul's kv_max_value_size)", describe(key), len(val), s.kv.MaxValueSize())
	}
	p := &planned{verb: verb, key: key, ckey: ck, res: r, version: version}
	switch {
	case verb == "create" && !runtime:
		p.ops = []consulkv.Op{consulkv.SetCAS(ck, val, 0)}
	case verb == "create":
		// A runtime entry whose session ended is still in Consul (released):
		// take it over at its current index; otherwise it must not exist.
		e, _, err := s.kv.Get(ctx, ck)
		if err != nil {
			return nil, err
		}
		check := consulkv.CheckNotExists(ck)
		if e != nil {
			if !dead(key.Kind, e) {
				return nil, errs.New(errs.AlreadyExists, "%s already exists", describe(key))
			}
			check = consulkv.CheckIndex(ck, e.ModifyIndex)
		}
		p.ops = []consulkv.Op{check, consulkv.Lock(ck, val, session)}
	case !runtime:
		p.ops = []consulkv.Op{consulkv.SetCAS(ck, val, version)}
	default:
		p.ops = []consulkv.Op{consulkv.CheckIndex(ck, version), consulkv.Lock(ck, val, session)}
	}
	return p, nil
}

func (s *Store) planDelete(ctx context.Context, key *storev1.ResourceKey, version uint64) (*planned, error) {
	ck, err := s.layout.Key(key)
	if err != nil {
		return nil, err
	}
	if key.Kind == storev1.Kind_CLUSTER {
		return nil, errs.New(errs.Precondition, "the cluster record cannot be deleted")
	}
	if version == 0 {
		e, _, err := s.kv.Get(ctx, ck)
		if err != nil {
			return nil, err
		}
		if e == nil || dead(key.Kind, e) {
			return nil, errs.New(errs.NotFound, "%s not found", describe(key))
		}
		version = e.ModifyIndex
	}
	tomb, _ := json.Marshal(schema.TombstoneValue{DeletedAt: time.Now().UTC()})
	return &planned{verb: "delete", key: key, ckey: ck, version: version,
		ops: []consulkv.Op{consulkv.DeleteCAS(ck, version), consulkv.Set(s.layout.Tombstone(ck), tomb)}}, nil
}

// Apply performs every operation in one Consul transaction: all happen, or
// none and the error says which operation was refused and why.
func (s *Store) Apply(ctx context.Context, ops []*storev1.Operation) ([]*storev1.OperationResult, uint64, error) {
	if len(ops) == 0 {
		return nil, 0, errs.InvalidField("operations", "must not be empty")
	}
	// Without a leader no write can be made durable; planning would also
	// read a possibly stale copy and refuse for the wrong reason.
	if err := s.kv.CheckQuorum(ctx); err != nil {
		return nil, 0, err
	}
	plans := make([]*planned, len(ops))
	var all []consulkv.Op
	owner := []int{}
	seen := map[string]int{}
	for i, op := range ops {
		p, err := s.plan(ctx, op)
		if err != nil {
			return nil, 0, prefixErr(len(ops), i, "", err)
		}
		if j, dup := seen[p.ckey]; dup && p.verb != "check" && plans[j].verb != "check" {
			return nil, 0, errs.InvalidField("operations", "operations %d and %d both write %s", j, i, describe(p.key))
		}
		seen[p.ckey] = i
		plans[i] = p
		for range p.ops {
			owner = append(owner, i)
		}
		all = append(all, p.ops...)
	}
	if len(all) > consulkv.MaxTxnOps {
		return nil, 0, errs.New(errs.TooLarge, "these %d operations need %d Consul operations; one transaction allows %d", len(ops), len(all), consulkv.MaxTxnOps)
	}
	entries, index, err := s.batch.Txn(ctx, all)
	if err != nil {
		var te *consulkv.TxnError
		if errors.As(err, &te) && te.OpIndex < len(owner) {
			i := owner[te.OpIndex]
			return nil, 0, prefixErr(len(ops), i, describe(plans[i].key), s.explain(ctx, plans[i], err))
		}
		return nil, 0, err
	}
	results := make([]*storev1.OperationResult, len(plans))
	for i, p := range plans {
		r := &storev1.OperationResult{ResourceVersion: index}
		if p.res != nil {
			for _, e := range entries {
				if e.Key == p.ckey && e.ModifyIndex > 0 {
					r.ResourceVersion = e.ModifyIndex
				}
			}
			schema.SetVersion(p.res, r.ResourceVersion)
			r.Resource = p.res
		}
		results[i] = r
	}
	return results, index, nil
}

// explain turns a refused transaction operation into the error a caller
// can act on, by looking at what is stored now.
func (s *Store) explain(ctx context.Context, p *planned, cause error) error {
	e, _, err := s.kv.Get(ctx, p.ckey)
	if err != nil {
		return err
	}
	exists := e != nil && !dead(p.key.Kind, e)
	what := describe(p.key)
	switch p.verb {
	case "create":
		if exists {
			return errs.Wrap(errs.AlreadyExists, cause, "%s already exists", what)
		}
		if e != nil && e.Session != "" {
			return errs.Wrap(errs.Conflict, cause, "%s is held by another session", what)
		}
	case "update", "delete":
		if !exists {
			return errs.Wrap(errs.NotFound, cause, "%s not found", what)
		}
		if e.ModifyIndex == p.version && p.verb == "update" && sessionBound(p.key.Kind) {
			return errs.Wrap(errs.Conflict, cause, "%s is held by another session", what)
		}
		return errs.Wrap(errs.Conflict, cause, "%s changed underneath you: it is at version %d, not %d; read it again", what, e.ModifyIndex, p.version)
	case "check":
		if p.version == 0 {
			return errs.Wrap(errs.Conflict, cause, "%s exists", what)
		}
		if !exists {
			return errs.Wrap(errs.Conflict, cause, "%s does not exist", what)
		}
		return errs.Wrap(errs.Conflict, cause, "%s is at version %d, not %d", what, e.ModifyIndex, p.version)
	}
	return cause
}

// OpenSession starts a node session for RUNTIME entries and locks; they
// are released (and read as deleted) when it ends, and its locks cannot be
// taken by another session for lockDelay after that.
func (s *Store) OpenSession(ctx context.Context, nodeID string, ttl, lockDelay time.Duration) (string, error) {
	if err := schema.ValidateID("node_id", nodeID); err != nil {
		return "", err
	}
	if lockDelay < 0 || lockDelay > time.Minute {
		return "", errs.InvalidField("lock_delay_seconds", "must be between 0 and 60 seconds, got %s", lockDelay)
	}
	return s.kv.CreateSession(ctx, consulkv.SessionConfig{Name: "glusterd-ng node " + nodeID, TTL: ttl, LockDelay: lockDelay})
}

// RenewSession keeps a node session alive.
func (s *Store) RenewSession(ctx context.Context, id string) error {
	if err := schema.ValidateID("session_id", id); err != nil {
		return err
	}
	return s.kv.RenewSession(ctx, id)
}

// CloseSession ends a node session.
func (s *Store) CloseSession(ctx context.Context, id string) error {
	if err := schema.ValidateID("session_id", id); err != nil {
		return err
	}
	return s.kv.DestroySession(ctx, id)
}

// KV returns the store's Consul client.
func (s *Store) KV() *consulkv.Client { return s.kv }

// Layout returns the store's key layout.
func (s *Store) Layout() schema.Layout { return s.layout }
