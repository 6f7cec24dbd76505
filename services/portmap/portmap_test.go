package portmap

import (
	"context"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"
	portmapv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/portmap/v1"
	storev1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/store/v1"

	"github.com/glusterd-ng/glusterd-ng/libs/grpcx"
	"github.com/glusterd-ng/glusterd-ng/libs/sunrpc"
	"github.com/glusterd-ng/glusterd-ng/libs/sunrpc/gluster"
	"github.com/glusterd-ng/glusterd-ng/libs/testutil"
	"github.com/glusterd-ng/glusterd-ng/libs/volgen"
)

var consul *testutil.Consul

func TestMain(m *testing.M) { os.Exit(testutil.MainWithConsul(m, &consul)) }

// rpcClient speaks the management RPC as a GlusterFS process would.
type rpcClient struct {
	t    *testing.T
	nc   net.Conn
	rr   *sunrpc.RecordReader
	xid  uint32
	seen chan *sunrpc.Message
}

func dial(t *testing.T, addr string) *rpcClient {
	nc, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { nc.Close() })
	c := &rpcClient{t: t, nc: nc, rr: sunrpc.NewRecordReader(nc, 0), seen: make(chan *sunrpc.Message, 16)}
	go func() {
		for {
			rec, err := c.rr.ReadRecord()
			if err != nil {
				close(c.seen)
				return
			}
			m, err := sunrpc.DecodeMessage(rec)
			if err == nil {
				c.seen <- m
			}
		}
	}()
	return c
}

// call sends one call and returns the reply's results (callbacks that
// arrive meanwhile are returned in calls).
func (c *rpcClient) call(prog, vers, proc uint32, args gluster.Body) (results []byte, calls []*sunrpc.CallMsg) {
	c.xid++
	msg := &sunrpc.CallMsg{XID: c.xid, RPCVers: 2, Program: prog, Version: vers, Procedure: proc,
		Cred: sunrpc.NewAuthGlusterFSv2(), Args: args.Marshal()}
	require.NoError(c.t, sunrpc.WriteRecord(c.nc, msg.Marshal()))
	for {
		select {
		case m, ok := <-c.seen:
			require.True(c.t, ok, "connection closed")
			if m.Call != nil {
				calls = append(calls, m.Call)
				continue
			}
			require.Equal(c.t, c.xid, m.Reply.XID)
			require.Equal(c.t, sunrpc.Success, m.Reply.AcceptStat)
			return m.Reply.Results, calls
		case <-time.After(10 * time.Second):
			c.t.Fatal("no reply in 10s")
		}
	}
}

// newServer is a portmap on a real store of its own, not yet running.
func newServer(t *testing.T) (*Server, storev1.StoreServiceClient) {
	st, conn := storeServer(t)
	cfg := DefaultConfig()
	cfg.ConsulAddr, cfg.Listen, cfg.MgmtListen, cfg.Register = consul.HTTPAddr, "127.0.0.1:0", "127.0.0.1:0", false
	cfg.StoreTarget, cfg.StateDir = st, t.TempDir()
	s, err := New(cfg, zaptest.NewLogger(t), nil)
	require.NoError(t, err)
	return s, storev1.NewStoreServiceClient(conn)
}

func start(t *testing.T) (*Server, storev1.StoreServiceClient) {
	s, store := newServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return s, store
}

func testVolume(name string) *commonv1.Volume {
	v := &commonv1.Volume{Id: "7d1c5c43-3c3e-4f8e-9a1e-2f6d8b9c0a11", Name: name, Type: commonv1.VolumeType_DISTRIBUTE,
		State: commonv1.VolumeState_STARTED, Transport: "tcp", Options: volgen.DefaultOptions(commonv1.VolumeType_DISTRIBUTE),
		Subvolumes: []*commonv1.Subvolume{{Bricks: []*commonv1.Brick{{Id: "b1", PeerId: "p1", Host: "127.1.1.1", Path: "/bricks/" + name + "/b1"}}}}}
	return v
}

func TestManagementRPC(t *testing.T) {
	s, store := start(t)
	ctx := t.Context()
	vol := testVolume("gv0")
	_, err := store.Create(ctx, &storev1.CreateRequest{Resource: &storev1.Resource{Body: &storev1.Resource_Volume{Volume: vol}}})
	require.NoError(t, err)
	c := dial(t, s.MgmtAddr())

	res, _ := c.call(gluster.DumpProgram, gluster.DumpVersion, gluster.DumpProcDump, &gluster.DumpRequest{GfsID: 0xcaed})
	var dump gluster.DumpReply
	require.NoError(t, dump.Unmarshal(res))
	require.Contains(t, dump.Programs, gluster.ProgramDetail{Name: "Gluster Portmap", Number: uint64(gluster.PortmapProgram), Version: 1})

	res, _ = c.call(gluster.DumpProgram, gluster.DumpVersion, gluster.DumpProcPing, &gluster.PingRequest{})
	var ping gluster.PingReply
	require.NoError(t, ping.Unmarshal(res))
	require.Zero(t, ping.OpRet)

	// Client volfile: trusted for a local peer (this test connects over loopback).
	res, _ = c.call(gluster.HandshakeProgram, gluster.HandshakeVersion, gluster.HandshakeProcGetSpec, &gluster.GetSpecRequest{Flags: 1, Key: "/gv0"})
	var spec gluster.GetSpecReply
	require.NoError(t, spec.Unmarshal(res))
	require.Equal(t, int32(len(spec.Spec)), spec.OpRet)
	require.Contains(t, spec.Spec, "type protocol/client")
	require.Contains(t, spec.Spec, "option remote-subvolume /bricks/gv0/b1")
	require.Contains(t, spec.Spec, "option username ", "local clients get the trusted volfile")

	// Brick volfile by its volfile-id.
	res, _ = c.call(gluster.HandshakeProgram, gluster.HandshakeVersion, gluster.HandshakeProcGetSpec, &gluster.GetSpecRequest{Key: volgen.BrickVolfileID(vol, vol.Subvolumes[0].Bricks[0])})
	require.NoError(t, spec.Unmarshal(res))
	require.Contains(t, spec.Spec, "type protocol/server")
	require.Contains(t, spec.Spec, "option volume-id "+vol.Id)

	// Unknown volfile-id: the error reply a client expects.
	res, _ = c.call(gluster.HandshakeProgram, gluster.HandshakeVersion, gluster.HandshakeProcGetSpec, &gluster.GetSpecRequest{Flags: 1, Key: "/nosuchvol"})
	require.NoError(t, spec.Unmarshal(res))
	require.Equal(t, int32(-1), spec.OpRet)
	require.Equal(t, int32(syscall.ENOENT), spec.OpErrno)
	require.Empty(t, spec.Spec)

	// Port map: unknown brick -1, then SIGNIN, PORTBYBRICK, SIGNOUT.
	var pb gluster.PortByBrickReply
	res, _ = c.call(gluster.PortmapProgram, gluster.PortmapVersion, gluster.PortmapProcPortByBrick, &gluster.PortByBrickRequest{Brick: "/bricks/gv0/b1"})
	require.NoError(t, pb.Unmarshal(res))
	require.Equal(t, gluster.PortByBrickReply{OpRet: -1}, pb)
	res, _ = c.call(gluster.PortmapProgram, gluster.PortmapVersion, gluster.PortmapProcSignin, &gluster.SigninRequest{Brick: "/bricks/gv0/b1", Port: 49999, PID: 4242})
	var op gluster.OpReply
	require.NoError(t, op.Unmarshal(res))
	require.Zero(t, op.OpRet)
	res, _ = c.call(gluster.PortmapProgram, gluster.PortmapVersion, gluster.PortmapProcPortByBrick, &gluster.PortByBrickRequest{Brick: "/bricks/gv0/b1"})
	require.NoError(t, pb.Unmarshal(res))
	require.Equal(t, int32(49999), pb.Port)
	require.Zero(t, pb.OpRet)

	// The registry over gRPC, and mirrored into the store under the node.
	conn, err := grpcx.Dial(s.Addr())
	require.NoError(t, err)
	defer conn.Close()
	ports, err := portmapv1.NewPortmapClient(conn).ListPorts(ctx, &portmapv1.ListPortsRequest{})
	require.NoError(t, err)
	require.Len(t, ports.Ports, 1)
	require.Equal(t, int32(49999), ports.Ports[0].Port)
	testutil.Await(t, 10*time.Second, func() bool {
		l, err := store.List(ctx, &storev1.ListRequest{Kind: storev1.Kind_RUNTIME, NodeId: s.nodeID})
		return err == nil && len(l.Resources) == 1 && l.Resources[0].GetRuntime().Port == 49999
	}, "the port is recorded in the store under the node")

	// GET_VOLUME_INFO for gfapi's glfs_get_volumeid.
	var d gluster.Dict
	d.SetString("flags", "1")
	d.SetString("volname", "gv0")
	res, _ = c.call(gluster.HandshakeProgram, gluster.HandshakeVersion, gluster.HandshakeProcGetVolumeInfo, &gluster.GetVolumeInfoRequest{Dict: d})
	var vi gluster.GetVolumeInfoReply
	require.NoError(t, vi.Unmarshal(res))
	require.Zero(t, vi.OpRet)
	id, _ := vi.Dict.GetString("volume_id")
	require.Equal(t, vol.Id, id)

	// An option change sends FETCHSPEC to the connection that fetched the volume's volfile.
	res, _ = c.call(gluster.HandshakeProgram, gluster.HandshakeVersion, gluster.HandshakeProcGetSpec, &gluster.GetSpecRequest{Flags: 1, Key: "/gv0"})
	require.NoError(t, spec.Unmarshal(res))
	got, err := store.Get(ctx, &storev1.GetRequest{Key: &storev1.ResourceKey{Kind: storev1.Kind_VOLUME, Name: "gv0"}})
	require.NoError(t, err)
	got.Resource.GetVolume().Options["performance.quick-read"] = "off"
	_, err = store.Update(ctx, &storev1.UpdateRequest{Resource: got.Resource, ResourceVersion: got.ResourceVersion})
	require.NoError(t, err)
	select {
	case m := <-c.seen:
		require.NotNil(t, m.Call, "a callback, not a reply")
		require.Equal(t, gluster.CallbackProgram, m.Call.Program)
		require.Equal(t, gluster.CallbackProcFetchSpec, m.Call.Procedure)
	case <-time.After(15 * time.Second):
		t.Fatal("no FETCHSPEC after the option change")
	}
	res, _ = c.call(gluster.HandshakeProgram, gluster.HandshakeVersion, gluster.HandshakeProcGetSpec, &gluster.GetSpecRequest{Flags: 1, Key: "/gv0"})
	require.NoError(t, spec.Unmarshal(res))
	require.False(t, strings.Contains(spec.Spec, "type performance/quick-read"), "the new volfile has no quick-read")

	res, _ = c.call(gluster.PortmapProgram, gluster.PortmapVersion, gluster.PortmapProcSignout, &gluster.SignoutRequest{Brick: "/bricks/gv0/b1", Port: 49999})
	require.NoError(t, op.Unmarshal(res))
	res, _ = c.call(gluster.PortmapProgram, gluster.PortmapVersion, gluster.PortmapProcPortByBrick, &gluster.PortByBrickRequest{Brick: "/bricks/gv0/b1"})
	require.NoError(t, pb.Unmarshal(res))
	require.Equal(t, int32(-1), pb.OpRet)

	// A deleted volume's volfile is no longer served, cached or not.
	_, err = store.Delete(ctx, &storev1.DeleteRequest{Key: &storev1.ResourceKey{Kind: storev1.Kind_VOLUME, Name: "gv0"}})
	require.NoError(t, err)
	testutil.Await(t, 10*time.Second, func() bool {
		res, _ := c.call(gluster.HandshakeProgram, gluster.HandshakeVersion, gluster.HandshakeProcGetSpec, &gluster.GetSpecRequest{Flags: 1, Key: "/gv0"})
		return spec.Unmarshal(res) == nil && spec.OpRet == -1 && spec.OpErrno == int32(syscall.ENOENT)
	}, "GETSPEC of a deleted volume answers ENOENT")
}

// WatchPorts sends the port map at once and again after each sign-in and
// sign-out over the management RPC.
func TestWatchPortsFollowsSignInsAndOuts(t *testing.T) {
	s, _ := newServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	conn, err := grpcx.Dial(s.Addr())
	require.NoError(t, err)
	defer conn.Close()
	stream, err := portmapv1.NewPortmapClient(conn).WatchPorts(t.Context(), &portmapv1.WatchPortsRequest{})
	require.NoError(t, err)
	next := func() []*portmapv1.PortEntry {
		r, err := stream.Recv()
		require.NoError(t, err)
		return r.Ports
	}
	require.Empty(t, next(), "nothing signed in yet")

	c := dial(t, s.MgmtAddr())
	var op gluster.OpReply
	res, _ := c.call(gluster.PortmapProgram, gluster.PortmapVersion, gluster.PortmapProcSignin, &gluster.SigninRequest{Brick: "/bricks/w/b1", Port: 49998, PID: 4243})
	require.NoError(t, op.Unmarshal(res))
	require.Zero(t, op.OpRet)
	got := next()
	require.Len(t, got, 1)
	require.Equal(t, "/bricks/w/b1", got[0].BrickPath)
	require.Equal(t, int32(49998), got[0].Port)

	res, _ = c.call(gluster.PortmapProgram, gluster.PortmapVersion, gluster.PortmapProcSignout, &gluster.SignoutRequest{Brick: "/bricks/w/b1", Port: 49998})
	require.NoError(t, op.Unmarshal(res))
	require.Empty(t, next(), "signed out")

	// Stopping the portmap ends the stream (it never ends by itself), so
	// the gRPC server drains at once instead of waiting out its stop
	// timeout (10 s) for the watcher to go away.
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the portmap did not stop while a WatchPorts stream was open")
	}
	_, err = stream.Recv()
	require.Equal(t, codes.Unavailable, status.Code(err), "%v", err)
}
