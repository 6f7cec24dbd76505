package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"
	portmapv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/portmap/v1"
	storev1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/store/v1"

	"github.com/glusterd-ng/glusterd-ng/e2e/framework"
	"github.com/glusterd-ng/glusterd-ng/libs/daemons"
	"github.com/glusterd-ng/glusterd-ng/libs/grpcx"
	"github.com/glusterd-ng/glusterd-ng/libs/testutil"
	"github.com/glusterd-ng/glusterd-ng/libs/volgen"
)

// shdFirstNode puts the self-heal tests' node on 127.1.1.221, away from
// other tests' addresses.
const shdFirstNode = 221

// startShdNode runs a one-node cluster on 127.1.1.221 whose service
// manager is stopped once the node is in the pool: the test runs the bricks
// and the self-heal daemon itself, with the command lines under test.
func startShdNode(t *testing.T) *glusterNode {
	framework.EnsureGluster(t)
	c := framework.StartAt(t, 1, shdFirstNode)
	n := c.Nodes[0]
	testutil.Await(t, 20*time.Second, func() bool {
		nc, err := net.DialTimeout("tcp", n.MgmtAddr, time.Second)
		if err == nil {
			nc.Close()
		}
		return err == nil
	}, "portmap listening on %s", n.MgmtAddr)
	testutil.Await(t, 20*time.Second, func() bool { code, _, _ := probe(t, c, n.Addr); return code == 201 }, "node in the pool")
	n.Servicemgr.Stop()
	conn, err := grpcx.Dial(n.PortmapAddr)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	return &glusterNode{t: t, c: c, node: n, id: nodeID(t, n), store: framework.StoreClient(t, c), ports: portmapv1.NewPortmapClient(conn)}
}

// healVolume writes a started one-set volume record, replica 3 or disperse
// 3 redundancy 1, with its bricks on the node under dir.
func (g *glusterNode) healVolume(name string, typ commonv1.VolumeType, dir string) *commonv1.Volume {
	v := &commonv1.Volume{Id: uuid.NewString(), Name: name, Type: typ, State: commonv1.VolumeState_STARTED, Transport: "tcp",
		Options: volgen.DefaultOptions(typ)}
	switch typ {
	case commonv1.VolumeType_REPLICATE:
		v.ReplicaCount = 3
	case commonv1.VolumeType_DISPERSE:
		v.DisperseCount, v.RedundancyCount = 3, 1
	}
	sv := &commonv1.Subvolume{}
	for i := range 3 {
		sv.Bricks = append(sv.Bricks, &commonv1.Brick{Id: uuid.NewString(), PeerId: g.id, Host: g.node.Host,
			Path: filepath.Join(dir, name, fmt.Sprintf("b%d", i+1))})
	}
	v.Subvolumes = []*commonv1.Subvolume{sv}
	require.NoError(g.t, volgen.CheckVolume(v))
	_, err := g.store.Raw().Create(g.t.Context(), &storev1.CreateRequest{Resource: &storev1.Resource{Body: &storev1.Resource_Volume{Volume: v}}})
	require.NoError(g.t, err)
	return v
}

// pendingHeals counts the heal index entries of each brick.
func pendingHeals(t *testing.T, bricks []*commonv1.Brick) (counts []int, total int) {
	t.Helper()
	for _, b := range bricks {
		p, err := framework.PendingHeals(b.Path)
		require.NoError(t, err)
		counts = append(counts, len(p))
		total += len(p)
	}
	return counts, total
}

// sha256File returns the hex SHA-256 of a file's content.
func sha256File(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// TestShdHealsReplicaAndDisperse runs the node's one self-heal daemon with
// daemons.SelfHealArgs on gluster/glustershd and shows it heals a replica 3
// and a disperse 3 redundancy 1 volume at once: with one brick of each down,
// files are written through FUSE mounts; the bricks come back; nothing heals
// until the daemon starts; then every heal index drains and the files are on
// the restarted bricks, with the same content.
func TestShdHealsReplicaAndDisperse(t *testing.T) {
	g := startShdNode(t)
	ctx := t.Context()
	dir := t.TempDir()
	rep := g.healVolume("shdrep", commonv1.VolumeType_REPLICATE, dir)
	disp := g.healVolume("shddisp", commonv1.VolumeType_DISPERSE, dir)
	vols := []*commonv1.Volume{rep, disp}
	// The portmap answers from the store (it may still be finding it) with
	// the node-wide graph of both volumes.
	testutil.Await(t, 20*time.Second, func() bool {
		spec, err := framework.GetSpec(ctx, g.node.MgmtAddr, daemons.SelfHealVolfileID)
		return err == nil && spec.OpRet > 0 && strings.Contains(spec.Spec, "subvolumes shddisp-disperse-0 shdrep-replicate-0\n")
	}, "the portmap serves %s", daemons.SelfHealVolfileID)
	procs := map[string]*framework.BrickProc{}
	want := map[string]int{}
	for _, v := range vols {
		for _, b := range v.Subvolumes[0].Bricks {
			procs[b.Path] = g.startBrick(v, b)
			want[b.Path] = procs[b.Path].Port()
		}
	}
	g.signedIn(want)

	mounts := map[string]*framework.Mounted{}
	for _, v := range vols {
		m, err := framework.Mount(ctx, t, g.node.Host, 0, v.Name, filepath.Join(t.TempDir(), v.Name))
		require.NoError(t, err)
		mounts[v.Name] = m
	}

	// The first brick of each volume dies; files and a directory tree are
	// written through the mounts meanwhile.
	const files, size, subFiles = 40, 64 << 10, 10
	sums, subSums := map[string]map[string]string{}, map[string]map[string]string{}
	for _, v := range vols {
		procs[v.Subvolumes[0].Bricks[0].Path].Kill()
	}
	for _, v := range vols {
		m := mounts[v.Name]
		var err error
		sums[v.Name], err = framework.WriteFiles(m.Mountpoint, files, size)
		require.NoError(t, err, "writes go on with one brick of %s down", v.Name)
		require.NoError(t, os.MkdirAll(filepath.Join(m.Mountpoint, "d1", "d2"), 0o755))
		subSums[v.Name], err = framework.WriteFiles(filepath.Join(m.Mountpoint, "d1", "d2"), subFiles, 4<<10)
		require.NoError(t, err)
	}
	before := map[string][]int{}
	for _, v := range vols {
		counts, total := pendingHeals(t, v.Subvolumes[0].Bricks)
		before[v.Name] = counts
		t.Logf("%s: pending heal index entries per brick with brick 1 down: %v", v.Name, counts)
		require.Zero(t, counts[0], "the dead brick has recorded nothing")
		require.GreaterOrEqual(t, total, 2*(files+subFiles), "the live bricks record what brick 1 missed")
	}

	// The bricks come back (new ports); with no self-heal daemon, nothing heals.
	for _, v := range vols {
		b := v.Subvolumes[0].Bricks[0]
		procs[b.Path] = g.startBrick(v, b)
		want[b.Path] = procs[b.Path].Port()
	}
	g.signedIn(want)
	time.Sleep(5 * time.Second)
	for _, v := range vols {
		counts, _ := pendingHeals(t, v.Subvolumes[0].Bricks)
		require.Equal(t, before[v.Name], counts, "%s: nothing heals without the daemon", v.Name)
	}

	// The node's one self-heal daemon, on the node-wide graph.
	p := daemons.SelfHealParams{VolfileServer: g.node.Host, NodeID: g.id, RunDir: filepath.Join(dir, "run"), LogDir: filepath.Join(dir, "log")}
	args := daemons.SelfHealArgs(p)
	t0 := time.Now()
	shd, err := framework.StartSelfHeal(ctx, t, args, p.LogFile())
	require.NoError(t, err)
	t.Logf("self-heal daemon: %s", shd.CommandLine())
	var healed time.Duration
	testutil.Await(t, 120*time.Second, func() bool {
		for _, v := range vols {
			if _, total := pendingHeals(t, v.Subvolumes[0].Bricks); total > 0 {
				return false
			}
		}
		healed = time.Since(t0)
		return true
	}, "every heal index drains")
	t.Logf("healed %d files and %d directories in each of %d volumes in %s after the daemon started",
		files+subFiles, 2, len(vols), healed.Round(10*time.Millisecond))
	require.False(t, shd.Exited(), "the daemon keeps running")
	lg := shd.Log()
	t.Logf("the daemon's log: replicate completed %d data and %d metadata heals",
		strings.Count(lg, "Completed data selfheal"), strings.Count(lg, "Completed metadata selfheal"))
	require.Contains(t, lg, "volfile-id gluster/glustershd")
	for _, v := range vols {
		require.Contains(t, lg, v.Name+"-client-0", "the daemon's graph holds %s", v.Name)
	}

	// Replica: the restarted brick holds every file, byte for byte.
	b1 := rep.Subvolumes[0].Bricks[0].Path
	for name, sum := range sums[rep.Name] {
		require.Equal(t, sum, sha256File(t, filepath.Join(b1, name)), "%s on the healed brick", name)
	}
	for name, sum := range subSums[rep.Name] {
		require.Equal(t, sum, sha256File(t, filepath.Join(b1, "d1", "d2", name)), "d1/d2/%s on the healed brick", name)
	}

	// Disperse: the restarted brick holds a fragment of every file, as large
	// as the others'; with another brick down, reads need its fragments,
	// and every file reads back with its content.
	d1, d2 := disp.Subvolumes[0].Bricks[0].Path, disp.Subvolumes[0].Bricks[1].Path
	for name := range sums[disp.Name] {
		s1, err := os.Stat(filepath.Join(d1, name))
		require.NoError(t, err, "%s on the healed brick", name)
		s2, err := os.Stat(filepath.Join(d2, name))
		require.NoError(t, err)
		require.Equal(t, s2.Size(), s1.Size(), "%s: fragment size", name)
	}
	for name := range subSums[disp.Name] {
		_, err := os.Stat(filepath.Join(d1, "d1", "d2", name))
		require.NoError(t, err, "d1/d2/%s on the healed brick", name)
	}
	procs[d2].Kill()
	m := mounts[disp.Name]
	testutil.Await(t, 30*time.Second, func() bool {
		return framework.VerifyFiles(m.Mountpoint, sums[disp.Name]) == nil
	}, "every file of %s reads back from the healed brick and the third one", disp.Name)
	require.NoError(t, framework.VerifyFiles(filepath.Join(m.Mountpoint, "d1", "d2"), subSums[disp.Name]))
	require.NoError(t, framework.VerifyFiles(mounts[rep.Name].Mountpoint, sums[rep.Name]))
	require.False(t, strings.Contains(lg, "glusterfs_update_mux_pid"), "the daemon did not take glusterd's multiplexed path")

	// A second daemon with the same command line does not run beside the
	// first: the pid file is locked.
	dup, err := framework.StartSelfHeal(ctx, t, args, p.LogFile())
	require.Error(t, err, "a second daemon exits")
	require.NotNil(t, dup)
	require.True(t, dup.Exited())
	require.Contains(t, shd.Log()[len(lg):], "pidfile lock failed")
	require.False(t, shd.Exited(), "the first one keeps running")
}
