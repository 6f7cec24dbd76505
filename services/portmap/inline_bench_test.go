package portmap

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"

	"github.com/glusterd-ng/glusterd-ng/libs/errs"
	"github.com/glusterd-ng/glusterd-ng/libs/sunrpc"
	"github.com/glusterd-ng/glusterd-ng/libs/sunrpc/gluster"
	"github.com/glusterd-ng/glusterd-ng/services/portmap/internal/registry"
)

// memSource is a volumeSource holding one volume in memory.
type memSource struct{ vol *commonv1.Volume }

func (m memSource) Volume(_ context.Context, name string) (*commonv1.Volume, error) {
	if name != m.vol.Name {
		return nil, errs.New(errs.Invalid, "no volume %s", name)
	}
	return m.vol, nil
}

func (m memSource) Volumes(context.Context) ([]*commonv1.Volume, error) {
	return []*commonv1.Volume{m.vol}, nil
}

func (m memSource) Cluster(context.Context) (*commonv1.Cluster, error) {
	return &commonv1.Cluster{AuthSecret: []byte("secret")}, nil
}

// benchInline measures one call answered on the reading goroutine, reply
// encoding included, as Conn does it: allocs/op are the hot path's garbage.
func benchInline(b *testing.B, proc func(*rpcServer) (prog, vers, proc uint32, args gluster.Body)) {
	reg, err := registry.New(49152, 49251)
	require.NoError(b, err)
	reg.SignIn("/bricks/gv0/b1", 49152, 1, 1)
	s := &rpcServer{reg: reg, vols: newVolfiles(memSource{testVolume("gv0")}, b.TempDir(), "n1"), log: zap.NewNop(),
		conns: map[uint64]*mgmtConn{}}
	s.vols.SetLive(true)
	_, err = s.vols.Get(context.Background(), "/gv0", true)
	require.NoError(b, err)
	ctx := withConn(context.Background(), &mgmtConn{id: 1, local: true})
	prog, vers, p, args := proc(s)
	call := &sunrpc.CallMsg{XID: 1, RPCVers: sunrpc.RPCVersion, Program: prog, Version: vers, Procedure: p,
		Cred: sunrpc.NewAuthGlusterFSv2(), Args: args.Marshal()}
	var out []byte
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		r, ok := s.inline(ctx, nil, call)
		if !ok || r.AcceptStat != sunrpc.Success {
			b.Fatal("not answered inline")
		}
		out = r.AppendTo(out[:0])
	}
}

func BenchmarkInlinePortByBrick(b *testing.B) {
	benchInline(b, func(*rpcServer) (uint32, uint32, uint32, gluster.Body) {
		return gluster.PortmapProgram, gluster.PortmapVersion, gluster.PortmapProcPortByBrick, &gluster.PortByBrickRequest{Brick: "/bricks/gv0/b1"}
	})
}

func BenchmarkInlineGetSpec(b *testing.B) {
	benchInline(b, func(*rpcServer) (uint32, uint32, uint32, gluster.Body) {
		var xdata gluster.Dict
		xdata.SetString("min-op-version", "1")
		xdata.SetString("max-op-version", "100000")
		return gluster.HandshakeProgram, gluster.HandshakeVersion, gluster.HandshakeProcGetSpec, &gluster.GetSpecRequest{Flags: 1, Key: "/gv0", Xdata: xdata}
	})
}
