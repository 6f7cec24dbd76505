package gluster_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/glusterd-ng/glusterd-ng/libs/sunrpc/gluster"
	"github.com/glusterd-ng/glusterd-ng/libs/sunrpc/xdr"
)

func dictOf(kv ...string) gluster.Dict {
	var d gluster.Dict
	for i := 0; i+1 < len(kv); i += 2 {
		d.SetString(kv[i], kv[i+1])
	}
	return d
}

func TestDictEncoding(t *testing.T) {
	// The example of protocol doc §6: GETSPEC xdata from a FUSE client.
	var d gluster.Dict
	d.SetInt("max-op-version", 100000)
	d.SetString("min-op-version", "1")
	want := []byte("\x00\x00\x00\x02" +
		"\x00\x00\x00\x0e\x00\x00\x00\x07max-op-version\x00100000\x00" +
		"\x00\x00\x00\x0e\x00\x00\x00\x02min-op-version\x001\x00")
	require.Equal(t, want, d.Marshal())
	require.Len(t, want, 59)

	got, err := gluster.DecodeDict(want)
	require.NoError(t, err)
	require.Equal(t, d, got)
	v, err := got.GetInt("max-op-version")
	require.NoError(t, err)
	require.EqualValues(t, 100000, v)

	var bin gluster.Dict
	bin.SetBytes("gfid", []byte{1, 2, 3})
	require.Equal(t, []byte("\x00\x00\x00\x01\x00\x00\x00\x04\x00\x00\x00\x03gfid\x00\x01\x02\x03"), bin.Marshal())

	hex := dictOf("flags", "0x1")
	f, err := hex.GetInt("flags")
	require.NoError(t, err)
	require.EqualValues(t, 1, f)
}

func TestDictEmptyForms(t *testing.T) {
	empty, err := gluster.DecodeDict(nil)
	require.NoError(t, err)
	require.Nil(t, empty.Marshal(), "glusterd sends an empty dict as a zero-length opaque")

	zero, err := gluster.DecodeDict([]byte{0, 0, 0, 0})
	require.NoError(t, err)
	require.Zero(t, zero.Len())
	require.Equal(t, []byte{0, 0, 0, 0}, zero.Marshal())
}

func TestDictErrors(t *testing.T) {
	tests := map[string][]byte{
		"short count":       {0, 0, 1},
		"negative count":    {0xff, 0xff, 0xff, 0xff},
		"count too large":   {0, 1, 0, 0},
		"count beyond data": {0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0},
		"negative keylen":   {0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0},
		"value past end":    {0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9, 'k', 0},
		"key without NUL":   {0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 'k', 'x'},
		"trailing bytes":    {0, 0, 0, 0, 0},
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := gluster.DecodeDict(in)
			require.ErrorIs(t, err, gluster.ErrBadDict)
		})
	}
}

func TestBodiesRoundTrip(t *testing.T) {
	bodies := []gluster.Body{
		&gluster.DumpRequest{GfsID: 0xcaed},
		&gluster.DumpReply{Programs: gluster.GlusterdPrograms},
		&gluster.DumpReply{OpRet: -1, OpErrno: 22},
		&gluster.PingReply{},
		&gluster.GetSpecRequest{Flags: 1, Key: "/gv0", Xdata: dictOf("min-op-version", "1")},
		gluster.NewGetSpecReply("volume x\nend-volume\n"),
		&gluster.GetSpecReply{OpRet: -1, OpErrno: 95},
		&gluster.EventNotifyRequest{Dict: dictOf("status", "3")},
		&gluster.EventNotifyReply{OpRet: -1, OpErrno: 22},
		&gluster.GetVolumeInfoRequest{Dict: dictOf("volname", "gv0")},
		&gluster.GetVolumeInfoReply{OpRet: -1, OpErrno: 22, OpErrstr: "no such volume"},
		&gluster.PortByBrickRequest{Brick: "/b.rdma"},
		&gluster.PortByBrickReply{Port: 49152},
		&gluster.BrickByPortRequest{Port: 49152},
		&gluster.BrickByPortReply{Brick: "/b"},
		&gluster.SigninRequest{Brick: "/b", Port: 49152, PID: 1},
		&gluster.SignoutRequest{Brick: "/b", Port: 49152},
		&gluster.OpReply{OpRet: -1, OpErrno: 2},
		&gluster.StatedumpRequest{PID: 11127},
		&gluster.Empty{},
	}
	for _, b := range bodies {
		enc := b.Marshal()
		got := newLike(b)
		require.NoError(t, got.Unmarshal(enc), "%T", b)
		require.Equal(t, enc, got.Marshal(), "%T", b)
		require.Error(t, got.Unmarshal(append(enc, 0, 0, 0, 0)), "%T: trailing bytes", b)
	}
	require.EqualValues(t, len("volume x\nend-volume\n"), gluster.NewGetSpecReply("volume x\nend-volume\n").OpRet)
}

func newLike(b gluster.Body) gluster.Body {
	switch b.(type) {
	case *gluster.DumpRequest:
		return &gluster.DumpRequest{}
	case *gluster.DumpReply:
		return &gluster.DumpReply{}
	case *gluster.CommonReply:
		return &gluster.CommonReply{}
	case *gluster.GetSpecRequest:
		return &gluster.GetSpecRequest{}
	case *gluster.GetSpecReply:
		return &gluster.GetSpecReply{}
	case *gluster.EventNotifyRequest:
		return &gluster.EventNotifyRequest{}
	case *gluster.EventNotifyReply:
		return &gluster.EventNotifyReply{}
	case *gluster.GetVolumeInfoRequest:
		return &gluster.GetVolumeInfoRequest{}
	case *gluster.GetVolumeInfoReply:
		return &gluster.GetVolumeInfoReply{}
	case *gluster.PortByBrickRequest:
		return &gluster.PortByBrickRequest{}
	case *gluster.PortByBrickReply:
		return &gluster.PortByBrickReply{}
	case *gluster.BrickByPortRequest:
		return &gluster.BrickByPortRequest{}
	case *gluster.BrickByPortReply:
		return &gluster.BrickByPortReply{}
	case *gluster.SigninRequest:
		return &gluster.SigninRequest{}
	case *gluster.SignoutRequest:
		return &gluster.SignoutRequest{}
	case *gluster.OpReply:
		return &gluster.OpReply{}
	case *gluster.StatedumpRequest:
		return &gluster.StatedumpRequest{}
	default:
		return &gluster.Empty{}
	}
}

func TestBodyLimits(t *testing.T) {
	// A brick path announced as 4 GiB must be refused without allocating it.
	err := (&gluster.PortByBrickRequest{}).Unmarshal([]byte{0xff, 0xff, 0xff, 0xff})
	require.ErrorIs(t, err, xdr.ErrTooLong)
	long := (&gluster.SigninRequest{Brick: string(make([]byte, gluster.MaxNameLen+1))}).Marshal()
	require.ErrorIs(t, (&gluster.SigninRequest{}).Unmarshal(long), xdr.ErrTooLong)

	many := gluster.DumpReply{Programs: make([]gluster.ProgramDetail, gluster.MaxDumpPrograms+1)}
	require.ErrorIs(t, (&gluster.DumpReply{}).Unmarshal(many.Marshal()), xdr.ErrTooLong)

	// Non-zero padding is refused so that accepted bodies re-encode identically.
	enc := (&gluster.PortByBrickRequest{Brick: "/b"}).Marshal()
	enc[len(enc)-1] = 1
	require.ErrorIs(t, (&gluster.PortByBrickRequest{}).Unmarshal(enc), xdr.ErrPadding)

	require.Nil(t, gluster.NewCallBody(gluster.PortmapProgram, 2, gluster.PortmapProcSignin))
	require.Nil(t, gluster.NewReplyBody(gluster.CallbackProgram, gluster.CallbackVersion, gluster.CallbackProcFetchSpec))
}
