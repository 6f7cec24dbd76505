package gluster_test

import (
	"bytes"
	"testing"

	"github.com/glusterd-ng/glusterd-ng/libs/sunrpc/gluster"
	"github.com/glusterd-ng/glusterd-ng/libs/sunrpc/internal/pcaptest"
)

// seedBodies adds every fixture body of program prog to f as (proc, reply, bytes).
func seedBodies(f *testing.F, prog uint32) {
	for _, path := range pcaptest.Captures(f) {
		for _, m := range loadMgmt(f, path) {
			if m.call.Program != prog {
				continue
			}
			if m.msg.Call != nil {
				f.Add(m.call.Procedure, false, m.msg.Call.Args)
			} else {
				f.Add(m.call.Procedure, true, m.msg.Reply.Results)
			}
		}
	}
}

// fuzzBody decodes data as the call or reply body of prog/vers/proc; an
// accepted body must re-encode to the same bytes.
func fuzzBody(t *testing.T, prog, vers, proc uint32, reply bool, data []byte) {
	if !reply {
		checkFastDecoders(t, prog, proc, data)
	}
	var b gluster.Body
	if reply {
		b = gluster.NewReplyBody(prog, vers, proc)
	} else {
		b = gluster.NewCallBody(prog, vers, proc)
	}
	if b == nil || b.Unmarshal(data) != nil {
		return
	}
	if got := b.Marshal(); !bytes.Equal(got, data) {
		t.Fatalf("prog %d proc %d reply=%v: re-encoding differs:\n in %x\nout %x", prog, proc, reply, data, got)
	}
}

// checkFastDecoders checks that the allocation-free request decoders accept
// exactly what Unmarshal accepts, with the same result.
func checkFastDecoders(t *testing.T, prog, proc uint32, data []byte) {
	var (
		want, got string
		err, ferr error
	)
	switch {
	case prog == gluster.HandshakeProgram && proc == gluster.HandshakeProcGetSpec:
		var r gluster.GetSpecRequest
		err, want = r.Unmarshal(data), r.Key
		var key []byte
		key, ferr = gluster.DecodeGetSpecKey(data)
		got = string(key)
	case prog == gluster.PortmapProgram && proc == gluster.PortmapProcPortByBrick:
		var r gluster.PortByBrickRequest
		err, want = r.Unmarshal(data), r.Brick
		var brick []byte
		brick, ferr = gluster.DecodePortByBrickBrick(data)
		got = string(brick)
	default:
		return
	}
	if (err == nil) != (ferr == nil) || (err == nil && got != want) {
		t.Fatalf("prog %d proc %d: Unmarshal gives %q, %v; the allocation-free decoder %q, %v (input %x)", prog, proc, want, err, got, ferr, data)
	}
}

func FuzzDumpBody(f *testing.F) {
	seedBodies(f, gluster.DumpProgram)
	f.Fuzz(func(t *testing.T, proc uint32, reply bool, data []byte) {
		fuzzBody(t, gluster.DumpProgram, gluster.DumpVersion, proc%4, reply, data)
	})
}

func FuzzHandshakeBody(f *testing.F) {
	seedBodies(f, gluster.HandshakeProgram)
	f.Add(uint32(5), false, (&gluster.EventNotifyRequest{Dict: dictOf("status", "3")}).Marshal())
	f.Add(uint32(5), true, (&gluster.EventNotifyReply{}).Marshal())
	f.Add(uint32(7), true, (&gluster.GetSnapshotInfoReply{OpRet: -1, OpErrstr: "no snaps"}).Marshal())
	f.Fuzz(func(t *testing.T, proc uint32, reply bool, data []byte) {
		fuzzBody(t, gluster.HandshakeProgram, gluster.HandshakeVersion, proc%8, reply, data)
	})
}

func FuzzPortmapBody(f *testing.F) {
	seedBodies(f, gluster.PortmapProgram)
	f.Add(uint32(2), false, (&gluster.BrickByPortRequest{Port: 49152}).Marshal())
	f.Add(uint32(2), true, (&gluster.BrickByPortReply{Brick: "/tmp/gbrick/b1"}).Marshal())
	f.Fuzz(func(t *testing.T, proc uint32, reply bool, data []byte) {
		fuzzBody(t, gluster.PortmapProgram, gluster.PortmapVersion, proc%6, reply, data)
	})
}

func FuzzCallbackBody(f *testing.F) {
	seedBodies(f, gluster.CallbackProgram)
	f.Fuzz(func(t *testing.T, proc uint32, reply bool, data []byte) {
		fuzzBody(t, gluster.CallbackProgram, gluster.CallbackVersion, proc%10, reply, data)
	})
}

func FuzzDecodeDict(f *testing.F) {
	for _, path := range pcaptest.Captures(f) {
		for _, m := range loadMgmt(f, path) {
			switch b := m.body.(type) {
			case *gluster.GetSpecRequest:
				f.Add(b.Xdata.Marshal())
			case *gluster.GetVolumeInfoRequest:
				f.Add(b.Dict.Marshal())
			case *gluster.GetVolumeInfoReply:
				f.Add(b.Dict.Marshal())
			}
		}
	}
	f.Add([]byte{0, 0, 0, 0})
	f.Add([]byte{0x7f, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := gluster.DecodeDict(data)
		if err != nil {
			return
		}
		if d.Len() > gluster.MaxDictPairs {
			t.Fatalf("%d pairs over the limit", d.Len())
		}
		if got := d.Marshal(); !bytes.Equal(got, data) {
			t.Fatalf("re-encoding differs:\n in %x\nout %x", data, got)
		}
	})
}
