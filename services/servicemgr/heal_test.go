package servicemgr

import (
	"bytes"
	"context"
	"net"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/glusterd-ng/glusterd-ng/libs/sunrpc"
	"github.com/glusterd-ng/glusterd-ng/libs/sunrpc/gluster"
	"github.com/glusterd-ng/glusterd-ng/libs/sunrpc/xdr"
)

// fakeShd answers brick-operations calls on a UNIX socket as a self-heal
// daemon does: it decodes gd1_mgmt_brick_op_req, hands its input dict to
// answer and replies with gd1_mgmt_brick_op_rsp.
func fakeShd(t *testing.T, answer func(in map[string]string) (int32, map[string]string)) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "shd.socket")
	l, err := net.Listen("unix", sock)
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			nc, err := l.Accept()
			if err != nil {
				return
			}
			conn := sunrpc.NewConn(nc, sunrpc.ConnConfig{Handler: sunrpc.HandlerFunc(func(_ context.Context, _ *sunrpc.Conn, call *sunrpc.CallMsg) *sunrpc.ReplyMsg {
				if call.Program != gluster.BrickOpsProgram || call.Version != gluster.BrickOpsVersion || call.Procedure != brickOpXlatorOp {
					return sunrpc.NewErrorReply(call, sunrpc.ProcUnavail)
				}
				d := xdr.NewDecoder(call.Args)
				_, _ = d.String(100)
				_, _ = d.Int32()
				raw, _ := d.Opaque(1 << 20)
				dict, err := gluster.DecodeDict(raw)
				require.NoError(t, err)
				in := map[string]string{}
				for _, p := range dict.Pairs {
					require.True(t, bytes.HasSuffix(p.Value, []byte{0}), "value of %s is NUL-terminated", p.Key)
					in[p.Key] = string(bytes.TrimRight(p.Value, "\x00"))
				}
				ret, out := answer(in)
				var od gluster.Dict
				for k, v := range out {
					od.Pairs = append(od.Pairs, gluster.Pair{Key: k, Value: append([]byte(v), 0)})
				}
				e := xdr.NewEncoder(nil)
				e.Int32(ret)
				e.Int32(0)
				e.Opaque(od.Marshal())
				e.String("")
				return sunrpc.NewSuccessReply(call, e.Bytes())
			})})
			go func() { _ = conn.Serve(context.Background()) }()
		}
	}()
	return sock
}

func TestXlatorOpSendsGlusterdsHealRequest(t *testing.T) {
	var got map[string]string
	sock := fakeShd(t, func(in map[string]string) (int32, map[string]string) {
		got = in
		return 0, map[string]string{"0-0-status": statusStarted, "0-1-status": statusRemote, "1-0-status": "Brick is not connected"}
	})
	status, err := xlatorOp(t.Context(), sock, shdOpHealFull, []string{"gv0-replicate-0", "gv0-replicate-1"})
	require.NoError(t, err)
	require.Equal(t, map[string]string{"xl-op": "2", "count": "2", "xl-0": "gv0-replicate-0", "gv0-replicate-0": "0",
		"xl-1": "gv0-replicate-1", "gv0-replicate-1": "1"}, got)
	require.Equal(t, statusStarted, status["0-0-status"])

	waiting, err := healStarted([]string{"gv0-replicate-0", "gv0-replicate-1"}, status)
	require.NoError(t, err)
	require.Equal(t, []string{"gv0-replicate-1 brick 0: Brick is not connected"}, waiting)
}

func TestXlatorOpFailsWhenTheDaemonLacksTheSet(t *testing.T) {
	sock := fakeShd(t, func(map[string]string) (int32, map[string]string) { return -1, nil })
	_, err := xlatorOp(t.Context(), sock, shdOpHealFull, []string{"gv0-replicate-0"})
	require.ErrorContains(t, err, "answered -1")
}

func TestHealStarted(t *testing.T) {
	sets := []string{"gv0-replicate-0"}
	for name, tc := range map[string]struct {
		status  map[string]string
		waiting int
		err     string
	}{
		"all connected":  {status: map[string]string{"0-0-status": statusStarted, "0-1-status": statusRemote, "0-2-status": statusStarted}},
		"one down":       {status: map[string]string{"0-0-status": statusStarted, "0-1-status": "Brick is not connected"}, waiting: 1},
		"too few up":     {status: map[string]string{"0-0-status": "< 2 bricks in replica are up", "0-1-status": "Brick is not connected"}, waiting: 2},
		"not in graph":   {status: map[string]string{}, err: "not in this node's self-heal graph"},
		"no brick here":  {status: map[string]string{"0-0-status": statusRemote, "0-1-status": statusRemote}, err: "no brick on this node"},
		"disperse is up": {status: map[string]string{"0-0-status": statusStarted, "0-1-status": "Disperse subvolume is not up"}, waiting: 1},
	} {
		t.Run(name, func(t *testing.T) {
			waiting, err := healStarted(sets, tc.status)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Len(t, waiting, tc.waiting)
		})
	}
}
