package servicemgr

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"
	storev1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/store/v1"

	"github.com/glusterd-ng/glusterd-ng/libs/daemons"
	"github.com/glusterd-ng/glusterd-ng/libs/errs"
	"github.com/glusterd-ng/glusterd-ng/libs/log"
	"github.com/glusterd-ng/glusterd-ng/libs/storeclient"
	"github.com/glusterd-ng/glusterd-ng/libs/volgen"
	"github.com/glusterd-ng/glusterd-ng/services/servicemgr/internal/supervisor"
)

// Daemon kinds, as they appear in runtime entries and status.
const (
	kindBrick = "brick"
	kindShd   = "shd"
)

// shdName is the self-heal daemon's name on a node (there is one).
const shdName = "shd"

// maxSockPath is the longest UNIX socket path (sun_path holds 108 bytes with its NUL).
const maxSockPath = 107

// brickEntryName is the runtime entry and daemon name of a brick.
func brickEntryName(brickID string) string { return "brick." + brickID }

// reconciler makes the node's daemons match the store: it follows the
// volumes and hands the supervisor the daemons they need on this node.
type reconciler struct {
	s   *Server
	sup *supervisor.Supervisor
	pm  *portmapLink
	log *zap.Logger

	mu   sync.Mutex
	vols map[string]*commonv1.Volume

	// applyMu serializes apply: the watch loop and the self-heal
	// daemon's settle timer both call it.
	applyMu sync.Mutex
	// made holds each volume's brick specs by the volume version they were
	// made from, so a change of one volume does not remake every other's
	// (used under applyMu).
	made map[string]madeSpecs
	// shd is the self-heal daemon's topology and its settling (under applyMu).
	shd shdSettling
}

// shdSettleTime is how long the self-heal daemon's wanted topology must
// hold before the running daemon is restarted for it: a burst of volume
// starts or stops (a script starting fifty volumes) restarts it once, not
// fifty times, each restart reconnecting it to every brick it heals.
const shdSettleTime = 2 * time.Second

// shdSettling holds back a change of the running self-heal daemon's
// topology until it has held for settle.
type shdSettling struct {
	settle  time.Duration // shdSettleTime when zero
	now     func() time.Time
	applied string    // the topology the daemon's spec carries
	wanted  string    // the topology the volumes ask for, since since
	since   time.Time // when wanted was first asked for
	timer   *time.Timer
}

// topology returns the topology for the daemon's spec. Starting or
// stopping the daemon takes the wanted one at once; a running daemon's
// change waits until want has held for the settle time, when recheck
// (which applies again, and so calls topology) is called.
func (s *shdSettling) topology(run bool, want string, recheck func()) string {
	now := time.Now
	if s.now != nil {
		now = s.now
	}
	settle := s.settle
	if settle == 0 {
		settle = shdSettleTime
	}
	if !run {
		want = "" // a stopped daemon has no topology; the next start is at once
	}
	if !run || s.applied == "" || want == s.applied {
		s.stop()
		s.applied, s.wanted = want, want
		return want
	}
	t := now()
	if want != s.wanted {
		s.wanted, s.since = want, t
	}
	waited := t.Sub(s.since)
	s.stop()
	if waited >= settle {
		s.applied = want
		return want
	}
	// The callback leaves s alone: recheck takes applyMu and comes back
	// here. One stopped too late only makes an extra apply.
	s.timer = time.AfterFunc(settle-waited, recheck)
	return s.applied
}

// stop cancels a pending recheck.
func (s *shdSettling) stop() {
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
}

// madeSpecs are the brick specs made from one version of a volume.
type madeSpecs struct {
	version uint64
	specs   []supervisor.Spec
	// topology is the volume's line of the self-heal daemon's topology
	// (daemons.SelfHealTopologyOf).
	topology string
}

// watch follows the volumes in the store and applies every change. While
// the store cannot be read, the daemons keep running as they are.
func (r *reconciler) watch(ctx context.Context) {
	var since uint64
	for ctx.Err() == nil {
		if since == 0 {
			l, err := r.s.store.Raw().List(ctx, &storev1.ListRequest{Kind: storev1.Kind_VOLUME})
			if err != nil {
				r.log.Warn("cannot list the volumes; daemons stay as they are", log.Err(err))
				sleepCtx(ctx, time.Second)
				continue
			}
			vols := map[string]*commonv1.Volume{}
			for _, res := range l.Resources {
				if v := res.GetVolume(); v != nil {
					vols[v.Name] = v
				}
			}
			r.mu.Lock()
			r.vols = vols
			r.mu.Unlock()
			r.apply()
			since = l.Version
		}
		stream, err := r.s.store.Raw().Watch(ctx, &storev1.WatchRequest{Kinds: []storev1.Kind{storev1.Kind_VOLUME}, Since: since})
		if err != nil {
			sleepCtx(ctx, time.Second)
			continue
		}
		for {
			ev, err := stream.Recv()
			if err != nil {
				if errs.Is(errs.FromStatus(err), errs.OutOfRange) {
					// The store lost its history: read everything again.
					since = 0
				}
				break
			}
			if ev.Version > since {
				since = ev.Version
			}
			switch ev.Type {
			case storev1.EventType_PUT:
				if v := ev.Resource.GetVolume(); v != nil && r.put(v) {
					r.apply()
				}
			case storev1.EventType_DELETE:
				if r.remove(ev.Key.GetName()) {
					r.apply()
				}
			}
		}
		sleepCtx(ctx, 500*time.Millisecond)
	}
}

func sleepCtx(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// put records a volume's new version and says whether this node's daemons
// must be applied again: not when the change leaves every daemon here as it
// was (an option set, which reaches the daemons as FETCHSPEC, or any change
// of a volume with no brick here), so that such a change costs this node
// nothing for the other volumes.
func (r *reconciler) put(v *commonv1.Volume) bool {
	r.applyMu.Lock()
	defer r.applyMu.Unlock()
	r.mu.Lock()
	r.vols[v.Name] = v
	r.mu.Unlock()
	old, ok := r.made[v.Name]
	if !ok || v.Version == 0 {
		return true
	}
	if old.version == v.Version {
		return false
	}
	m := r.makeSpecs(v)
	// Kept either way: the apply that follows a change takes these specs
	// instead of making them again.
	r.made[v.Name] = m
	return !sameDaemons(old, m)
}

// remove forgets a deleted volume and says whether this node's daemons
// must be applied again: only when it had a brick here.
func (r *reconciler) remove(name string) bool {
	r.applyMu.Lock()
	defer r.applyMu.Unlock()
	r.mu.Lock()
	delete(r.vols, name)
	r.mu.Unlock()
	old, ok := r.made[name]
	if !ok || len(old.specs) > 0 {
		return true
	}
	delete(r.made, name)
	return false
}

// sameDaemons says whether two versions of a volume ask for the same
// daemons here: the same brick daemons, run or not alike, with the same
// identity, and the same line in the self-heal daemon's topology. Whether
// the self-heal daemon serves the volume follows from these (its state
// shows in its bricks' Run, its type and bricks in its topology line); it
// never serves a volume with no brick here.
func sameDaemons(a, b madeSpecs) bool {
	if len(a.specs) == 0 && len(b.specs) == 0 {
		return true
	}
	return a.topology == b.topology && slices.EqualFunc(a.specs, b.specs, func(x, y supervisor.Spec) bool {
		return x.Name == y.Name && x.Run == y.Run && x.Fingerprint == y.Fingerprint && x.Kind == y.Kind &&
			x.Volume == y.Volume && x.BrickID == y.BrickID && x.BrickPath == y.BrickPath
	})
}

// apply hands the supervisor the daemons the current volumes need here.
func (r *reconciler) apply() {
	r.applyMu.Lock()
	defer r.applyMu.Unlock()
	r.mu.Lock()
	vols := make([]*commonv1.Volume, 0, len(r.vols))
	for _, v := range r.vols {
		vols = append(vols, v)
	}
	r.mu.Unlock()
	r.sup.Apply(r.specs(vols))
}

// specs lists the daemons vols need on this node: one per local brick
// (running while its volume is started) and one self-heal daemon while any
// started replicate or disperse volume has a brick here.
func (r *reconciler) specs(vols []*commonv1.Volume) []supervisor.Spec {
	node := r.s.NodeID()
	slices.SortFunc(vols, func(a, b *commonv1.Volume) int { return strings.Compare(a.Name, b.Name) })
	var out []supervisor.Spec
	made := make(map[string]madeSpecs, len(vols))
	for _, v := range vols {
		m, ok := r.made[v.Name]
		if !ok || v.Version == 0 || m.version != v.Version {
			// A volume's version is its record's ModifyIndex: the same
			// version is the same record, and so the same specs.
			m = r.makeSpecs(v)
		}
		made[v.Name] = m
		out = append(out, m.specs...)
	}
	r.made = made
	// The same rule the portmap serves the node's self-heal graph by.
	var topology strings.Builder
	healed := volgen.NodeSelfHealVolumes(vols, node)
	for _, v := range healed {
		topology.WriteString(made[v.Name].topology)
	}
	run := len(healed) > 0
	return append(out, r.shdSpec(run, r.shd.topology(run, topology.String(), r.apply)))
}

// makeSpecs makes the specs of v's bricks on this node and its line of
// the self-heal daemon's topology.
func (r *reconciler) makeSpecs(v *commonv1.Volume) madeSpecs {
	node := r.s.NodeID()
	m := madeSpecs{version: v.Version, topology: daemons.SelfHealTopologyOf(v)}
	started := v.State == commonv1.VolumeState_STARTED
	for _, sv := range v.Subvolumes {
		for _, b := range sv.Bricks {
			if b.PeerId == node {
				m.specs = append(m.specs, r.brickSpec(v, b, started))
			}
		}
	}
	return m
}

// volfileServer splits the configured volfile server into -s and
// --volfile-server-port arguments (the port left out when it is 24007).
func (r *reconciler) volfileServer() []string {
	host, port, _ := net.SplitHostPort(r.s.cfg.VolfileServer)
	args := []string{"-s", host}
	if port != "24007" {
		args = append(args, "--volfile-server-port", port)
	}
	return args
}

// brickSpec is one local brick's glusterfsd, with glusterd 10.3's command
// line (see docs/servicemgr.md) plus -N, so it stays our child.
func (r *reconciler) brickSpec(v *commonv1.Volume, b *commonv1.Brick, run bool) supervisor.Spec {
	cfg := r.s.cfg
	volfileID := volgen.BrickVolfileID(v, b)
	dashed := volgen.DashedPath(b.Path)
	pidFile := filepath.Join(cfg.RunDir, "vols", v.Name, b.Host+"-"+dashed+".pid")
	logFile := filepath.Join(cfg.LogDir, "bricks", dashed+".log")
	sock := socketPath(cfg.RunDir, v.Name+"/"+b.Host+"-"+dashed)
	base := append(r.volfileServer(),
		"--volfile-id", volfileID,
		"-p", pidFile,
		"-S", sock,
		"--brick-name", b.Path,
		"-l", logFile,
		"--xlator-option", "*-posix.glusterd-uuid="+r.s.NodeID(),
		"--process-name", "brick",
	)
	// Whatever changes the process's identity restarts it; option changes
	// do not (the portmap pushes those as FETCHSPEC).
	fingerprint := strings.Join([]string{v.Id, cfg.Glusterfsd, strings.Join(base, " "), cfg.BrickBindAddress}, "|")
	path := b.Path
	return supervisor.Spec{
		Name: brickEntryName(b.Id), Kind: kindBrick, Volume: v.Name, BrickID: b.Id, BrickPath: b.Path,
		Run: run, Fingerprint: fingerprint,
		Launch: func(ctx context.Context) (supervisor.Launch, error) {
			port, err := r.pm.Allocate(ctx, path)
			if err != nil {
				return supervisor.Launch{}, err
			}
			p := strconv.Itoa(port)
			args := append(slices.Clone(base), "--brick-port", p, "--xlator-option", v.Name+"-server.listen-port="+p)
			if cfg.BrickBindAddress != "" {
				args = append(args, "--xlator-option", "transport.socket.bind-address="+cfg.BrickBindAddress)
			}
			args = append(args, "-N")
			// glusterd removes a stale socket before it starts a brick.
			os.Remove(sock)
			return supervisor.Launch{Path: cfg.Glusterfsd, Args: args, Port: port, LogFile: logFile,
				OutFile: strings.TrimSuffix(logFile, ".log") + ".out", PidFile: pidFile}, nil
		},
		Ready: func(ctx context.Context, _, port int) bool { return r.pm.SignedIn(ctx, path, port) },
	}
}

// shdSpec is the node's self-heal daemon for vols (sorted by name); it
// runs while vols is not empty and restarts when their topology changes
// (option changes reach it as FETCHSPEC). See libs/daemons for why its
// command line differs from glusterd's.
func (r *reconciler) shdSpec(run bool, topology string) supervisor.Spec {
	cfg := r.s.cfg
	host, port, _ := net.SplitHostPort(cfg.VolfileServer)
	portNum, _ := strconv.Atoi(port)
	p := daemons.SelfHealParams{VolfileServer: host, VolfileServerPort: portNum, NodeID: r.s.NodeID(),
		RunDir: cfg.RunDir, LogDir: cfg.LogDir}
	args := daemons.SelfHealArgs(p)
	return supervisor.Spec{
		Name: shdName, Kind: kindShd, Run: run,
		Fingerprint: cfg.Glusterfs + "|" + strings.Join(args, " ") + "|" + topology,
		Launch: func(context.Context) (supervisor.Launch, error) {
			return supervisor.Launch{Path: cfg.Glusterfs, Args: args, LogFile: p.LogFile(),
				OutFile: strings.TrimSuffix(p.LogFile(), ".log") + ".out", PidFile: p.PidFile()}, nil
		},
	}
}

// socketPath is <dir>/<16 hex digits>.socket for what, like glusterd's
// hashed socket names, in the system temp directory when dir is too deep
// for a UNIX socket path.
func socketPath(dir, what string) string {
	sum := sha256.Sum256([]byte(dir + "|" + what))
	name := hex.EncodeToString(sum[:8]) + ".socket"
	if p := filepath.Join(dir, name); len(p) <= maxSockPath {
		return p
	}
	return filepath.Join(os.TempDir(), "gdng-"+name)
}

// entry turns a daemon's status into its runtime entry.
func (s *Server) entry(st supervisor.Status) *commonv1.RuntimeEntry {
	return &commonv1.RuntimeEntry{NodeId: s.NodeID(), Name: st.Name, Kind: st.Kind, Volume: st.Volume,
		BrickId: st.BrickID, BrickPath: st.BrickPath, Port: int32(st.Port), Pid: int32(st.PID),
		Online: st.Ready && (st.State == supervisor.Running), State: string(st.State), Restarts: st.Restarts,
		LastExit: st.LastExit, LogFile: st.LogFile}
}

// publishStatus writes every daemon's status to the store as this node's
// runtime entries (bound to the node's session, so they vanish with it),
// coalescing changes that come in bursts, and rewriting everything when
// the session was replaced.
func (s *Server) publishStatus(ctx context.Context, sup *supervisor.Supervisor, changed <-chan struct{}) {
	written := map[string]*commonv1.RuntimeEntry{}
	var session string
	retry := time.NewTicker(5 * time.Second)
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-retry.C:
		}
		// Let a burst of changes (a volume's bricks starting) land in one pass.
		sleepCtx(ctx, 10*time.Millisecond)
		s.mu.Lock()
		sess := s.session
		s.mu.Unlock()
		if sess != session {
			session, written = sess, map[string]*commonv1.RuntimeEntry{}
		}
		if session == "" {
			continue
		}
		now := map[string]bool{}
		var writes []storeclient.RuntimeWrite
		for _, st := range sup.Statuses() {
			if st.Kind == "" {
				continue // adopted, not yet described by the store
			}
			now[st.Name] = true
			e := s.entry(st)
			old, ok := written[st.Name]
			if ok && sameEntry(old, e) {
				continue
			}
			writes = append(writes, storeclient.RuntimeWrite{Entry: e, Version: old.GetVersion()})
		}
		s.writeStatuses(ctx, writes, session, written)
		for name := range written {
			if now[name] {
				continue
			}
			if err := s.store.DeleteRuntime(ctx, s.NodeID(), name); err != nil && !errs.Is(err, errs.NotFound) {
				s.log.Warn("cannot remove a daemon's status from the store", zap.String("daemon", name), log.Err(err))
				continue
			}
			delete(written, name)
		}
	}
}

// statusBatch is how many runtime entries one store write carries (two
// Consul operations each, within a transaction's 128): a hundred volumes'
// bricks appearing at once are recorded in a few transactions, not one
// Consul write (and disk sync) each.
const statusBatch = 60

// writeStatuses records entries in batches of statusBatch, noting what was
// written in written. A batch that fails (an entry changed behind this
// node's back, or is gone with an old session) is written entry by entry,
// each from the version the store holds.
func (s *Server) writeStatuses(ctx context.Context, writes []storeclient.RuntimeWrite, session string, written map[string]*commonv1.RuntimeEntry) {
	for len(writes) > 0 {
		batch := writes[:min(statusBatch, len(writes))]
		writes = writes[len(batch):]
		if len(batch) > 1 {
			got, err := s.store.PutRuntimes(ctx, batch, session)
			if err == nil {
				for _, e := range got {
					written[e.Name] = e
				}
				continue
			}
			s.log.Debug("recording daemons' status together failed; recording them one by one", zap.Int("daemons", len(batch)), log.Err(err))
		}
		for _, w := range batch {
			got, err := s.store.UpsertRuntime(ctx, w.Entry, session, w.Version)
			if err != nil {
				s.log.Warn("cannot record a daemon's status in the store", zap.String("daemon", w.Entry.Name), log.Err(err))
				continue
			}
			written[got.Name] = got
		}
	}
}

// sameEntry compares two entries, ignoring what the store fills in.
func sameEntry(a, b *commonv1.RuntimeEntry) bool {
	a, b = proto.CloneOf(a), proto.CloneOf(b)
	a.Version, b.Version, a.UpdatedAt, b.UpdatedAt = 0, 0, nil, nil
	return proto.Equal(a, b)
}
