package engine

import (
	"context"
	"encoding/json"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"go.uber.org/zap"

	storev1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/store/v1"

	"github.com/glusterd-ng/glusterd-ng/libs/consulkv"
	"github.com/glusterd-ng/glusterd-ng/libs/errs"
	"github.com/glusterd-ng/glusterd-ng/libs/log"
	"github.com/glusterd-ng/glusterd-ng/services/store/internal/schema"
)

// snapEntry is one key of the watched tree as last seen.
type snapEntry struct {
	index     uint64
	value     []byte
	parsed    schema.Parsed
	dead      bool // a tombstone, or a runtime entry whose session ended
	deadSince time.Time
}

// hub keeps the last seen contents of one prefix of the store's tree (a
// kind's directory, or the whole tree; fed by one blocking query on it) and
// fans ordered change events out to every watcher of it. Because deleted
// resources leave tombstones (and released runtime entries stay as dead
// keys), the snapshot alone says what changed after any retained version.
// A resource deleted and created again has both a tombstone and a live key;
// their versions order the DELETE before the PUT.
type hub struct {
	layout   schema.Layout
	prefix   string
	log      *zap.Logger
	maxQueue int
	idle     time.Duration
	follow   func(ctx context.Context, fn consulkv.WatchFunc, onErr consulkv.ErrorFunc)

	mu        sync.Mutex
	snap      map[string]*snapEntry
	index     uint64
	compacted map[storev1.Kind]uint64 // per kind, from its compacted key
	ready     chan struct{}
	changed   chan struct{} // closed and replaced on every apply
	lastErr   error
	subs      map[*subscriber]struct{}

	// The feed runs only while someone watches: parent is the store's
	// lifetime, cancel stops the running feed, gen tells a stopped feed's
	// late results apart, refs counts watchers, idleTimer stops the feed
	// after idle without watchers.
	parent    context.Context
	cancel    context.CancelFunc
	gen       int
	refs      int
	idleTimer *time.Timer
}

func newHub(layout schema.Layout, prefix string, logger *zap.Logger, maxQueue int, idle time.Duration,
	follow func(ctx context.Context, fn consulkv.WatchFunc, onErr consulkv.ErrorFunc)) *hub {
	h := &hub{layout: layout, prefix: prefix, log: logger, maxQueue: maxQueue, idle: idle, follow: follow, subs: map[*subscriber]struct{}{}}
	h.resetLocked()
	return h
}

// resetLocked forgets the feed's state, as before its first listing.
func (h *hub) resetLocked() {
	h.snap, h.index, h.compacted, h.lastErr = map[string]*snapEntry{}, 0, nil, nil
	h.ready, h.changed = make(chan struct{}), make(chan struct{})
}

// start sets the store's lifetime; the feed itself starts with the first
// watcher. When ctx ends every watch ends with Unavailable.
func (h *hub) start(ctx context.Context) {
	h.mu.Lock()
	h.parent = ctx
	h.mu.Unlock()
	go func() {
		<-ctx.Done()
		h.closeAll(errs.New(errs.Unavailable, "store is shutting down"))
	}()
}

// acquire starts the feed if it is not running and counts a watcher.
func (h *hub) acquire() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.parent == nil || h.parent.Err() != nil {
		return errs.New(errs.Unavailable, "store is not running")
	}
	h.refs++
	if h.idleTimer != nil {
		h.idleTimer.Stop()
		h.idleTimer = nil
	}
	if h.cancel == nil {
		ctx, cancel := context.WithCancel(h.parent)
		h.cancel = cancel
		h.gen++
		gen := h.gen
		h.log.Debug("change feed starting")
		go h.follow(ctx,
			func(entries []consulkv.Entry, index uint64, reset bool) { h.apply(gen, entries, index, reset) },
			func(err error, attempt int) {
				h.setErr(err)
				if attempt == 1 || attempt%50 == 0 {
					h.log.Warn("change feed cannot reach Consul; retrying", log.Err(err), zap.Int("attempt", attempt))
				}
			})
	}
	return nil
}

// release uncounts a watcher; the last one out arms the idle stop.
func (h *hub) release() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.refs--
	if h.refs > 0 || h.cancel == nil {
		return
	}
	h.idleTimer = time.AfterFunc(h.idle, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.refs == 0 && h.cancel != nil {
			h.cancel()
			h.cancel = nil
			h.resetLocked()
			if h.parent.Err() == nil { // not news while the store shuts down
				h.log.Debug("change feed stopped: no watchers")
			}
		}
	})
}

func (h *hub) setErr(err error) {
	h.mu.Lock()
	h.lastErr = err
	h.mu.Unlock()
}

// event builds the change event a snapshot entry stands for.
func (h *hub) event(key string, e *snapEntry) *storev1.WatchEvent {
	if e.dead {
		return &storev1.WatchEvent{Type: storev1.EventType_DELETE, Key: e.parsed.Key, Version: e.index}
	}
	r, err := schema.Decode(e.parsed.Key.Kind, e.value, e.index)
	if err != nil {
		h.log.Error("skipping unreadable stored value in change feed", log.Key(key), log.Err(err))
		return nil
	}
	return &storev1.WatchEvent{Type: storev1.EventType_PUT, Key: e.parsed.Key, Resource: r, Version: e.index}
}

func sortEvents(evs []*storev1.WatchEvent) {
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].Version < evs[j].Version })
}

// apply takes a new listing of the tree from the blocking query, computes
// the changes since the previous one and delivers them in version order.
func (h *hub) apply(gen int, entries []consulkv.Entry, index uint64, reset bool) {
	next := make(map[string]*snapEntry, len(entries))
	var compacted map[storev1.Kind]uint64
	for i := range entries {
		e := &entries[i]
		p, ok := h.layout.Parse(e.Key)
		if !ok {
			continue
		}
		if p.Compacted {
			if compacted == nil {
				compacted = map[storev1.Kind]uint64{}
			}
			compacted[p.Key.Kind], _ = strconv.ParseUint(string(e.Value), 10, 64)
			continue
		}
		se := &snapEntry{index: e.ModifyIndex, value: e.Value, parsed: p,
			dead: p.Tombstone || dead(p.Key.Kind, e)}
		next[e.Key] = se
	}

	h.mu.Lock()
	defer h.mu.Unlock()
	if gen != h.gen || h.cancel == nil {
		return // a stopped feed's late result
	}
	h.lastErr = nil
	first := h.index == 0
	if reset && !first && sameListing(h.snap, next) {
		// Consul forgetting its record of an old deletion under the prefix
		// lowers the prefix's index, but nothing under it changed.
		h.log.Debug("change feed index went back with unchanged contents", log.Index(index))
		h.index, h.compacted = index, compacted
		return
	}
	if reset && !first {
		h.log.Warn("Consul index went backwards; ending every watch so clients list again", log.Index(index))
		for s := range h.subs {
			s.fail(errs.New(errs.OutOfRange, "the store's history was reset (Consul's index went back to %d); list again and watch from the listing's version", index))
			delete(h.subs, s)
		}
	}
	var evs []*storev1.WatchEvent
	for k, ne := range next {
		old, had := h.snap[k]
		if had {
			ne.deadSince = old.deadSince
		}
		if ne.dead && ne.deadSince.IsZero() {
			ne.deadSince = time.Now()
		}
		if first || (had && old.index == ne.index) {
			continue
		}
		if ev := h.event(k, ne); ev != nil {
			evs = append(evs, ev)
		}
	}
	if !first {
		for k, old := range h.snap {
			if _, still := next[k]; still || old.dead {
				continue
			}
			if t, ok := next[h.layout.Tombstone(k)]; ok && t.index > old.index {
				continue // its tombstone reports the deletion
			}
			// Deleted without a tombstone (by hand, outside the store).
			evs = append(evs, &storev1.WatchEvent{Type: storev1.EventType_DELETE, Key: old.parsed.Key, Version: index})
		}
	}
	sortEvents(evs)
	h.snap, h.index, h.compacted = next, index, compacted
	if first {
		close(h.ready)
	}
	close(h.changed)
	h.changed = make(chan struct{})
	for _, ev := range evs {
		for s := range h.subs {
			if !s.deliver(ev) {
				delete(h.subs, s)
			}
		}
	}
}

// sameListing reports whether two listings hold the same keys at the same
// versions.
func sameListing(a, b map[string]*snapEntry) bool {
	if len(a) != len(b) {
		return false
	}
	for k, x := range a {
		if y, ok := b[k]; !ok || y.index != x.index {
			return false
		}
	}
	return true
}

// caughtUp waits until the feed has seen index (so a watch started after a
// write sees that write in its backlog), or ctx ends.
func (h *hub) caughtUp(ctx context.Context, index uint64) error {
	for {
		h.mu.Lock()
		at, changed := h.index, h.changed
		h.mu.Unlock()
		if at >= index {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// subscribe registers a watcher and returns the events it must get first:
// every change after since, from the snapshot, in version order.
func (h *hub) subscribe(ctx context.Context, kinds map[storev1.Kind]bool, since uint64) (*subscriber, error) {
	h.mu.Lock()
	ready := h.ready
	h.mu.Unlock()
	select {
	case <-ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(5 * time.Second):
		h.mu.Lock()
		err := h.lastErr
		h.mu.Unlock()
		if err != nil {
			return nil, errs.Wrap(errs.Unavailable, err, "the change feed cannot reach Consul")
		}
		select {
		case <-ready:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	s := &subscriber{kinds: kinds, max: h.maxQueue, notify: make(chan struct{}, 1)}
	var compacted uint64
	for k, v := range h.compacted {
		if s.wants(k) {
			compacted = max(compacted, v)
		}
	}
	if since > 0 && since < compacted {
		return nil, errs.New(errs.OutOfRange, "version %d is older than the oldest retained change (%d); list again and watch from the listing's version", since, compacted)
	}
	var backlog []*storev1.WatchEvent
	for k, e := range h.snap {
		if e.index <= since || (since == 0 && e.dead) || !s.wants(e.parsed.Key.Kind) {
			continue
		}
		if ev := h.event(k, e); ev != nil {
			backlog = append(backlog, ev)
		}
	}
	sortEvents(backlog)
	bookmark := h.index
	if bookmark < since {
		bookmark = since
	}
	s.queue = append(backlog, &storev1.WatchEvent{Type: storev1.EventType_BOOKMARK, Version: bookmark})
	s.notify <- struct{}{}
	h.subs[s] = struct{}{}
	return s, nil
}

func (h *hub) unsubscribe(s *subscriber) {
	h.mu.Lock()
	delete(h.subs, s)
	h.mu.Unlock()
}

func (h *hub) closeAll(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		s.fail(err)
		delete(h.subs, s)
	}
}

// subscriber is one watcher's queue of undelivered events.
type subscriber struct {
	kinds  map[storev1.Kind]bool
	max    int
	notify chan struct{}

	mu    sync.Mutex
	queue []*storev1.WatchEvent
	err   error
	last  uint64
}

func (s *subscriber) wants(k storev1.Kind) bool { return len(s.kinds) == 0 || s.kinds[k] }

// deliver queues ev; it returns false (and ends the watch) when the watcher
// has fallen too far behind.
func (s *subscriber) deliver(ev *storev1.WatchEvent) bool {
	if !s.wants(ev.Key.GetKind()) {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return false
	}
	if len(s.queue) >= s.max {
		s.err = errs.New(errs.Unavailable, "watch fell behind by %d events; resume with since=%d", len(s.queue), s.last)
		s.queue = nil
		s.wake()
		return false
	}
	s.queue = append(s.queue, ev)
	s.wake()
	return true
}

func (s *subscriber) fail(err error) {
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
	s.wake()
}

func (s *subscriber) wake() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// next returns the queued events, or the error that ended the watch.
func (s *subscriber) next(ctx context.Context) ([]*storev1.WatchEvent, error) {
	for {
		s.mu.Lock()
		q, err := s.queue, s.err
		s.queue = nil
		if len(q) > 0 {
			s.last = q[len(q)-1].Version
		}
		s.mu.Unlock()
		if len(q) > 0 {
			return q, nil
		}
		if err != nil {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-s.notify:
		}
	}
}

// Watch streams changes of the given kinds (all when empty) after since, in
// version order, to send, until ctx ends or send fails.
func (s *Store) Watch(ctx context.Context, kinds []storev1.Kind, since uint64, send func(*storev1.WatchEvent) error) error {
	set := map[storev1.Kind]bool{}
	for _, k := range kinds {
		if k == storev1.Kind_KIND_UNSPECIFIED || storev1.Kind_name[int32(k)] == "" {
			return errs.InvalidField("kinds", "unknown kind %v", k)
		}
		set[k] = true
	}
	// A watch of one kind follows that kind's directory only, so that it
	// costs nothing while other kinds change; others follow the whole tree.
	h := s.all
	if len(set) == 1 {
		h = s.kinds[kinds[0]]
	}
	if !s.marked.Load() {
		// A kind's directory is never empty once its compacted key exists,
		// so its index, which Consul reads from the keys under it, is the
		// one its feed reaches (see ensureMarkers).
		if err := s.ensureMarkers(ctx); err != nil && ctx.Err() == nil {
			s.log.Debug("cannot write the kinds' compacted keys yet", log.Err(err))
		}
	}
	if err := h.acquire(); err != nil {
		return err
	}
	defer h.release()
	// Start from what Consul holds now, so a watch opened after a write
	// includes it; if Consul is unreachable, start from what the feed has.
	if idx, err := s.kv.Index(ctx, h.prefix); err == nil {
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err = h.caughtUp(wctx, idx)
		cancel()
		if err != nil && ctx.Err() != nil {
			return ctx.Err()
		}
	}
	sub, err := h.subscribe(ctx, set, since)
	if err != nil {
		return err
	}
	defer h.unsubscribe(sub)
	for {
		evs, err := sub.next(ctx)
		if err != nil {
			return err
		}
		for _, ev := range evs {
			if err := send(ev); err != nil {
				return err
			}
		}
	}
}

// collector remembers when it first saw each released runtime entry, whose
// value carries no deletion time.
type collector struct {
	deadSince map[string]time.Time
	migrated  bool // the earlier layout's deletion records are gone
}

// ensureMarkers writes each kind's compacted key ("0") where it is missing.
// Consul gives an empty prefix the index of the whole KV table, which moves
// with writes elsewhere that never wake a blocking query on the prefix; a
// watch waiting for its kind's feed to reach that index would wait in vain.
func (s *Store) ensureMarkers(ctx context.Context) error {
	for _, kind := range allKinds() {
		key, _, present, err := s.readCompacted(ctx, kind)
		if err != nil {
			return err
		}
		if present != 0 {
			continue
		}
		if err := s.kv.CAS(ctx, key, []byte("0"), 0); err != nil && !errs.Is(err, errs.Conflict) {
			return err
		}
	}
	s.marked.Store(true)
	return nil
}

// allKinds is every resource kind.
func allKinds() []storev1.Kind {
	out := make([]storev1.Kind, 0, len(storev1.Kind_name))
	for k := range storev1.Kind_name {
		if kind := storev1.Kind(k); kind != storev1.Kind_KIND_UNSPECIFIED {
			out = append(out, kind)
		}
	}
	slices.Sort(out)
	return out
}

// kindsWithDeletions are the kinds whose deletions leave records to collect.
var kindsWithDeletions = []storev1.Kind{storev1.Kind_PEER, storev1.Kind_VOLUME, storev1.Kind_TRANSACTION, storev1.Kind_RUNTIME, storev1.Kind_LOCK}

// victim is a deletion record due for collection.
type victim struct {
	key   string
	index uint64
}

// collect deletes deletion records (tombstones, released runtime entries)
// older than the retention, and advances each kind's compacted version past
// them so a watch cannot resume from before a deletion it could no longer
// see.
func (s *Store) collect(ctx context.Context) error {
	if !s.gc.migrated {
		if err := s.migrateLegacyTombstones(ctx); err != nil {
			return err
		}
		s.gc.migrated = true
	}
	cutoff := time.Now().Add(-s.cfg.Retention)
	seen := map[string]time.Time{}
	for _, kind := range kindsWithDeletions {
		// Only session-bound kinds have deletion records (released
		// entries) outside their tombstones' directory.
		prefix, err := s.layout.TombstonePrefix(kind)
		if sessionBound(kind) {
			prefix, err = s.layout.FeedPrefix(kind)
		}
		if err != nil {
			return err
		}
		entries, _, err := s.kv.List(ctx, prefix)
		if err != nil {
			return err
		}
		var victims []victim
		for i := range entries {
			e := &entries[i]
			p, ok := s.layout.Parse(e.Key)
			switch {
			case !ok || p.Compacted:
			case p.Tombstone:
				var tv schema.TombstoneValue
				if json.Unmarshal(e.Value, &tv) != nil || tv.DeletedAt.Before(cutoff) {
					victims = append(victims, victim{e.Key, e.ModifyIndex})
				}
			case dead(kind, e):
				// Released session-bound entries (runtime entries, locks)
				// read as absent; they are removed for good after the same
				// grace as tombstones.
				since, ok := s.gc.deadSince[e.Key]
				if !ok {
					since = time.Now()
				}
				seen[e.Key] = since
				if since.Before(cutoff) {
					victims = append(victims, victim{e.Key, e.ModifyIndex})
				}
			}
		}
		if err := s.compact(ctx, kind, victims); err != nil {
			return err
		}
	}
	s.gc.deadSince = seen
	return nil
}

// compact deletes victims, deletion records of kind, oldest first, each
// batch in one transaction with the kind's compacted version moved past it.
func (s *Store) compact(ctx context.Context, kind storev1.Kind, victims []victim) error {
	if len(victims) == 0 {
		return nil
	}
	key, compacted, compIdx, err := s.readCompacted(ctx, kind)
	if err != nil {
		return err
	}
	sort.Slice(victims, func(i, j int) bool { return victims[i].index < victims[j].index })
	const chunk = consulkv.MaxTxnOps - 1
	for len(victims) > 0 {
		n := min(chunk, len(victims))
		batch := victims[:n]
		victims = victims[n:]
		top := compacted
		ops := make([]consulkv.Op, 0, n+1)
		for _, v := range batch {
			ops = append(ops, consulkv.DeleteCAS(v.key, v.index))
			top = max(top, v.index)
		}
		ops = append(ops, consulkv.SetCAS(key, []byte(strconv.FormatUint(top, 10)), compIdx))
		_, idx, err := s.kv.Txn(ctx, ops)
		if err != nil {
			return err
		}
		compacted, compIdx = top, idx
		s.log.Debug("collected deletion records", zap.Stringer("kind", kind), zap.Int("count", n), zap.Uint64("compacted", top))
	}
	return nil
}

// readCompacted reads kind's compacted version: its key, the version (0
// when absent) and the key's ModifyIndex (0 when absent), for a CAS.
func (s *Store) readCompacted(ctx context.Context, kind storev1.Kind) (key string, compacted, modifyIndex uint64, err error) {
	key, err = s.layout.Compacted(kind)
	if err != nil {
		return "", 0, 0, err
	}
	e, _, err := s.kv.Get(ctx, key)
	if err != nil || e == nil {
		return key, 0, 0, err
	}
	compacted, _ = strconv.ParseUint(string(e.Value), 10, 64)
	return key, compacted, e.ModifyIndex, nil
}

// migrateLegacyTombstones removes the deletion records of the earlier
// layout (all kinds under one directory, which a kind's feed does not see)
// and moves every kind's compacted version past them: a watch resuming from
// before them is told to list again (OutOfRange) instead of missing a
// deletion.
func (s *Store) migrateLegacyTombstones(ctx context.Context) error {
	old, _, err := s.kv.List(ctx, s.layout.LegacyTombstonePrefix())
	if err != nil {
		return err
	}
	comp, _, err := s.kv.Get(ctx, s.layout.LegacyCompacted())
	if err != nil {
		return err
	}
	if len(old) == 0 && comp == nil {
		return nil
	}
	var top uint64
	var ops []consulkv.Op
	if comp != nil {
		top, _ = strconv.ParseUint(string(comp.Value), 10, 64)
		ops = append(ops, consulkv.DeleteCAS(comp.Key, comp.ModifyIndex))
	}
	for _, e := range old {
		top = max(top, e.ModifyIndex)
		ops = append(ops, consulkv.DeleteCAS(e.Key, e.ModifyIndex))
	}
	// The new compacted versions first: a crash between the batches below
	// then leaves old records that the next start removes, never a gap.
	for _, kind := range kindsWithDeletions {
		key, cur, idx, err := s.readCompacted(ctx, kind)
		if err != nil {
			return err
		}
		if cur >= top {
			continue
		}
		if _, _, err := s.kv.Txn(ctx, []consulkv.Op{consulkv.SetCAS(key, []byte(strconv.FormatUint(top, 10)), idx)}); err != nil {
			return err
		}
	}
	for len(ops) > 0 {
		n := min(consulkv.MaxTxnOps, len(ops))
		if _, _, err := s.kv.Txn(ctx, ops[:n]); err != nil {
			return err
		}
		ops = ops[n:]
	}
	s.log.Info("moved deletion records to the per-kind layout", zap.Int("removed", len(old)), zap.Uint64("compacted", top))
	return nil
}
