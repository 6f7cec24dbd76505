package sunrpc_test

import (
	"bytes"
	"testing"

	"github.com/glusterd-ng/glusterd-ng/libs/sunrpc"
)

const fuzzMaxRecord = 4096

func FuzzReadRecord(f *testing.F) {
	for _, r := range fixtureRecords(f) {
		if len(r.Raw) <= fuzzMaxRecord {
			f.Add(r.Raw)
		}
	}
	f.Add([]byte{0, 0, 0, 2, 'a', 'b', 0x80, 0, 0, 1, 'c'})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		rr := sunrpc.NewRecordReader(bytes.NewReader(data), fuzzMaxRecord)
		total := 0
		for {
			rec, err := rr.ReadRecord()
			if err != nil {
				break
			}
			if len(rec) > fuzzMaxRecord {
				t.Fatalf("record of %d bytes over the %d limit", len(rec), fuzzMaxRecord)
			}
			total += len(rec)
		}
		if total > len(data) {
			t.Fatalf("read %d payload bytes from %d input bytes", total, len(data))
		}
		if len(data) >= 4 && data[0]&0x80 != 0 {
			rec, err := sunrpc.NewRecordReader(bytes.NewReader(data), fuzzMaxRecord).ReadRecord()
			if err == nil {
				raw, err := sunrpc.AppendRecord(nil, rec)
				if err != nil || !bytes.Equal(raw, data[:len(raw)]) {
					t.Fatalf("single-fragment record does not re-encode: %v", err)
				}
			}
		}
	})
}

func FuzzDecodeMessage(f *testing.F) {
	for _, r := range fixtureRecords(f) {
		f.Add(r.Payload)
	}
	f.Add(sunrpc.NewProgMismatchReply(testCall(), 1, 2).Marshal())
	f.Add(sunrpc.NewRPCMismatchReply(testCall()).Marshal())
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := sunrpc.DecodeMessage(data)
		if err != nil {
			return
		}
		if got := m.Marshal(); !bytes.Equal(got, data) {
			t.Fatalf("re-encoding differs:\n in %x\nout %x", data, got)
		}
		if c := m.Call; c != nil {
			if len(c.Cred.Body) > sunrpc.MaxAuthBodySize || len(c.Verf.Body) > sunrpc.MaxAuthBodySize {
				t.Fatal("auth body over limit")
			}
			checkAuthRoundTrip(t, c.Cred.Body)
		}
	})
}

func FuzzParseAuth(f *testing.F) {
	for _, r := range fixtureRecords(f) {
		if m, err := sunrpc.DecodeMessage(r.Payload); err == nil && m.Call != nil {
			f.Add(m.Call.Cred.Body)
		}
	}
	f.Add((&sunrpc.AuthUnixParams{MachineName: "vm", GIDs: []uint32{1}}).Marshal())
	f.Fuzz(func(t *testing.T, body []byte) {
		checkAuthRoundTrip(t, body)
	})
}

// checkAuthRoundTrip tries every structured credential parser on body; any
// that accepts it must re-encode it byte-identically.
func checkAuthRoundTrip(t *testing.T, body []byte) {
	t.Helper()
	if p, err := sunrpc.ParseAuthGlusterFSv2(body); err == nil && !bytes.Equal(p.Marshal(), body) {
		t.Fatalf("AUTH_GLUSTERFS_v2 re-encoding differs for %x", body)
	}
	if p, err := sunrpc.ParseAuthGlusterFSv3(body); err == nil && !bytes.Equal(p.Marshal(), body) {
		t.Fatalf("AUTH_GLUSTERFS_v3 re-encoding differs for %x", body)
	}
	if p, err := sunrpc.ParseAuthUnix(body); err == nil && !bytes.Equal(p.Marshal(), body) {
		t.Fatalf("AUTH_UNIX re-encoding differs for %x", body)
	}
}
