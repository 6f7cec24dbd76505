package sunrpc_test

import (
	"bytes"
	"encoding/binary"
	"io"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/glusterd-ng/glusterd-ng/libs/sunrpc"
)

var errEOF = io.EOF

func frag(last bool, payload string) []byte {
	h := uint32(len(payload))
	if last {
		h |= 1 << 31
	}
	return append(binary.BigEndian.AppendUint32(nil, h), payload...)
}

func TestReadRecord(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		max     int
		want    []string
		wantErr error
	}{
		{name: "one fragment", in: frag(true, "abcd"), want: []string{"abcd"}},
		{name: "three fragments", in: bytes.Join([][]byte{frag(false, "ab"), frag(false, ""), frag(true, "cd")}, nil), want: []string{"abcd"}},
		{name: "two records", in: append(frag(true, "ab"), frag(true, "cdef")...), want: []string{"ab", "cdef"}},
		{name: "empty record", in: frag(true, ""), want: []string{""}},
		{name: "at limit", in: frag(true, "abcd"), max: 4, want: []string{"abcd"}},
		{name: "fragment over limit", in: frag(true, "abcde"), max: 4, wantErr: sunrpc.ErrRecordTooLarge},
		{name: "fragments over limit", in: append(frag(false, "abc"), frag(true, "de")...), max: 4, wantErr: sunrpc.ErrRecordTooLarge},
		{name: "truncated marker", in: []byte{0x80, 0}, wantErr: io.ErrUnexpectedEOF},
		{name: "truncated payload", in: frag(true, "abcd")[:6], wantErr: io.ErrUnexpectedEOF},
		{name: "missing last fragment", in: frag(false, "abcd"), wantErr: io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rr := sunrpc.NewRecordReader(bytes.NewReader(tt.in), tt.max)
			for _, w := range tt.want {
				got, err := rr.ReadRecord()
				require.NoError(t, err)
				require.Equal(t, []byte(w), got)
			}
			_, err := rr.ReadRecord()
			if tt.wantErr == nil {
				require.Equal(t, io.EOF, err)
				return
			}
			require.ErrorIs(t, err, tt.wantErr)
		})
	}
}

func TestWriteRecord(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, sunrpc.WriteRecord(&buf, []byte("hello")))
	require.Equal(t, frag(true, "hello"), buf.Bytes())
}

// TestReadRecordAllocation checks that announcing a huge fragment costs
// nothing, and announcing a large one that never arrives costs little.
func TestReadRecordAllocation(t *testing.T) {
	measure := func(in []byte, max int) (uint64, error) {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, err := sunrpc.NewRecordReader(bytes.NewReader(in), max).ReadRecord()
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc, err
	}
	n, err := measure([]byte{0xff, 0xff, 0xff, 0xff, 1, 2, 3}, 0)
	require.ErrorIs(t, err, sunrpc.ErrRecordTooLarge)
	require.Less(t, n, uint64(64<<10))

	n, err = measure(append([]byte{0x80, 0x7f, 0xff, 0xff}, make([]byte, 10)...), 16<<20)
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	require.Less(t, n, uint64(1<<20), "an 8 MiB fragment with 10 bytes behind it must not allocate 8 MiB")
}
