package xdr_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/glusterd-ng/glusterd-ng/libs/sunrpc/xdr"
)

func TestRoundTrip(t *testing.T) {
	e := xdr.NewEncoder(nil)
	e.Uint32(0xdeadbeef)
	e.Int32(-1)
	e.Uint64(0x0102030405060708)
	e.Int64(-2)
	e.Bool(true)
	e.Bool(false)
	e.Opaque([]byte{1, 2, 3})
	e.FixedOpaque([]byte{9, 8, 7, 6, 5})
	e.String("gv0")
	e.String("")
	e.Uint32Array([]uint32{4, 5})
	require.Equal(t, 4+4+8+8+4+4+(4+4)+8+(4+4)+4+(4+8), e.Len())

	d := xdr.NewDecoder(e.Bytes())
	u, err := d.Uint32()
	require.NoError(t, err)
	require.Equal(t, uint32(0xdeadbeef), u)
	i, err := d.Int32()
	require.NoError(t, err)
	require.EqualValues(t, -1, i)
	h, err := d.Uint64()
	require.NoError(t, err)
	require.Equal(t, uint64(0x0102030405060708), h)
	sh, err := d.Int64()
	require.NoError(t, err)
	require.EqualValues(t, -2, sh)
	b1, err := d.Bool()
	require.NoError(t, err)
	require.True(t, b1)
	b2, err := d.Bool()
	require.NoError(t, err)
	require.False(t, b2)
	o, err := d.Opaque(3)
	require.NoError(t, err)
	require.Equal(t, []byte{1, 2, 3}, o)
	f, err := d.FixedOpaque(5)
	require.NoError(t, err)
	require.Equal(t, []byte{9, 8, 7, 6, 5}, f)
	s, err := d.String(16)
	require.NoError(t, err)
	require.Equal(t, "gv0", s)
	s, err = d.String(0)
	require.NoError(t, err)
	require.Empty(t, s)
	a, err := d.Uint32Array(2)
	require.NoError(t, err)
	require.Equal(t, []uint32{4, 5}, a)
	require.NoError(t, d.Done())
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		decode  func(d *xdr.Decoder) error
		wantErr error
	}{
		{"short uint32", []byte{0, 0, 1}, func(d *xdr.Decoder) error { _, err := d.Uint32(); return err }, xdr.ErrShort},
		{"short hyper", []byte{0, 0, 0, 0, 1}, func(d *xdr.Decoder) error { _, err := d.Uint64(); return err }, xdr.ErrShort},
		{"bad bool", []byte{0, 0, 0, 2}, func(d *xdr.Decoder) error { _, err := d.Bool(); return err }, xdr.ErrBool},
		{"opaque over max", []byte{0, 0, 0, 5, 1, 2, 3, 4, 5, 0, 0, 0}, func(d *xdr.Decoder) error { _, err := d.Opaque(4); return err }, xdr.ErrTooLong},
		{"huge opaque", []byte{0xff, 0xff, 0xff, 0xff}, func(d *xdr.Decoder) error { _, err := d.Opaque(1 << 30); return err }, xdr.ErrTooLong},
		{"opaque past end", []byte{0, 0, 0, 8, 1, 2}, func(d *xdr.Decoder) error { _, err := d.Opaque(64); return err }, xdr.ErrShort},
		{"missing padding", []byte{0, 0, 0, 1, 'a'}, func(d *xdr.Decoder) error { _, err := d.String(64); return err }, xdr.ErrShort},
		{"non-zero padding", []byte{0, 0, 0, 1, 'a', 0, 1, 0}, func(d *xdr.Decoder) error { _, err := d.String(64); return err }, xdr.ErrPadding},
		{"array over max", []byte{0, 0, 0, 3}, func(d *xdr.Decoder) error { _, err := d.Uint32Array(2); return err }, xdr.ErrTooLong},
		{"array beyond data", []byte{0, 0, 0, 2, 0, 0, 0, 1}, func(d *xdr.Decoder) error { _, err := d.Uint32Array(1 << 20); return err }, xdr.ErrShort},
		{"trailing", []byte{0, 0, 0, 1, 0}, func(d *xdr.Decoder) error {
			if _, err := d.Uint32(); err != nil {
				return err
			}
			return d.Done()
		}, xdr.ErrTrailing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.ErrorIs(t, tt.decode(xdr.NewDecoder(tt.in)), tt.wantErr)
		})
	}
}

func TestPad(t *testing.T) {
	for n, want := range []int{0, 3, 2, 1, 0, 3} {
		require.Equal(t, want, xdr.Pad(n))
	}
}
