package gluster_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/glusterd-ng/glusterd-ng/libs/sunrpc"
	"github.com/glusterd-ng/glusterd-ng/libs/sunrpc/gluster"
	"github.com/glusterd-ng/glusterd-ng/libs/sunrpc/internal/pcaptest"
)

const mgmtPort = 24007

// message is one RPC record of a capture, decoded.
type message struct {
	capture string
	frame   int
	rec     pcaptest.Record
	msg     *sunrpc.Message
	call    *sunrpc.CallMsg // the call a reply answers, or the call itself
	body    gluster.Body
}

// loadMgmt decodes every RPC record on port 24007 of one capture, checking
// that each record, message, credential and body re-encodes byte-identically.
func loadMgmt(t testing.TB, path string) []*message {
	t.Helper()
	streams, err := pcaptest.Streams(path)
	require.NoError(t, err)
	name := filepath.Base(path)
	type callKey struct {
		conn int
		xid  uint32
	}
	calls := map[callKey]*sunrpc.CallMsg{}
	var out, replies []*message
	for _, s := range streams {
		if s.Src.Port() != mgmtPort && s.Dst.Port() != mgmtPort {
			continue
		}
		require.Zero(t, s.Gaps, "%s %s->%s: bytes missing from the capture", name, s.Src, s.Dst)
		recs, err := pcaptest.SplitRecords(s)
		require.NoError(t, err, name)
		for _, rec := range recs {
			m := &message{capture: name, frame: rec.Frame, rec: rec}
			checkRecordRoundTrip(t, m)
			m.msg, err = sunrpc.DecodeMessage(rec.Payload)
			require.NoError(t, err, "%s frame %d", name, rec.Frame)
			require.Equal(t, rec.Payload, m.msg.Marshal(), "%s frame %d: message re-encoding", name, rec.Frame)
			if c := m.msg.Call; c != nil {
				m.call = c
				checkCred(t, m, c.Cred)
				checkCred(t, m, c.Verf)
				if s.Dst.Port() == mgmtPort {
					calls[callKey{s.Conn, c.XID}] = c
				}
				m.body = gluster.NewCallBody(c.Program, c.Version, c.Procedure)
				require.NotNil(t, m.body, "%s frame %d: call prog %d vers %d proc %d has no typed body", name, rec.Frame, c.Program, c.Version, c.Procedure)
				require.NoError(t, m.body.Unmarshal(c.Args), "%s frame %d", name, rec.Frame)
				require.Equal(t, c.Args, nonNil(m.body.Marshal()), "%s frame %d: call body re-encoding", name, rec.Frame)
			} else {
				require.Equal(t, uint16(mgmtPort), s.Src.Port(), "%s frame %d: reply towards the server", name, rec.Frame)
				replies = append(replies, m)
			}
			out = append(out, m)
		}
	}
	for _, m := range replies {
		r := m.msg.Reply
		c := calls[callKey{m.rec.Stream.Conn, r.XID}]
		require.NotNil(t, c, "%s frame %d: reply xid %d without its call", name, m.frame, r.XID)
		m.call = c
		require.Equal(t, sunrpc.MsgAccepted, r.Stat)
		require.Equal(t, sunrpc.Success, r.AcceptStat)
		checkCred(t, m, r.Verf)
		m.body = gluster.NewReplyBody(c.Program, c.Version, c.Procedure)
		require.NotNil(t, m.body, "%s frame %d: reply to prog %d proc %d has no typed body", name, m.frame, c.Program, c.Procedure)
		require.NoError(t, m.body.Unmarshal(r.Results), "%s frame %d", name, m.frame)
		require.Equal(t, r.Results, nonNil(m.body.Marshal()), "%s frame %d: reply body re-encoding", name, m.frame)
	}
	return out
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func checkRecordRoundTrip(t testing.TB, m *message) {
	t.Helper()
	rr := sunrpc.NewRecordReader(bytes.NewReader(m.rec.Raw), 0)
	payload, err := rr.ReadRecord()
	require.NoError(t, err, "%s frame %d", m.capture, m.frame)
	require.Equal(t, m.rec.Payload, payload)
	require.Equal(t, 1, m.rec.Fragments, "GlusterFS sends single-fragment records")
	raw, err := sunrpc.AppendRecord(nil, payload)
	require.NoError(t, err)
	require.Equal(t, m.rec.Raw, raw, "%s frame %d: record re-encoding", m.capture, m.frame)
}

func checkCred(t testing.TB, m *message, a sunrpc.OpaqueAuth) {
	t.Helper()
	switch a.Flavor {
	case sunrpc.AuthNull:
		require.Empty(t, a.Body)
	case sunrpc.AuthGlusterFSv2:
		p, err := sunrpc.ParseAuthGlusterFSv2(a.Body)
		require.NoError(t, err, "%s frame %d", m.capture, m.frame)
		require.Equal(t, a.Body, p.Marshal())
	case sunrpc.AuthGlusterFSv3:
		p, err := sunrpc.ParseAuthGlusterFSv3(a.Body)
		require.NoError(t, err, "%s frame %d", m.capture, m.frame)
		require.Equal(t, a.Body, p.Marshal())
	default:
		t.Fatalf("%s frame %d: unexpected auth flavour %v", m.capture, m.frame, a.Flavor)
	}
}

// TestFixturesRoundTrip decodes every record on port 24007 of every capture.
func TestFixturesRoundTrip(t *testing.T) {
	want := map[string]int{
		"brick-stop-start-full.pcap":    60,
		"brick-stop-start.pcap":         60,
		"client-mount-full.pcap":        14,
		"client-mount.pcap":             14,
		"getspec-enoent.pcap":           2,
		"gfapi-volumeid.pcap":           16,
		"volfile-change-callbacks.pcap": 43,
	}
	seen := map[string]bool{}
	for _, path := range pcaptest.Captures(t) {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			msgs := loadMgmt(t, path)
			calls, replies := 0, 0
			for _, m := range msgs {
				if m.msg.Call != nil {
					calls++
				} else {
					replies++
				}
			}
			t.Logf("%s: %d records (%d calls, %d replies)", name, len(msgs), calls, replies)
			if n, ok := want[name]; ok {
				require.Len(t, msgs, n)
			}
			seen[name] = true
		})
	}
	for name := range want {
		require.True(t, seen[name], "capture %s missing from the fixtures", name)
	}
}

// byFrame loads one capture's management messages indexed by frame number.
func byFrame(t *testing.T, capture string) map[int]*message {
	t.Helper()
	msgs := loadMgmt(t, filepath.Join(pcaptest.FixtureDir(t), capture))
	out := make(map[int]*message, len(msgs))
	for _, m := range msgs {
		out[m.frame] = m
	}
	return out
}

func frame[T any](t *testing.T, msgs map[int]*message, n int) (*message, T) {
	t.Helper()
	m, ok := msgs[n]
	require.True(t, ok, "no RPC record at frame %d", n)
	b, ok := m.body.(T)
	require.True(t, ok, "frame %d body is %T", n, m.body)
	return m, b
}

func fixtureFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(pcaptest.FixtureDir(t), name))
	require.NoError(t, err)
	return string(b)
}

func TestFixtureClientMount(t *testing.T) {
	msgs := byFrame(t, "client-mount.pcap")

	m, spec := frame[*gluster.GetSpecRequest](t, msgs, 4)
	require.Equal(t, uint32(2), m.call.XID)
	require.Equal(t, sunrpc.AuthGlusterFSv2, m.call.Cred.Flavor)
	require.Len(t, m.call.Cred.Body, 24)
	cred, err := sunrpc.ParseAuthGlusterFSv2(m.call.Cred.Body)
	require.NoError(t, err)
	require.Equal(t, &sunrpc.AuthGlusterFSv2Params{LkOwner: []byte{0, 0, 0, 0}}, cred)
	require.Equal(t, sunrpc.NewAuthGlusterFSv2(), m.call.Cred)
	require.Equal(t, gluster.GetSpecFlagServersList, spec.Flags)
	require.Equal(t, "/gv0", spec.Key)
	require.Equal(t, []gluster.Pair{
		{Key: "max-op-version", Value: []byte("100000\x00")},
		{Key: "min-op-version", Value: []byte("1\x00")},
	}, spec.Xdata.Pairs)
	maxOp, err := spec.Xdata.GetInt("max-op-version")
	require.NoError(t, err)
	require.EqualValues(t, 100000, maxOp)
	require.Len(t, spec.Xdata.Marshal(), 59)

	_, rsp := frame[*gluster.GetSpecReply](t, msgs, 6)
	require.EqualValues(t, 2188, rsp.OpRet)
	require.Zero(t, rsp.OpErrno)
	require.Len(t, rsp.Spec, 2188)
	require.Equal(t, fixtureFile(t, "served-client-trusted-gv0.tcp-fuse.vol"), rsp.Spec)
	require.Zero(t, rsp.Xdata.Len())
	require.Equal(t, rsp, gluster.NewGetSpecReply(rsp.Spec))

	_, dump := frame[*gluster.DumpRequest](t, msgs, 14)
	require.Equal(t, uint64(0xcaed), dump.GfsID)
	_, dumpRsp := frame[*gluster.DumpReply](t, msgs, 16)
	require.Zero(t, dumpRsp.GfsID)
	require.Zero(t, dumpRsp.OpRet)
	require.Equal(t, gluster.GlusterdPrograms, dumpRsp.Programs)

	m, _ = frame[*gluster.PingRequest](t, msgs, 18)
	require.Equal(t, gluster.DumpProcPing, m.call.Procedure)
	m, ping := frame[*gluster.PingReply](t, msgs, 19)
	require.Equal(t, &gluster.PingReply{}, ping)
	require.Len(t, m.msg.Reply.Results, 12)

	_, pbb := frame[*gluster.PortByBrickRequest](t, msgs, 26)
	require.Equal(t, "/tmp/gbrick/b1", pbb.Brick)
	_, pbbRsp := frame[*gluster.PortByBrickReply](t, msgs, 27)
	require.Equal(t, &gluster.PortByBrickReply{Port: 56488}, pbbRsp)
}

func TestFixtureBrickStopStart(t *testing.T) {
	msgs := byFrame(t, "brick-stop-start.pcap")

	m, out := frame[*gluster.SignoutRequest](t, msgs, 1)
	require.Equal(t, uint32(4), m.call.XID)
	require.Equal(t, &gluster.SignoutRequest{Brick: "/tmp/gbrick/b1", Port: 56488}, out)
	_, outRsp := frame[*gluster.SignoutReply](t, msgs, 9)
	require.Equal(t, &gluster.SignoutReply{}, outRsp)

	m, miss := frame[*gluster.PortByBrickReply](t, msgs, 25)
	require.Equal(t, uint32(42), m.msg.Reply.XID)
	require.Equal(t, &gluster.PortByBrickReply{OpRet: -1}, miss)

	_, spec := frame[*gluster.GetSpecRequest](t, msgs, 115)
	require.Zero(t, spec.Flags)
	require.Equal(t, "gv0.vm.tmp-gbrick-b1", spec.Key)
	brick, ok := spec.Xdata.GetString("brick_name")
	require.True(t, ok)
	require.Equal(t, "/tmp/gbrick/b1", brick)
	require.Equal(t, "brick_name", spec.Xdata.Pairs[0].Key)
	_, specRsp := frame[*gluster.GetSpecReply](t, msgs, 117)
	require.EqualValues(t, 3624, specRsp.OpRet)
	require.Equal(t, fixtureFile(t, "served-brick-gv0.vm.tmp-gbrick-b1.vol"), specRsp.Spec)

	_, in := frame[*gluster.SigninRequest](t, msgs, 119)
	require.Equal(t, &gluster.SigninRequest{Brick: "/tmp/gbrick/b1", Port: 49891, PID: 19226}, in)
	_, inRsp := frame[*gluster.SigninReply](t, msgs, 120)
	require.Equal(t, &gluster.SigninReply{}, inRsp)

	// The client's retry loop: PORTBYBRICK fails until the bricks sign in again.
	var failed, found []int32
	for _, m := range msgs {
		if r, ok := m.body.(*gluster.PortByBrickReply); ok {
			if r.OpRet == -1 {
				failed = append(failed, r.Port)
			} else {
				found = append(found, r.Port)
			}
		}
	}
	require.Len(t, failed, 6)
	require.ElementsMatch(t, []int32{49891, 51941}, found)
}

func TestFixtureCallbacks(t *testing.T) {
	msgs := byFrame(t, "volfile-change-callbacks.pcap")
	var fetch []*message
	for _, m := range msgs {
		if c := m.msg.Call; c != nil && c.Program == gluster.CallbackProgram {
			require.Equal(t, sunrpc.OpaqueAuth{Flavor: sunrpc.AuthNull, Body: []byte{}}, c.Cred)
			if c.Procedure == gluster.CallbackProcFetchSpec {
				fetch = append(fetch, m)
			}
		}
	}
	require.Len(t, fetch, 6, "FETCHSPEC to 3 connections, twice")
	require.Equal(t, uint32(1), msgs[1].call.XID)
	require.Empty(t, msgs[1].call.Args)

	m, sd := frame[*gluster.StatedumpRequest](t, msgs, 91)
	require.Equal(t, uint32(3), m.call.XID)
	require.Equal(t, uint32(11127), sd.PID)
}

func TestFixtureGfapiVolumeID(t *testing.T) {
	msgs := byFrame(t, "gfapi-volumeid.pcap")
	_, spec := frame[*gluster.GetSpecRequest](t, msgs, 4)
	require.Equal(t, "gv0", spec.Key)

	_, req := frame[*gluster.GetVolumeInfoRequest](t, msgs, 42)
	flags, err := req.Dict.GetInt("flags")
	require.NoError(t, err)
	require.EqualValues(t, 1, flags)
	vol, _ := req.Dict.GetString("volname")
	require.Equal(t, "gv0", vol)

	_, rsp := frame[*gluster.GetVolumeInfoReply](t, msgs, 43)
	require.Zero(t, rsp.OpRet)
	require.EqualValues(t, 2, rsp.OpErrno, "glusterd's success reply carries ENOENT")
	id, ok := rsp.Dict.Get("volume_id")
	require.True(t, ok)
	require.Equal(t, []byte("95ab5a72-9a82-4631-ad48-56b5d7c293c4\x00"), id)
}

func TestFixtureGetSpecENOENT(t *testing.T) {
	msgs := byFrame(t, "getspec-enoent.pcap")
	_, rsp := frame[*gluster.GetSpecReply](t, msgs, 6)
	require.Equal(t, &gluster.GetSpecReply{OpRet: -1, OpErrno: 2}, rsp)
}
