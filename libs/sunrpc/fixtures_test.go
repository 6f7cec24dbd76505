package sunrpc_test

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/glusterd-ng/glusterd-ng/libs/sunrpc"
	"github.com/glusterd-ng/glusterd-ng/libs/sunrpc/internal/pcaptest"
)

// fixtureRecords returns every RPC record of every capture: the management
// port's and, in the *-full captures, the brick connections'.
func fixtureRecords(tb testing.TB) []pcaptest.Record {
	tb.Helper()
	var out []pcaptest.Record
	for _, path := range pcaptest.Captures(tb) {
		streams, err := pcaptest.Streams(path)
		require.NoError(tb, err)
		for _, s := range streams {
			if len(s.Data) == 0 {
				continue
			}
			require.Zero(tb, s.Gaps, "%s %s->%s", filepath.Base(path), s.Src, s.Dst)
			recs, err := pcaptest.SplitRecords(s)
			require.NoError(tb, err, filepath.Base(path))
			out = append(out, recs...)
		}
	}
	return out
}

// TestFixturesAllStreams checks the RPC layer on every record of every TCP
// stream, including brick FOP traffic, which carries AUTH_GLUSTERFS_v3.
func TestFixturesAllStreams(t *testing.T) {
	recs := fixtureRecords(t)
	flavours := map[sunrpc.AuthFlavor]int{}
	var stream bytes.Buffer
	for _, r := range recs {
		stream.Write(r.Raw)
		m, err := sunrpc.DecodeMessage(r.Payload)
		require.NoError(t, err, "frame %d", r.Frame)
		require.Equal(t, r.Payload, m.Marshal(), "frame %d", r.Frame)
		if c := m.Call; c != nil {
			flavours[c.Cred.Flavor]++
			switch c.Cred.Flavor {
			case sunrpc.AuthGlusterFSv3:
				p, err := sunrpc.ParseAuthGlusterFSv3(c.Cred.Body)
				require.NoError(t, err, "frame %d", r.Frame)
				require.Equal(t, c.Cred.Body, p.Marshal())
			case sunrpc.AuthGlusterFSv2:
				p, err := sunrpc.ParseAuthGlusterFSv2(c.Cred.Body)
				require.NoError(t, err, "frame %d", r.Frame)
				require.Equal(t, c.Cred.Body, p.Marshal())
			}
		}
	}
	t.Logf("%d records; call credential flavours: %v", len(recs), flavours)
	require.Positive(t, flavours[sunrpc.AuthGlusterFSv3], "the *-full captures carry AUTH_GLUSTERFS_v3 calls")

	// The concatenation of all records reads back record by record.
	rr := sunrpc.NewRecordReader(&stream, 0)
	for _, r := range recs {
		got, err := rr.ReadRecord()
		require.NoError(t, err)
		require.Equal(t, r.Payload, got)
	}
	_, err := rr.ReadRecord()
	require.ErrorIs(t, err, errEOF)
}
