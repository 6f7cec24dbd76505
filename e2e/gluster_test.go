package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"
	portmapv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/portmap/v1"
	storev1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/store/v1"

	"github.com/glusterd-ng/glusterd-ng/e2e/framework"
	"github.com/glusterd-ng/glusterd-ng/libs/grpcx"
	"github.com/glusterd-ng/glusterd-ng/libs/storeclient"
	"github.com/glusterd-ng/glusterd-ng/libs/testutil"
	"github.com/glusterd-ng/glusterd-ng/libs/volgen"
)

// glusterNode is one node of a local cluster with stock GlusterFS bricks
// started against its portmap.
type glusterNode struct {
	t     *testing.T
	c     *framework.Cluster
	node  *framework.Node
	id    string
	store *storeclient.Client
	ports portmapv1.PortmapClient
}

func startGlusterNode(t *testing.T) *glusterNode {
	framework.EnsureGluster(t)
	// These tests start the bricks themselves, to test the portmap alone.
	c := framework.StartWith(t, framework.Options{Nodes: 1, NodeArgs: []string{"--daemons=false"}})
	n := c.Nodes[0]
	testutil.Await(t, 20*time.Second, func() bool {
		nc, err := net.DialTimeout("tcp", n.MgmtAddr, time.Second)
		if err == nil {
			nc.Close()
		}
		return err == nil
	}, "portmap listening on %s", n.MgmtAddr)
	testutil.Await(t, 20*time.Second, func() bool { code, _, _ := probe(t, c, n.Addr); return code == 201 }, "node in the pool")
	awaitPortmap(t, n)
	conn, err := grpcx.Dial(n.PortmapAddr)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	return &glusterNode{t: t, c: c, node: n, id: nodeID(t, n), store: framework.StoreClient(t, c), ports: portmapv1.NewPortmapClient(conn)}
}

// volume writes a volume record with bricks under dir, as the orchestrator will.
func (g *glusterNode) volume(name string, typ commonv1.VolumeType, replica, perSet, sets int) *commonv1.Volume {
	dir := g.t.TempDir()
	v := &commonv1.Volume{Id: uuid.NewString(), Name: name, Type: typ, State: commonv1.VolumeState_STARTED, Transport: "tcp",
		ReplicaCount: uint32(replica), Options: volgen.DefaultOptions(typ)}
	for s := 0; s < sets; s++ {
		sv := &commonv1.Subvolume{}
		for b := 0; b < perSet; b++ {
			sv.Bricks = append(sv.Bricks, &commonv1.Brick{Id: uuid.NewString(), PeerId: g.id, Host: g.node.Host,
				Path: filepath.Join(dir, fmt.Sprintf("b%d", s*perSet+b+1))})
		}
		v.Subvolumes = append(v.Subvolumes, sv)
	}
	_, err := g.store.Raw().Create(g.t.Context(), &storev1.CreateRequest{Resource: &storev1.Resource{Body: &storev1.Resource_Volume{Volume: v}}})
	require.NoError(g.t, err)
	return v
}

// startBrick runs stock glusterfsd for brick b with glusterd's command line:
// its port from our portmap, its volfile fetched from our portmap, to which
// it signs in.
func (g *glusterNode) startBrick(v *commonv1.Volume, b *commonv1.Brick) *framework.BrickProc {
	ctx := g.t.Context()
	port, err := g.ports.AllocatePort(ctx, &portmapv1.AllocatePortRequest{BrickPath: b.Path})
	require.NoError(g.t, err)
	bp, err := framework.StartBrick(ctx, g.t, framework.BrickSpec{VolumeName: v.Name, VolumeID: v.Id, Host: g.node.Host,
		Path: b.Path, Port: int(port.Port), VolfileServer: g.node.Host, VolfileID: volgen.BrickVolfileID(v, b), NodeUUID: g.id})
	if err != nil && bp != nil {
		g.t.Logf("brick log:\n%s", bp.Log())
	}
	require.NoError(g.t, err)
	return bp
}

// signedIn waits until the portmap maps every brick path to its port.
func (g *glusterNode) signedIn(want map[string]int) {
	testutil.Await(g.t, 20*time.Second, func() bool {
		code, body := g.c.Do("GET", "/v1/peers/"+g.node.Host+"/ports", "")
		if code != 200 {
			return false
		}
		var got struct {
			Ports []struct {
				BrickPath string `json:"brick_path"`
				Port      int    `json:"port"`
			} `json:"ports"`
		}
		if json.Unmarshal(body, &got) != nil {
			return false
		}
		seen := 0
		for _, p := range got.Ports {
			if port, ok := want[p.BrickPath]; ok && port == p.Port {
				seen++
			}
		}
		return seen == len(want)
	}, "bricks signed in on their ports: %v", want)
}

func TestStockBricksAndMountThroughPortmap(t *testing.T) {
	g := startGlusterNode(t)
	ctx := t.Context()
	v := g.volume("gv0", commonv1.VolumeType_DISTRIBUTE, 0, 1, 2)
	want := map[string]int{}
	for _, sv := range v.Subvolumes {
		b := sv.Bricks[0]
		bp := g.startBrick(v, b)
		want[b.Path] = bp.Port()
	}
	g.signedIn(want)

	// Volume status shows every brick online on the port it signed in with.
	testutil.Await(t, 20*time.Second, func() bool {
		code, body := g.c.Do("GET", "/v1/volumes/gv0/status", "")
		var st struct {
			Bricks []struct {
				Path   string `json:"path"`
				Port   int    `json:"port"`
				Online bool   `json:"online"`
			} `json:"bricks"`
		}
		if code != 200 || json.Unmarshal(body, &st) != nil || len(st.Bricks) != 2 {
			return false
		}
		for _, b := range st.Bricks {
			if !b.Online || b.Port != want[b.Path] {
				return false
			}
		}
		return true
	}, "volume status shows both bricks online on their ports")
	out, errOut, code := g.c.Gdctl(ctx, "volume", "status", "gv0")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "Y", "gdctl volume status shows the bricks online")

	// An unmodified FUSE client mounts through us; data written on one mount
	// reads back identical through a second one.
	m1, err := framework.Mount(ctx, t, g.node.Host, 0, "gv0", filepath.Join(t.TempDir(), "m1"))
	require.NoError(t, err)
	sums, err := framework.WriteFiles(m1.Mountpoint, 100, 64<<10)
	require.NoError(t, err)
	m2, err := framework.Mount(ctx, t, g.node.Host, 0, "gv0", filepath.Join(t.TempDir(), "m2"))
	require.NoError(t, err)
	require.NoError(t, framework.VerifyFiles(m2.Mountpoint, sums))

	// libgfapi too.
	require.NoError(t, framework.GfapiReadWrite(ctx, t, g.node.Host, 24007, "gv0"))

	// An option change reaches the mounted client as a new graph, without a remount.
	before := m1.GraphSwitches()
	got, err := g.store.Raw().Get(ctx, &storev1.GetRequest{Key: &storev1.ResourceKey{Kind: storev1.Kind_VOLUME, Name: "gv0"}})
	require.NoError(t, err)
	got.Resource.GetVolume().Options["performance.quick-read"] = "off"
	_, err = g.store.Raw().Update(ctx, &storev1.UpdateRequest{Resource: got.Resource, ResourceVersion: got.ResourceVersion})
	require.NoError(t, err)
	testutil.Await(t, 30*time.Second, func() bool {
		_, _ = os.ReadDir(m1.Mountpoint) // the switch happens on the next request
		return m1.GraphSwitches() > before
	}, "the mounted client switched to the new graph")
	require.NoError(t, framework.VerifyFiles(m1.Mountpoint, sums), "data is intact after the graph switch")

	// An unknown volume: the mount fails cleanly, without hanging.
	mctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	_, err = framework.Mount(mctx, t, g.node.Host, 0, "nosuchvol", filepath.Join(t.TempDir(), "m3"))
	require.Error(t, err)
	require.NoError(t, mctx.Err(), "the failed mount returned well before its deadline")
}

func TestReplicaBrickKilledAndBack(t *testing.T) {
	g := startGlusterNode(t)
	ctx := t.Context()
	v := g.volume("rep3", commonv1.VolumeType_REPLICATE, 3, 3, 1)
	bricks := v.Subvolumes[0].Bricks
	procs := make([]*framework.BrickProc, 3)
	want := map[string]int{}
	for i, b := range bricks {
		procs[i] = g.startBrick(v, b)
		want[b.Path] = procs[i].Port()
	}
	g.signedIn(want)
	m, err := framework.Mount(ctx, t, g.node.Host, 0, "rep3", filepath.Join(t.TempDir(), "m"))
	require.NoError(t, err)
	sums, err := framework.WriteFiles(m.Mountpoint, 20, 16<<10)
	require.NoError(t, err)

	// One brick dies: I/O goes on on the other two.
	procs[0].Kill()
	afterKill := filepath.Join(m.Mountpoint, "after-kill")
	require.NoError(t, os.Mkdir(afterKill, 0o755))
	more, err := framework.WriteFiles(afterKill, 20, 16<<10)
	require.NoError(t, err, "writes continue with one brick of three down")
	require.NoError(t, framework.VerifyFiles(m.Mountpoint, sums))
	require.NoError(t, framework.VerifyFiles(afterKill, more))

	// It comes back on a new port, signs in, and the client reconnects to it:
	// a file written now lands on it too.
	procs[0] = g.startBrick(v, bricks[0])
	want[bricks[0].Path] = procs[0].Port()
	g.signedIn(want)
	testutil.Await(t, 30*time.Second, func() bool {
		name := filepath.Join(m.Mountpoint, "after-restart-"+uuid.NewString())
		if os.WriteFile(name, []byte("x"), 0o644) != nil {
			return false
		}
		_, err := os.Stat(filepath.Join(bricks[0].Path, filepath.Base(name)))
		return err == nil
	}, "the client reconnected to the restarted brick on its new port")

	// The portmap itself crashes and restarts while bricks and the mount run:
	// the registry is whole again (bricks sign in again on reconnect) and
	// I/O never stopped.
	g.node.Portmap.Kill()
	down := filepath.Join(m.Mountpoint, "portmap-down")
	require.NoError(t, os.Mkdir(down, 0o755))
	during, err := framework.WriteFiles(down, 5, 4<<10)
	require.NoError(t, err, "I/O goes on while the portmap is down")
	require.NoError(t, g.node.Portmap.Start())
	g.signedIn(want)
	require.NoError(t, framework.VerifyFiles(down, during))
}

// awaitPortmap waits until node n's portmap answers from the store: an
// unknown volume is ENOENT there (EAGAIN while it cannot reach the store).
func awaitPortmap(t *testing.T, n *framework.Node) {
	t.Helper()
	testutil.Await(t, 30*time.Second, func() bool {
		r, err := framework.GetSpec(t.Context(), n.MgmtAddr, "no-such-volume")
		return err == nil && r.OpRet == -1 && r.OpErrno == int32(syscall.ENOENT)
	}, "the portmap of %s answers from the store", n.Host)
}
