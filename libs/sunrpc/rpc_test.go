package sunrpc_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/glusterd-ng/glusterd-ng/libs/sunrpc"
	"github.com/glusterd-ng/glusterd-ng/libs/sunrpc/xdr"
)

func testCall() *sunrpc.CallMsg {
	return &sunrpc.CallMsg{
		XID: 7, RPCVers: sunrpc.RPCVersion, Program: 34123456, Version: 1, Procedure: 1,
		Cred: sunrpc.NewAuthGlusterFSv2(), Verf: sunrpc.OpaqueAuth{Body: []byte{}},
		Args: []byte{0, 0, 0, 1, 'x', 0, 0, 0},
	}
}

func TestReplyKindsRoundTrip(t *testing.T) {
	call := testCall()
	tests := []struct {
		name  string
		reply *sunrpc.ReplyMsg
		size  int
	}{
		{"success", sunrpc.NewSuccessReply(call, []byte{0, 0, 0, 0, 0, 0, 0, 0}), 32},
		{"prog unavail", sunrpc.NewErrorReply(call, sunrpc.ProgUnavail), 24},
		{"proc unavail", sunrpc.NewErrorReply(call, sunrpc.ProcUnavail), 24},
		{"garbage args", sunrpc.NewErrorReply(call, sunrpc.GarbageArgs), 24},
		{"system err", sunrpc.NewErrorReply(call, sunrpc.SystemErr), 24},
		{"prog mismatch", sunrpc.NewProgMismatchReply(call, 1, 2), 32},
		{"rpc mismatch", sunrpc.NewRPCMismatchReply(call), 24},
		{"auth error", &sunrpc.ReplyMsg{XID: 7, Stat: sunrpc.MsgDenied, RejectStat: sunrpc.AuthError, AuthStat: sunrpc.AuthBadCred}, 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.reply.Marshal()
			require.Len(t, b, tt.size)
			got, err := sunrpc.DecodeReply(b)
			require.NoError(t, err)
			require.Equal(t, b, got.Marshal())
			require.Equal(t, tt.reply.AcceptStat, got.AcceptStat)
			require.Equal(t, tt.reply.Low, got.Low)
			require.Equal(t, tt.reply.High, got.High)
			_, err = sunrpc.DecodeCall(b)
			require.ErrorIs(t, err, sunrpc.ErrMalformed)
		})
	}
}

func TestCallRoundTrip(t *testing.T) {
	call := testCall()
	b := call.Marshal()
	got, err := sunrpc.DecodeCall(b)
	require.NoError(t, err)
	require.Equal(t, call, got)
	_, err = sunrpc.DecodeReply(b)
	require.ErrorIs(t, err, sunrpc.ErrMalformed)
}

func TestDecodeMessageErrors(t *testing.T) {
	call := testCall().Marshal()
	tests := []struct {
		name    string
		in      []byte
		wantErr error
	}{
		{"empty", nil, xdr.ErrShort},
		{"bad msg_type", []byte{0, 0, 0, 1, 0, 0, 0, 2}, sunrpc.ErrMalformed},
		{"truncated call", call[:20], xdr.ErrShort},
		{"cred over 400 bytes", append(append([]byte{}, call[:28]...), 0, 0, 1, 0x91), xdr.ErrTooLong},
		{"bad reply_stat", []byte{0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9}, sunrpc.ErrMalformed},
		{"bad accept_stat", []byte{0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9}, sunrpc.ErrMalformed},
		{"trailing after error", append(sunrpc.NewErrorReply(testCall(), sunrpc.ProcUnavail).Marshal(), 0, 0, 0, 0), xdr.ErrTrailing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := sunrpc.DecodeMessage(tt.in)
			require.ErrorIs(t, err, tt.wantErr)
		})
	}
}

func TestAuthBodies(t *testing.T) {
	v3 := &sunrpc.AuthGlusterFSv3Params{PID: -1, UID: 1000, GID: 1000, Flags: 1, CtimeNsec: 5, CtimeSec: 1700000000, Groups: []uint32{4, 27}, LkOwner: []byte{1, 2, 3, 4, 5, 6, 7, 8}}
	got3, err := sunrpc.ParseAuthGlusterFSv3(v3.Marshal())
	require.NoError(t, err)
	require.Equal(t, v3, got3)

	unix := &sunrpc.AuthUnixParams{Stamp: 9, MachineName: "vm", UID: 0, GID: 0, GIDs: []uint32{1, 2}}
	gotU, err := sunrpc.ParseAuthUnix(unix.Marshal())
	require.NoError(t, err)
	require.Equal(t, unix, gotU)

	_, err = sunrpc.ParseAuthGlusterFSv2([]byte{0, 0, 0, 0})
	require.ErrorIs(t, err, xdr.ErrShort)
	_, err = sunrpc.ParseAuthGlusterFSv2(append(sunrpc.NewAuthGlusterFSv2().Body, 0, 0, 0, 0))
	require.ErrorIs(t, err, xdr.ErrTrailing)
	require.Equal(t, "AUTH_GLUSTERFS_v2", sunrpc.AuthGlusterFSv2.String())
}
