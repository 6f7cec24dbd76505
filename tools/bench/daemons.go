package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc"

	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"
	peerv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/peer/v1"
	servicemgrv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/servicemgr/v1"
	storev1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/store/v1"

	"github.com/glusterd-ng/glusterd-ng/libs/grpcx"
	"github.com/glusterd-ng/glusterd-ng/libs/testutil"
	"github.com/glusterd-ng/glusterd-ng/libs/volgen"
	"github.com/glusterd-ng/glusterd-ng/tools/bench/glusterd"
)

// daemonsIndex is the stock glusterd instance's index: it listens on
// 127.1.1.240, away from the addresses the tests use.
const daemonsIndex = 240

// daemonsHost is the glusterd-ng storage node's address.
const daemonsHost = "127.1.4.1"

// startRound is one round of the daemons benchmark: n one-brick volumes
// started on one node.
type startRound struct {
	n int
	// issued is from the first start request until the last one returned.
	issued time.Duration
	// online is from the first start request until every brick was online.
	online time.Duration
}

func (r startRound) perVolume() time.Duration { return r.online / time.Duration(r.n) }

// repeats is how many rounds of n volumes run: small rounds are short and
// noisy, so they run several times (the median is reported).
func repeats(n int) int { return max(1, min(5, 50/n)) }

// median is the round with the median time to all online.
func median(rs []startRound) startRound {
	s := slices.Clone(rs)
	slices.SortFunc(s, func(a, b startRound) int { return cmp.Compare(a.online, b.online) })
	return s[len(s)/2]
}

// daemonsSection times bringing up n volumes on one node, for each n in
// nsFlag, with stock glusterd and with glusterd-ng, and formats both.
func daemonsSection(ctx context.Context, binDir, nsFlag string, allowance time.Duration) (string, error) {
	ns, err := parseCounts(nsFlag, 1)
	if err != nil {
		return "", err
	}
	if len(ns) == 0 {
		return "", errors.New("no volume counts given")
	}
	dir, err := os.MkdirTemp("", "bench-daemons-")
	if err != nil {
		return "", err
	}
	keep := false
	defer func() {
		if !keep {
			os.RemoveAll(dir)
		}
	}()
	timeout := func(n int) time.Duration { return 30*time.Second + time.Duration(n)*allowance }

	var stock []startRound
	note := ""
	version, _ := glusterd.Version()
	if err := glusterd.Available(); err != nil {
		note = fmt.Sprintf("Stock glusterd not measured: %v.\n\n", err)
	} else {
		for _, n := range ns {
			var rs []startRound
			for k := range repeats(n) {
				r, err := glusterdStartRound(ctx, filepath.Join(dir, fmt.Sprintf("gd-%d-%d", n, k)), n, timeout(n))
				if err != nil {
					return "", fmt.Errorf("stock glusterd, %d volumes: %w", n, err)
				}
				fmt.Fprintf(os.Stderr, "daemons bench: glusterd N=%d: last start returned after %s, all online after %s\n", n, r.issued.Round(time.Millisecond), r.online.Round(time.Millisecond))
				rs = append(rs, r)
			}
			stock = append(stock, median(rs))
		}
	}

	node, err := startDaemonsNode(ctx, binDir, filepath.Join(dir, "ng"))
	if err != nil {
		keep = true
		return "", fmt.Errorf("glusterd-ng node: %w (logs in %s)", err, filepath.Join(dir, "ng", "logs"))
	}
	var ours []startRound
	for _, n := range ns {
		var rs []startRound
		for range repeats(n) {
			r, err := node.startRound(ctx, n, timeout(n))
			if err != nil {
				node.stop()
				keep = true
				return "", fmt.Errorf("glusterd-ng, %d volumes: %w (logs in %s)", n, err, filepath.Join(dir, "ng", "logs"))
			}
			fmt.Fprintf(os.Stderr, "daemons bench: glusterd-ng N=%d: last update returned after %s, all online after %s\n", n, r.issued.Round(time.Millisecond), r.online.Round(time.Millisecond))
			rs = append(rs, r)
		}
		ours = append(ours, median(rs))
	}
	if err := node.stop(); err != nil {
		return "", fmt.Errorf("glusterd-ng node: %w", err)
	}

	var b strings.Builder
	fmt.Fprintf(&b, "## Starting volumes: desired state STARTED to every brick online\n\n%s; %s; Consul v1.14.11, one server.\n", machine(), version)
	fmt.Fprintf(&b, "N one-brick distribute volumes on one node (bricks in directories under /tmp, each brick listening on the node's address) are started one after the other, as an operator would, and timed from the first start request until every brick is online: signed in to the node's portmap. Small rounds repeat (five times up to N=10, once from N=50 on) and the median round is reported; every round has fresh volumes. Operators report glusterd needing 220 s to bring up 300 volumes (0.73 s per volume). Target: well under glusterd, growing linearly.\n\n")
	fmt.Fprintf(&b, "- Stock glusterd: a fresh `glusterd` per round on 127.1.1.%d with its own working directory; `gluster volume create vK host:/path force` for K = 1..N, then, timed, `gluster volume start vK` one after the other, while a client polls glusterd's portmap with PORTBYBRICK (every 10 ms, from the first brick not yet signed in on; `gluster volume status` cannot be polled meanwhile, as it takes the lock the starts need). Afterwards `gluster volume status all` must show every brick online.\n", daemonsIndex)
	fmt.Fprintf(&b, "- glusterd-ng: `stored`, `peerd`, `servicemgrd` and `portmapd` processes, the node on %s; each volume is recorded in state CREATED after servicemgr's PrepareBrick marked its brick; then, timed, its desired state is set to STARTED with one store Update per volume (what the orchestrator will do), while a store Watch follows the node's runtime entries until every `brick.<id>` entry says online. Between rounds the volumes are set STOPPED, their bricks seen gone, and deleted.\n\n", daemonsHost)
	b.WriteString(note)
	b.WriteString("| N | glusterd total | glusterd per volume | glusterd-ng total | glusterd-ng per volume | glusterd ÷ glusterd-ng | glusterd: last `volume start` returned | glusterd-ng: last Update returned |\n|---|---|---|---|---|---|---|---|\n")
	for i, r := range ours {
		gTotal, gPer, ratio, gIssued := "–", "–", "–", "–"
		if i < len(stock) {
			g := stock[i]
			gTotal, gPer, gIssued = dur(g.online), ms(g.perVolume()), dur(g.issued)
			ratio = fmt.Sprintf("%.1f×", float64(g.online)/float64(r.online))
		}
		fmt.Fprintf(&b, "| %d | %s | %s | %s | %s | %s | %s | %s |\n", r.n, gTotal, gPer, dur(r.online), ms(r.perVolume()), ratio, gIssued, dur(r.issued))
	}
	if len(ours) > 1 {
		first, last := ours[0], ours[len(ours)-1]
		prev := ours[len(ours)-2]
		fmt.Fprintf(&b, "\nLinearity: per volume, N=%d takes %.2f× the time of N=%d with glusterd-ng", last.n, float64(last.perVolume())/float64(first.perVolume()), first.n)
		if len(stock) == len(ours) {
			fmt.Fprintf(&b, " and %.2f× with glusterd", float64(stock[len(stock)-1].perVolume())/float64(stock[0].perVolume()))
		}
		if last.n > prev.n {
			fmt.Fprintf(&b, "; from N=%d to N=%d each further volume added %s to the total with glusterd-ng", prev.n, last.n, ms(marginal(prev, last)))
			if len(stock) == len(ours) {
				fmt.Fprintf(&b, " and %s with glusterd", ms(marginal(stock[len(stock)-2], stock[len(stock)-1])))
			}
		}
		b.WriteString(".\n")
	}
	b.WriteString("\n")
	return b.String(), nil
}

// dur prints d in milliseconds under a second, in seconds above.
func dur(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%.0f ms", float64(d.Microseconds())/1000)
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

// marginal is the time each volume added from round a to round b cost.
func marginal(a, b startRound) time.Duration { return (b.online - a.online) / time.Duration(b.n-a.n) }

// glusterdStartRound creates n volumes on a fresh stock glusterd under dir,
// starts them one by one with the CLI and waits until each brick has signed
// in to glusterd's portmap. Everything it started is killed at the end (the
// bricks by their command lines, which name dir).
func glusterdStartRound(ctx context.Context, dir string, n int, timeout time.Duration) (r startRound, err error) {
	r.n = n
	in, err := glusterd.NewInstance(dir, daemonsIndex)
	if err != nil {
		return r, err
	}
	bricks := filepath.Join(dir, "bricks")
	if err := os.MkdirAll(bricks, 0o755); err != nil {
		return r, err
	}
	if err := in.Start(ctx); err != nil {
		return r, err
	}
	defer func() { err = errors.Join(err, in.Stop(), killUnder(dir)) }()
	paths := make([]string, n)
	for k := range n {
		paths[k] = filepath.Join(bricks, fmt.Sprintf("v%d", k+1))
		if err := in.CreateVolume(ctx, fmt.Sprintf("v%d", k+1), in.Addr+":"+paths[k]); err != nil {
			return r, err
		}
	}
	c, err := dialRPC(net.JoinHostPort(in.Addr, fmt.Sprint(glusterd.MgmtPort)))
	if err != nil {
		return r, err
	}
	defer c.nc.Close()

	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	t0 := time.Now()
	// Poll the portmap alongside the starts: the last brick may come up
	// before the last start has returned. Each sweep goes through the
	// bricks in start order and stops at the first one not yet signed in,
	// so the polling costs glusterd a request or two per sweep.
	polled := make(chan error, 1)
	var onlineAt time.Time
	go func() {
		next := 0
		for {
			for next < n && portByBrick(paths[next])(c) == nil {
				next++
			}
			if next == n {
				onlineAt = time.Now()
				polled <- nil
				return
			}
			select {
			case <-ctx.Done():
				polled <- fmt.Errorf("%d of %d bricks not signed in to glusterd's portmap after %s, the first %s", n-next, n, timeout, paths[next])
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	for k := range n {
		if err := in.StartVolume(ctx, fmt.Sprintf("v%d", k+1)); err != nil {
			cancel()
			<-polled
			return r, err
		}
	}
	r.issued = time.Since(t0)
	if err := <-polled; err != nil {
		return r, err
	}
	r.online = onlineAt.Sub(t0)
	// glusterd's own view agrees.
	st, err := in.VolumesStatus(ctx)
	if err != nil {
		return r, err
	}
	up := 0
	for _, v := range st {
		for _, b := range v.Bricks {
			if b.Online() {
				up++
			}
		}
	}
	if up != n {
		return r, fmt.Errorf("bricks signed in, but gluster volume status shows %d of %d online", up, n)
	}
	return r, nil
}

// parseCounts reads a comma-separated list of counts, each at least min.
func parseCounts(flag string, min int) ([]int, error) {
	var ns []int
	for _, f := range strings.Split(flag, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < min {
			return nil, fmt.Errorf("bad count %q (at least %d)", f, min)
		}
		ns = append(ns, n)
	}
	return ns, nil
}

// proc is a glusterd-ng service process the bench started.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

// startProc runs binDir/name with args, its output in logDir/name.log; it
// dies with the bench.
func startProc(binDir, logDir, name string, args ...string) (*proc, error) {
	return startProcAs(binDir, logDir, name, name, args...)
}

// startProcAs is startProc for a program run more than once (one per
// node): name names the process and its log, binary the program.
func startProcAs(binDir, logDir, name, binary string, args ...string) (*proc, error) {
	logf := filepath.Join(logDir, name+".log")
	f, err := os.Create(logf)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(filepath.Join(binDir, binary), args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: logf, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	return p, nil
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM and, after 10 s, SIGKILL.
func (p *proc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// daemonsNode is a single-node glusterd-ng cluster: Consul, the store, the
// peer service, and the node's servicemgr and portmap.
type daemonsNode struct {
	dir    string
	consul *testutil.Consul
	procs  []*proc
	conns  []*grpc.ClientConn
	store  storev1.StoreServiceClient
	smgr   servicemgrv1.ServiceManagerClient
	nodeID string
}

func startDaemonsNode(ctx context.Context, binDir, dir string) (_ *daemonsNode, err error) {
	logs := filepath.Join(dir, "logs")
	if err := os.MkdirAll(logs, 0o755); err != nil {
		return nil, err
	}
	consul, err := testutil.StartConsul(filepath.Join(dir, "consul"))
	if err != nil {
		return nil, err
	}
	d := &daemonsNode{dir: dir, consul: consul}
	defer func() {
		if err != nil {
			d.stop()
		}
	}()
	storeAddr := daemonsHost + ":24011"
	common := []string{"--consul-addr=" + consul.HTTPAddr, "--log-level=info", "--check-interval=2s"}
	nodeDir := filepath.Join(dir, "node")
	for _, s := range []struct {
		name string
		args []string
	}{
		{"stored", []string{"--listen=" + storeAddr}},
		{"peerd", []string{"--listen=" + daemonsHost + ":24010", "--store-target=" + storeAddr}},
		// The bricks keep their pid files, sockets and logs under dir, listen
		// on the node's address (as stock glusterd's do on its own) and stop
		// with servicemgr.
		{"servicemgrd", []string{"--listen=" + daemonsHost + ":24013", "--store-target=" + storeAddr, "--state-dir=" + nodeDir, "--name=bench-node",
			"--portmap=" + daemonsHost + ":24014", "--run-dir=" + filepath.Join(dir, "run"), "--log-dir=" + filepath.Join(dir, "log"),
			"--brick-bind-address=" + daemonsHost, "--stop-daemons-on-exit"}},
		{"portmapd", []string{"--listen=" + daemonsHost + ":24014", "--mgmt-listen=" + daemonsHost + ":24007", "--store-target=" + storeAddr,
			"--state-dir=" + nodeDir, "--workdir=" + filepath.Join(dir, "workdir")}},
	} {
		p, err := startProc(binDir, logs, s.name, append(slices.Clone(common), s.args...)...)
		if err != nil {
			return nil, err
		}
		d.procs = append(d.procs, p)
	}
	dial := func(addr string) (*grpc.ClientConn, error) {
		c, err := grpcx.Dial(addr)
		if err == nil {
			d.conns = append(d.conns, c)
		}
		return c, err
	}
	sc, err := dial(storeAddr)
	if err != nil {
		return nil, err
	}
	pc, err := dial(daemonsHost + ":24010")
	if err != nil {
		return nil, err
	}
	mc, err := dial(daemonsHost + ":24013")
	if err != nil {
		return nil, err
	}
	d.store, d.smgr = storev1.NewStoreServiceClient(sc), servicemgrv1.NewServiceManagerClient(mc)
	// Make the node the pool's one member once every service answers.
	deadline := time.Now().Add(time.Minute)
	for {
		_, err = peerv1.NewPeerServiceClient(pc).AddPeer(ctx, &peerv1.AddPeerRequest{Address: daemonsHost})
		if err == nil {
			break
		}
		for _, p := range d.procs {
			if p.exited() {
				return nil, fmt.Errorf("%s exited during start-up; see %s", p.name, p.log)
			}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("adding the node to the pool: %w", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	id, err := d.smgr.GetIdentity(ctx, &servicemgrv1.GetIdentityRequest{})
	if err != nil {
		return nil, err
	}
	d.nodeID = id.NodeId
	return d, nil
}

// stop ends the services in reverse order, then kills any brick process
// left (bricks outlive servicemgr by design), found by its command line,
// which names a directory under the node's.
func (d *daemonsNode) stop() error {
	for _, c := range d.conns {
		c.Close()
	}
	for i := len(d.procs) - 1; i >= 0; i-- {
		d.procs[i].stop()
	}
	if d.consul != nil {
		d.consul.Stop()
	}
	return killUnder(d.dir)
}

// killUnder kills every process whose command line names dir (or a path
// under it), such as daemonized brick processes, and waits until they are
// gone.
func killUnder(dir string) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		left, err := glusterd.Processes(dir)
		if err != nil || len(left) == 0 {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes still running under %s after SIGKILL: %v", dir, left)
		}
		for _, pid := range left {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// brickWatch follows the node's brick runtime entries through a store Watch.
type brickWatch struct {
	mu      sync.Mutex
	entries map[string]*commonv1.RuntimeEntry // by entry name
	changed chan struct{}                     // closed and replaced at every change
	err     error
}

func (d *daemonsNode) watchBricks(ctx context.Context) (*brickWatch, error) {
	stream, err := d.store.Watch(ctx, &storev1.WatchRequest{Kinds: []storev1.Kind{storev1.Kind_RUNTIME}})
	if err != nil {
		return nil, err
	}
	w := &brickWatch{entries: map[string]*commonv1.RuntimeEntry{}, changed: make(chan struct{})}
	ready := make(chan error, 1)
	go func() {
		booked := false
		for {
			ev, err := stream.Recv()
			w.mu.Lock()
			if err != nil {
				w.err = err
			} else if k := ev.GetKey(); k.GetNodeId() == d.nodeID && strings.HasPrefix(k.GetName(), "brick.") {
				switch ev.Type {
				case storev1.EventType_PUT:
					w.entries[k.Name] = ev.GetResource().GetRuntime()
				case storev1.EventType_DELETE:
					delete(w.entries, k.Name)
				}
			}
			close(w.changed)
			w.changed = make(chan struct{})
			w.mu.Unlock()
			if !booked && (err != nil || ev.Type == storev1.EventType_BOOKMARK) {
				booked = true
				ready <- err
			}
			if err != nil {
				return
			}
		}
	}()
	select {
	case err := <-ready:
		return w, err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// await waits until cond holds for the entries, returning when it first did.
func (w *brickWatch) await(ctx context.Context, cond func(map[string]*commonv1.RuntimeEntry) bool) (time.Time, error) {
	for {
		w.mu.Lock()
		ok, err, changed := cond(w.entries), w.err, w.changed
		w.mu.Unlock()
		if ok {
			return time.Now(), nil
		}
		if err != nil {
			return time.Time{}, fmt.Errorf("store watch: %w", err)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		}
	}
}

// startRound records n one-brick volumes (state CREATED, bricks prepared by
// servicemgr), sets them STARTED one by one and waits until the node reports
// every brick online; then it stops and deletes them.
func (d *daemonsNode) startRound(ctx context.Context, n int, timeout time.Duration) (startRound, error) {
	r := startRound{n: n}
	bricks := filepath.Join(d.dir, fmt.Sprintf("bricks-%d", n))
	vols := make([]*commonv1.Volume, n)
	versions := make([]uint64, n)
	names := map[string]bool{}
	for k := range vols {
		v := &commonv1.Volume{Id: uuid.NewString(), Name: fmt.Sprintf("v%d", k+1), Type: commonv1.VolumeType_DISTRIBUTE,
			State: commonv1.VolumeState_CREATED, Transport: "tcp", Options: volgen.DefaultOptions(commonv1.VolumeType_DISTRIBUTE),
			Subvolumes: []*commonv1.Subvolume{{Bricks: []*commonv1.Brick{{Id: uuid.NewString(), PeerId: d.nodeID,
				Host: daemonsHost, Path: filepath.Join(bricks, fmt.Sprintf("v%d", k+1))}}}}}
		b := v.Subvolumes[0].Bricks[0]
		if _, err := d.smgr.PrepareBrick(ctx, &servicemgrv1.PrepareBrickRequest{VolumeId: v.Id, BrickPath: b.Path, CreateDir: true, Force: true}); err != nil {
			return r, fmt.Errorf("prepare brick %s: %w", b.Path, err)
		}
		cr, err := d.store.Create(ctx, &storev1.CreateRequest{Resource: &storev1.Resource{Body: &storev1.Resource_Volume{Volume: v}}})
		if err != nil {
			return r, fmt.Errorf("create volume %s: %w", v.Name, err)
		}
		vols[k], versions[k], names["brick."+b.Id] = v, cr.ResourceVersion, true
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := d.watchBricks(wctx)
	if err != nil {
		return r, err
	}
	setState := func(state commonv1.VolumeState) error {
		for k, v := range vols {
			v.State = state
			ur, err := d.store.Update(ctx, &storev1.UpdateRequest{Resource: &storev1.Resource{Body: &storev1.Resource_Volume{Volume: v}}, ResourceVersion: versions[k]})
			if err != nil {
				return fmt.Errorf("set volume %s %s: %w", v.Name, state, err)
			}
			versions[k] = ur.ResourceVersion
		}
		return nil
	}
	online := func(es map[string]*commonv1.RuntimeEntry) int {
		up := 0
		for name := range names {
			if e := es[name]; e != nil && e.Online {
				up++
			}
		}
		return up
	}

	actx, acancel := context.WithTimeout(ctx, timeout)
	defer acancel()
	t0 := time.Now()
	if err := setState(commonv1.VolumeState_STARTED); err != nil {
		return r, err
	}
	r.issued = time.Since(t0)
	at, err := w.await(actx, func(es map[string]*commonv1.RuntimeEntry) bool { return online(es) == n })
	if err != nil {
		w.mu.Lock()
		up, seen := online(w.entries), len(w.entries)
		w.mu.Unlock()
		return r, fmt.Errorf("%d of %d bricks online %s after the first volume was set STARTED (%d brick entries for this node seen): servicemgr is to write runtime entry brick.<brick-id> with online=true once the brick has signed in to the node's portmap; does this servicemgrd reconcile volumes yet? (%w)",
			up, n, timeout, seen, err)
	}
	r.online = at.Sub(t0)

	// Stop them, wait until no brick runs, and delete the records.
	var pids []int
	w.mu.Lock()
	for name := range names {
		if e := w.entries[name]; e != nil && e.Pid > 0 {
			pids = append(pids, int(e.Pid))
		}
	}
	w.mu.Unlock()
	sctx, scancel := context.WithTimeout(ctx, timeout)
	defer scancel()
	if err := setState(commonv1.VolumeState_STOPPED); err != nil {
		return r, err
	}
	if _, err := w.await(sctx, func(es map[string]*commonv1.RuntimeEntry) bool {
		for name := range names {
			if e := es[name]; e != nil && (e.Online || e.State == "running") {
				return false
			}
		}
		return true
	}); err != nil {
		return r, fmt.Errorf("bricks still running %s after the volumes were set STOPPED: %w", timeout, err)
	}
	for _, pid := range pids {
		for alive(pid) {
			if sctx.Err() != nil {
				return r, fmt.Errorf("brick pid %d still running %s after its volume was set STOPPED", pid, timeout)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	for k, v := range vols {
		if _, err := d.store.Delete(ctx, &storev1.DeleteRequest{Key: &storev1.ResourceKey{Kind: storev1.Kind_VOLUME, Name: v.Name}, ResourceVersion: versions[k]}); err != nil {
			return r, fmt.Errorf("delete volume %s: %w", v.Name, err)
		}
	}
	return r, os.RemoveAll(bricks)
}

// alive reports whether pid is a running (not zombie) process.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z'
	}
	return true
}
