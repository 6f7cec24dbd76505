package engine

import (
	"context"
	"encoding/json"
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

// hub keeps the last seen contents of the store's tree (fed by one blocking
// query) and fans ordered change events out to every watcher. Because deleted
// resources leave tombstones (and released runtime entries stay as dead
// keys), the snapshot alone says what changed after any retained version.
// A resource deleted and created again has both a tombstone and a live key;
// their versions order the DELETE before the PUT.
type hub struct {
	layout   schema.Layout
	log      *zap.Logger
	maxQueue int
	idle     time.Duration
	follow   func(ctx context.Context, fn consulkv.WatchFunc, onErr consulkv.ErrorFunc)

	mu        sync.Mutex
	snap      map[string]*snapEntry
	index     uint64
	compacted uint64
	compIdx   uint64 // ModifyIndex of the compacted key, for CAS
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

func newHub(layout schema.Layout, logger *zap.Logger, maxQueue int, idle time.Duration,
	follow func(ctx context.Context, fn consulkv.WatchFunc, onErr consulkv.ErrorFunc)) *hub {
	h := &hub{layout: layout, log: logger, maxQueue: maxQueue, idle: idle, follow: follow, subs: map[*subscriber]struct{}{}}
	h.resetLocked()
	return h
}

// resetLocked forgets the feed's state, as before its first listing.
func (h *hub) resetLocked() {
	h.snap, h.index, h.compacted, h.compIdx, h.lastErr = map[string]*snapEntry{}, 0, 0, 0, nil
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
	var compacted, compIdx uint64
	for i := range entries {
		e := &entries[i]
		if e.Key == h.layout.Compacted() {
			compacted, _ = strconv.ParseUint(string(e.Value), 10, 64)
			compIdx = e.ModifyIndex
			continue
		}
		p, ok := h.layout.Parse(e.Key)
		if !ok {
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
			// Deleted without a tombstone (by hand, outside the store).
			evs = append(evs, &storev1.WatchEvent{Type: storev1.EventType_DELETE, Key: old.parsed.Key, Version: index})
		}
	}
	sortEvents(evs)
	h.snap, h.index, h.compacted, h.compIdx = next, index, compacted, compIdx
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
	if since > 0 && since < h.compacted {
		return nil, errs.New(errs.OutOfRange, "version %d is older than the oldest retained change (%d); list again and watch from the listing's version", since, h.compacted)
	}
	s := &subscriber{kinds: kinds, max: h.maxQueue, notify: make(chan struct{}, 1)}
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
	if err := s.hub.acquire(); err != nil {
		return err
	}
	defer s.hub.release()
	// Start from what Consul holds now, so a watch opened after a write
	// includes it; if Consul is unreachable, start from what the feed has.
	if idx, err := s.kv.Index(ctx, s.layout.Root()); err == nil {
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err = s.hub.caughtUp(wctx, idx)
		cancel()
		if err != nil && ctx.Err() != nil {
			return ctx.Err()
		}
	}
	sub, err := s.hub.subscribe(ctx, set, since)
	if err != nil {
		return err
	}
	defer s.hub.unsubscribe(sub)
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
}

// collect deletes deletion records (tombstones, released runtime entries)
// older than the retention, and advances the compacted version past them so
// a watch cannot resume from before a deletion it could no longer see.
func (s *Store) collect(ctx context.Context) error {
	cutoff := time.Now().Add(-s.cfg.Retention)
	type victim struct {
		key   string
		index uint64
	}
	var victims []victim
	tombs, _, err := s.kv.List(ctx, s.layout.TombstonePrefix())
	if err != nil {
		return err
	}
	for _, e := range tombs {
		var tv schema.TombstoneValue
		if json.Unmarshal(e.Value, &tv) != nil || tv.DeletedAt.Before(cutoff) {
			victims = append(victims, victim{e.Key, e.ModifyIndex})
		}
	}
	// Released session-bound entries (runtime entries, locks) read as absent;
	// they are removed for good after the same grace as tombstones.
	var rts []consulkv.Entry
	for _, kind := range []storev1.Kind{storev1.Kind_RUNTIME, storev1.Kind_LOCK} {
		prefix, _ := s.layout.KindPrefix(kind, "")
		es, _, err := s.kv.List(ctx, prefix)
		if err != nil {
			return err
		}
		rts = append(rts, es...)
	}
	seen := map[string]time.Time{}
	for _, e := range rts {
		if e.Session != "" {
			continue
		}
		since, ok := s.gc.deadSince[e.Key]
		if !ok {
			since = time.Now()
		}
		seen[e.Key] = since
		if since.Before(cutoff) {
			victims = append(victims, victim{e.Key, e.ModifyIndex})
		}
	}
	s.gc.deadSince = seen
	comp, _, err := s.kv.Get(ctx, s.layout.Compacted())
	if err != nil {
		return err
	}
	var compacted, compIdx uint64
	if comp != nil {
		compacted, _ = strconv.ParseUint(string(comp.Value), 10, 64)
		compIdx = comp.ModifyIndex
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
		ops = append(ops, consulkv.SetCAS(s.layout.Compacted(), []byte(strconv.FormatUint(top, 10)), compIdx))
		_, idx, err := s.kv.Txn(ctx, ops)
		if err != nil {
			return err
		}
		compacted, compIdx = top, idx
		s.log.Debug("collected deletion records", zap.Int("count", n), zap.Uint64("compacted", top))
	}
	return nil
}
