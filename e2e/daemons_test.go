package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"
	servicemgrv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/servicemgr/v1"
	storev1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/store/v1"

	"github.com/glusterd-ng/glusterd-ng/e2e/framework"
	"github.com/glusterd-ng/glusterd-ng/libs/grpcx"
	"github.com/glusterd-ng/glusterd-ng/libs/storeclient"
	"github.com/glusterd-ng/glusterd-ng/libs/testutil"
	"github.com/glusterd-ng/glusterd-ng/libs/volgen"
)

// daemonJSON is one entry of GET /v1/peers/{peer}/daemons.
type daemonJSON struct {
	Name      string `json:"name"`
	Kind      string `json:"kind"`
	Volume    string `json:"volume"`
	BrickID   string `json:"brick_id"`
	BrickPath string `json:"brick_path"`
	Port      int    `json:"port"`
	Pid       int    `json:"pid"`
	Online    bool   `json:"online"`
	State     string `json:"state"`
	Restarts  int    `json:"restarts"`
	LastExit  string `json:"last_exit"`
	LogFile   string `json:"log_file"`
}

// daemonNode is a one-node cluster whose servicemgr runs the daemons.
type daemonNode struct {
	t     *testing.T
	c     *framework.Cluster
	node  *framework.Node
	id    string
	store *storeclient.Client
	sm    servicemgrv1.ServiceManagerClient
}

func startDaemonNode(t *testing.T) *daemonNode {
	if os.Geteuid() != 0 {
		t.Skip("bricks need root (trusted extended attributes)")
	}
	framework.EnsureGluster(t)
	c := framework.Start(t, 1)
	n := c.Nodes[0]
	testutil.Await(t, 20*time.Second, func() bool { code, _, _ := probe(t, c, n.Addr); return code == 201 }, "node in the pool")
	awaitPortmap(t, n)
	conn, err := grpcx.Dial(n.Addr)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	t.Cleanup(func() {
		if t.Failed() {
			// The servicemgr's own account of its daemons, without the request noise.
			for _, line := range strings.Split(n.Servicemgr.Log(), "\n") {
				if !strings.Contains(line, `"level":"debug"`) && line != "" {
					t.Log(line)
				}
			}
			logs, _ := filepath.Glob(filepath.Join(n.StateDir, "log", "*", "*"))
			for _, f := range logs {
				b, _ := os.ReadFile(f)
				if len(b) > 3000 {
					b = b[len(b)-3000:]
				}
				t.Logf("---- %s ----\n%s", f, b)
			}
		}
	})
	return &daemonNode{t: t, c: c, node: n, id: nodeID(t, n), store: framework.StoreClient(t, c),
		sm: servicemgrv1.NewServiceManagerClient(conn)}
}

// volume creates a volume record in state CREATED with its bricks prepared
// through servicemgr, as the orchestrator will.
func (d *daemonNode) volume(name string, typ commonv1.VolumeType, perSet, sets int) *commonv1.Volume {
	dir := d.t.TempDir()
	v := &commonv1.Volume{Id: uuid.NewString(), Name: name, Type: typ, State: commonv1.VolumeState_CREATED, Transport: "tcp",
		Options: volgen.DefaultOptions(typ)}
	if typ == commonv1.VolumeType_REPLICATE || typ == commonv1.VolumeType_DISTRIBUTED_REPLICATE {
		v.ReplicaCount = uint32(perSet)
	}
	for s := 0; s < sets; s++ {
		sv := &commonv1.Subvolume{}
		for b := 0; b < perSet; b++ {
			path := filepath.Join(dir, fmt.Sprintf("b%d", s*perSet+b+1))
			_, err := d.sm.PrepareBrick(d.t.Context(), &servicemgrv1.PrepareBrickRequest{VolumeId: v.Id, BrickPath: path, CreateDir: true, Force: true})
			require.NoError(d.t, err)
			sv.Bricks = append(sv.Bricks, &commonv1.Brick{Id: uuid.NewString(), PeerId: d.id, Host: d.node.Host, Path: path})
		}
		v.Subvolumes = append(v.Subvolumes, sv)
	}
	_, err := d.store.Raw().Create(d.t.Context(), &storev1.CreateRequest{Resource: &storev1.Resource{Body: &storev1.Resource_Volume{Volume: v}}})
	require.NoError(d.t, err)
	return v
}

// setState changes a volume's desired state in the store.
func (d *daemonNode) setState(name string, state commonv1.VolumeState) {
	ctx := d.t.Context()
	got, err := d.store.Raw().Get(ctx, &storev1.GetRequest{Key: &storev1.ResourceKey{Kind: storev1.Kind_VOLUME, Name: name}})
	require.NoError(d.t, err)
	got.Resource.GetVolume().State = state
	_, err = d.store.Raw().Update(ctx, &storev1.UpdateRequest{Resource: got.Resource, ResourceVersion: got.ResourceVersion})
	require.NoError(d.t, err)
}

// daemons reads GET /v1/peers/{node}/daemons, by name.
func (d *daemonNode) daemons() map[string]daemonJSON {
	code, body := d.c.Do("GET", "/v1/peers/"+d.node.Host+"/daemons", "")
	if code != 200 {
		return nil
	}
	var out struct {
		Daemons []daemonJSON `json:"daemons"`
	}
	if json.Unmarshal(body, &out) != nil {
		return nil
	}
	m := map[string]daemonJSON{}
	for _, e := range out.Daemons {
		m[e.Name] = e
	}
	return m
}

// await waits until every brick of v satisfies cond and returns them by brick id.
func (d *daemonNode) await(v *commonv1.Volume, what string, cond func(daemonJSON) bool) map[string]daemonJSON {
	d.t.Helper()
	var got map[string]daemonJSON
	testutil.Await(d.t, 60*time.Second, func() bool {
		all := d.daemons()
		got = map[string]daemonJSON{}
		for _, sv := range v.Subvolumes {
			for _, b := range sv.Bricks {
				e, ok := all["brick."+b.Id]
				if !ok || !cond(e) {
					return false
				}
				got[b.Id] = e
			}
		}
		return true
	}, "bricks of %s %s; daemons now: %+v", v.Name, what, &got)
	return got
}

func online(e daemonJSON) bool {
	return e.Online && e.State == "running" && e.Pid > 0 && alive(e.Pid)
}

func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	return err == nil && !strings.Contains(string(b[strings.LastIndexByte(string(b), ')'):]), ") Z")
}

func cmdline(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return strings.ReplaceAll(strings.TrimSuffix(string(b), "\x00"), "\x00", " ")
}

func TestServicemgrRunsTheBricks(t *testing.T) {
	d := startDaemonNode(t)
	ctx := t.Context()
	v := d.volume("gv0", commonv1.VolumeType_DISTRIBUTE, 1, 2)

	// A created volume's bricks are known but not running.
	d.await(v, "stopped", func(e daemonJSON) bool { return e.State == "stopped" && !e.Online && e.Pid == 0 })

	// Start: every brick runs glusterd's command line and signs in.
	d.setState("gv0", commonv1.VolumeState_STARTED)
	up := d.await(v, "online", online)
	for _, sv := range v.Subvolumes {
		b := sv.Bricks[0]
		e := up[b.Id]
		cl := cmdline(e.Pid)
		for _, want := range []string{
			"--volfile-id " + volgen.BrickVolfileID(v, b), "--brick-name " + b.Path, "--process-name brick",
			fmt.Sprintf("--brick-port %d", e.Port), fmt.Sprintf("gv0-server.listen-port=%d", e.Port),
			"*-posix.glusterd-uuid=" + d.id, "-l " + e.LogFile,
		} {
			require.Contains(t, cl, want)
		}
		require.Equal(t, "brick", e.Kind)
		require.Equal(t, "gv0", e.Volume)
	}
	d.volumeStatusOnline(v, up)
	m, err := framework.Mount(ctx, t, d.node.Host, 0, "gv0", filepath.Join(t.TempDir(), "m"))
	require.NoError(t, err)
	sums, err := framework.WriteFiles(m.Mountpoint, 50, 16<<10)
	require.NoError(t, err)

	// kill -9 a brick: it is back within the backoff, signed in again.
	victim := v.Subvolumes[0].Bricks[0].Id
	require.NoError(t, syscall.Kill(up[victim].Pid, syscall.SIGKILL))
	killedAt := time.Now()
	back := d.await(v, "back after kill -9", func(e daemonJSON) bool {
		return online(e) && (e.BrickID != victim || e.Pid != up[victim].Pid)
	})
	t.Logf("brick back online %s after kill -9 (pid %d -> %d, port %d -> %d)", time.Since(killedAt).Round(time.Millisecond),
		up[victim].Pid, back[victim].Pid, up[victim].Port, back[victim].Port)
	require.Equal(t, 1, back[victim].Restarts)
	require.Contains(t, back[victim].LastExit, "signal 9")
	d.volumeStatusOnline(v, back)
	testutil.Await(t, 30*time.Second, func() bool { return framework.VerifyFiles(m.Mountpoint, sums) == nil }, "files readable after the brick came back")

	// Kill servicemgr: the bricks keep serving; started again, it adopts
	// them (same pids, no restart) and reports them online.
	d.node.Servicemgr.Kill()
	for _, e := range back {
		require.True(t, alive(e.Pid), "brick %s survives servicemgr", e.Name)
	}
	require.NoError(t, framework.VerifyFiles(m.Mountpoint, sums), "I/O continues without servicemgr")
	require.NoError(t, d.node.Servicemgr.Start())
	adopted := d.await(v, "adopted", func(e daemonJSON) bool { return online(e) && e.Pid == back[e.BrickID].Pid })
	for id, e := range adopted {
		require.Equal(t, back[id].Pid, e.Pid)
		require.Equal(t, back[id].Restarts, e.Restarts, "an adopted brick keeps its restart count")
	}
	time.Sleep(2 * time.Second) // no late restart either
	for id, e := range d.await(v, "still adopted", online) {
		require.Equal(t, back[id].Pid, e.Pid)
	}

	// A node reboot: servicemgr and every brick gone at once. All come back.
	d.node.Servicemgr.Kill()
	for _, e := range adopted {
		require.NoError(t, syscall.Kill(e.Pid, syscall.SIGKILL))
	}
	require.NoError(t, d.node.Servicemgr.Start())
	rebooted := d.await(v, "back after a reboot", func(e daemonJSON) bool { return online(e) && e.Pid != adopted[e.BrickID].Pid })
	d.volumeStatusOnline(v, rebooted)
	testutil.Await(t, 30*time.Second, func() bool { return framework.VerifyFiles(m.Mountpoint, sums) == nil }, "files readable after the reboot")
	require.NoError(t, m.Unmount())

	// Stop: the processes are gone and status says so.
	d.setState("gv0", commonv1.VolumeState_STOPPED)
	d.await(v, "stopped", func(e daemonJSON) bool { return e.State == "stopped" && !e.Online && e.Pid == 0 })
	for _, e := range rebooted {
		require.False(t, alive(e.Pid), "brick %s stopped", e.Name)
	}
	code, body := d.c.Do("GET", "/v1/volumes/gv0/status", "")
	require.Equal(t, 200, code)
	require.NotContains(t, string(body), `"online":true`)

	// Delete: the entries go too.
	_, err = d.store.Raw().Delete(ctx, &storev1.DeleteRequest{Key: &storev1.ResourceKey{Kind: storev1.Kind_VOLUME, Name: "gv0"}})
	require.NoError(t, err)
	testutil.Await(t, 20*time.Second, func() bool {
		for name := range d.daemons() {
			if strings.HasPrefix(name, "brick.") {
				return false
			}
		}
		return true
	}, "brick entries removed with the volume")
}

// volumeStatusOnline checks GET /v1/volumes/{v}/status against the daemons.
func (d *daemonNode) volumeStatusOnline(v *commonv1.Volume, want map[string]daemonJSON) {
	d.t.Helper()
	testutil.Await(d.t, 20*time.Second, func() bool {
		code, body := d.c.Do("GET", "/v1/volumes/"+v.Name+"/status", "")
		var st struct {
			Bricks []struct {
				ID     string `json:"id"`
				Port   int    `json:"port"`
				Pid    int    `json:"pid"`
				Online bool   `json:"online"`
			} `json:"bricks"`
		}
		if code != 200 || json.Unmarshal(body, &st) != nil {
			return false
		}
		for _, b := range st.Bricks {
			w := want[b.ID]
			if !b.Online || b.Port != w.Port || b.Pid != w.Pid {
				return false
			}
		}
		return len(st.Bricks) == len(want)
	}, "volume status of %s shows its bricks online", v.Name)
}

func TestCrashLoopIsVisible(t *testing.T) {
	d := startDaemonNode(t)
	v := d.volume("broken", commonv1.VolumeType_DISTRIBUTE, 1, 1)
	// Remove the brick's volume-id mark: posix refuses to start, every time.
	b := v.Subvolumes[0].Bricks[0]
	require.NoError(t, syscall.Removexattr(b.Path, "trusted.glusterfs.volume-id"))
	d.setState("broken", commonv1.VolumeState_STARTED)
	got := d.await(v, "in a crash loop", func(e daemonJSON) bool { return e.State == "crashloop" })
	e := got[b.Id]
	require.GreaterOrEqual(t, e.Restarts, 4)
	require.False(t, e.Online)
	require.NotEmpty(t, e.LastExit)
	lg, err := os.ReadFile(e.LogFile)
	require.NoError(t, err)
	require.Contains(t, string(lg), "volume-id", "the brick log says why")
}

func TestStatedump(t *testing.T) {
	d := startDaemonNode(t)
	v := d.volume("dumped", commonv1.VolumeType_DISTRIBUTE, 1, 1)
	dumpDir := t.TempDir()
	got, err := d.store.Raw().Get(t.Context(), &storev1.GetRequest{Key: &storev1.ResourceKey{Kind: storev1.Kind_VOLUME, Name: "dumped"}})
	require.NoError(t, err)
	got.Resource.GetVolume().Options["server.statedump-path"] = dumpDir
	_, err = d.store.Raw().Update(t.Context(), &storev1.UpdateRequest{Resource: got.Resource, ResourceVersion: got.ResourceVersion})
	require.NoError(t, err)
	d.setState("dumped", commonv1.VolumeState_STARTED)
	up := d.await(v, "online", online)

	resp, err := d.sm.Statedump(t.Context(), &servicemgrv1.StatedumpRequest{Volume: "dumped"})
	require.NoError(t, err)
	require.Len(t, resp.Files, 1)
	f := resp.Files[0]
	require.Equal(t, up[v.Subvolumes[0].Bricks[0].Id].Pid, int(f.Pid))
	require.Equal(t, dumpDir, filepath.Dir(f.Path))
	data, err := os.ReadFile(f.Path)
	require.NoError(t, err)
	require.Contains(t, string(data), "DUMP-START-TIME")

	_, err = d.sm.Statedump(t.Context(), &servicemgrv1.StatedumpRequest{Volume: "nosuch"})
	require.Error(t, err)
}

// shdEntry reads the node's self-heal daemon entry.
func (d *daemonNode) shdEntry() (daemonJSON, bool) {
	e, ok := d.daemons()["shd"]
	return e, ok
}

func TestServicemgrRunsTheSelfHealDaemon(t *testing.T) {
	d := startDaemonNode(t)
	ctx := t.Context()
	v := d.volume("rep", commonv1.VolumeType_REPLICATE, 3, 1)
	d.setState("rep", commonv1.VolumeState_STARTED)
	up := d.await(v, "online", online)
	var shd daemonJSON
	testutil.Await(t, 30*time.Second, func() bool {
		e, ok := d.shdEntry()
		shd = e
		return ok && online(e)
	}, "the self-heal daemon runs: %+v", &shd)
	require.Contains(t, cmdline(shd.Pid), "--volfile-id gluster/glustershd")
	var body []byte
	testutil.Await(t, 20*time.Second, func() bool {
		var code int
		code, body = d.c.Do("GET", "/v1/volumes/rep/status", "")
		var st struct {
			SelfHealDaemons []struct {
				PeerID string `json:"peer_id"`
				Pid    int    `json:"pid"`
				Online bool   `json:"online"`
			} `json:"self_heal_daemons"`
		}
		if code != 200 || json.Unmarshal(body, &st) != nil || len(st.SelfHealDaemons) != 1 {
			return false
		}
		sh := st.SelfHealDaemons[0]
		return sh.PeerID == d.id && sh.Pid == shd.Pid && sh.Online
	}, "volume status shows the self-heal daemon: %s", &body)

	// Writes while one brick is down leave heals pending; servicemgr brings
	// the brick back and its self-heal daemon heals it.
	m, err := framework.Mount(ctx, t, d.node.Host, 0, "rep", filepath.Join(t.TempDir(), "m"))
	require.NoError(t, err)
	victim := v.Subvolumes[0].Bricks[0]
	require.NoError(t, syscall.Kill(up[victim.Id].Pid, syscall.SIGKILL))
	time.Sleep(100 * time.Millisecond) // the client sees the connection close at once
	sums, err := framework.WriteFiles(m.Mountpoint, 20, 4<<10)
	require.NoError(t, err)
	pending, err := framework.PendingHeals(v.Subvolumes[0].Bricks[1].Path)
	require.NoError(t, err)
	require.NotEmpty(t, pending, "writes with a brick down left heals pending")
	d.await(v, "back", func(e daemonJSON) bool { return online(e) && (e.BrickID != victim.Id || e.Pid != up[victim.Id].Pid) })
	healStart := time.Now()
	testutil.Await(t, 60*time.Second, func() bool {
		for _, b := range v.Subvolumes[0].Bricks {
			if p, err := framework.PendingHeals(b.Path); err != nil || len(p) > 0 {
				return false
			}
		}
		return true
	}, "the self-heal daemon drained every heal index")
	t.Logf("%d pending heals drained %s after the brick came back", len(pending), time.Since(healStart).Round(time.Millisecond))
	require.NoError(t, framework.VerifyFiles(victim.Path, sums), "the healed brick holds every file")
	require.NoError(t, m.Unmount())

	// Another healed volume on the node: the one daemon restarts to serve both.
	v2 := d.volume("rep2", commonv1.VolumeType_REPLICATE, 3, 1)
	d.setState("rep2", commonv1.VolumeState_STARTED)
	d.await(v2, "online", online)
	testutil.Await(t, 30*time.Second, func() bool {
		e, ok := d.shdEntry()
		return ok && online(e) && e.Pid != shd.Pid
	}, "the self-heal daemon restarted for the new set of volumes")
	require.False(t, alive(shd.Pid))

	// No started healed volume left: the daemon stops.
	d.setState("rep", commonv1.VolumeState_STOPPED)
	d.setState("rep2", commonv1.VolumeState_STOPPED)
	testutil.Await(t, 30*time.Second, func() bool {
		e, ok := d.shdEntry()
		return ok && e.State == "stopped" && e.Pid == 0
	}, "the self-heal daemon stopped with the last healed volume")
	code, body := d.c.Do("GET", "/v1/volumes/rep/status", "")
	require.Equal(t, 200, code)
	require.NotContains(t, string(body), `"online":true`)
}
