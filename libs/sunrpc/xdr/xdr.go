// Package xdr encodes and decodes XDR (RFC 4506) data with a length limit on
// every variable-length item, so a hostile peer cannot make us allocate
// without bound.
//
// The Decoder is strict so that anything it accepts re-encodes to the same
// bytes: padding bytes must be zero and booleans must be 0 or 1. Decoded
// opaque values alias the input buffer; strings are copied.
package xdr

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Errors returned by the Decoder; wrapped with the field being decoded.
var (
	// ErrShort is input that ends before the item being decoded.
	ErrShort = errors.New("xdr: input too short")
	// ErrTooLong is a variable-length item over its declared maximum.
	ErrTooLong = errors.New("xdr: length over limit")
	// ErrPadding is a padding byte that is not zero.
	ErrPadding = errors.New("xdr: non-zero padding")
	// ErrBool is a boolean other than 0 or 1.
	ErrBool = errors.New("xdr: invalid boolean")
	// ErrTrailing is input left over after the last item of a message.
	ErrTrailing = errors.New("xdr: trailing bytes")
)

// Pad returns the number of zero bytes that follow n bytes of opaque data.
func Pad(n int) int { return (4 - n%4) % 4 }

// Encoder appends XDR items to a byte slice.
type Encoder struct {
	buf []byte
}

// NewEncoder returns an Encoder that appends to buf (which may be nil).
func NewEncoder(buf []byte) *Encoder { return &Encoder{buf: buf} }

// Bytes returns the encoded bytes.
func (e *Encoder) Bytes() []byte { return e.buf }

// Len returns the number of bytes encoded so far.
func (e *Encoder) Len() int { return len(e.buf) }

// Uint32 appends an unsigned int.
func (e *Encoder) Uint32(v uint32) { e.buf = binary.BigEndian.AppendUint32(e.buf, v) }

// Int32 appends a signed int.
func (e *Encoder) Int32(v int32) { e.Uint32(uint32(v)) }

// Uint64 appends an unsigned hyper.
func (e *Encoder) Uint64(v uint64) { e.buf = binary.BigEndian.AppendUint64(e.buf, v) }

// Int64 appends a (signed) hyper.
func (e *Encoder) Int64(v int64) { e.Uint64(uint64(v)) }

// Bool appends a boolean as 0 or 1.
func (e *Encoder) Bool(v bool) {
	if v {
		e.Uint32(1)
		return
	}
	e.Uint32(0)
}

// FixedOpaque appends opaque[n] data: the bytes and their zero padding.
func (e *Encoder) FixedOpaque(b []byte) {
	e.buf = append(e.buf, b...)
	e.buf = append(e.buf, make([]byte, Pad(len(b)))...)
}

// Opaque appends opaque<> data: the length, the bytes and their zero padding.
func (e *Encoder) Opaque(b []byte) {
	e.Uint32(uint32(len(b)))
	e.FixedOpaque(b)
}

// String appends a string: the length, the bytes and their zero padding.
func (e *Encoder) String(s string) {
	e.Uint32(uint32(len(s)))
	e.buf = append(e.buf, s...)
	e.buf = append(e.buf, make([]byte, Pad(len(s)))...)
}

// Uint32Array appends an unsigned int<> array: the count and the values.
func (e *Encoder) Uint32Array(v []uint32) {
	e.Uint32(uint32(len(v)))
	for _, x := range v {
		e.Uint32(x)
	}
}

// Raw appends bytes without a length or padding (already-encoded XDR).
func (e *Encoder) Raw(b []byte) { e.buf = append(e.buf, b...) }

// Decoder reads XDR items from a byte slice.
type Decoder struct {
	buf []byte
	off int
}

// NewDecoder returns a Decoder reading buf from its start.
func NewDecoder(buf []byte) *Decoder { return &Decoder{buf: buf} }

// Remaining returns the number of bytes not yet decoded.
func (d *Decoder) Remaining() int { return len(d.buf) - d.off }

// Offset returns the number of bytes decoded so far.
func (d *Decoder) Offset() int { return d.off }

// Rest returns the bytes not yet decoded and marks them as consumed.
func (d *Decoder) Rest() []byte {
	b := d.buf[d.off:]
	d.off = len(d.buf)
	return b
}

// Done returns ErrTrailing if bytes remain undecoded.
func (d *Decoder) Done() error {
	if n := d.Remaining(); n != 0 {
		return fmt.Errorf("%w: %d bytes at offset %d", ErrTrailing, n, d.off)
	}
	return nil
}

func (d *Decoder) take(n int) ([]byte, error) {
	if n < 0 || n > d.Remaining() {
		return nil, fmt.Errorf("%w: need %d bytes at offset %d, have %d", ErrShort, n, d.off, d.Remaining())
	}
	b := d.buf[d.off : d.off+n]
	d.off += n
	return b, nil
}

// Uint32 reads an unsigned int.
func (d *Decoder) Uint32() (uint32, error) {
	b, err := d.take(4)
	if err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint32(b), nil
}

// Int32 reads a signed int.
func (d *Decoder) Int32() (int32, error) {
	v, err := d.Uint32()
	return int32(v), err
}

// Uint64 reads an unsigned hyper.
func (d *Decoder) Uint64() (uint64, error) {
	b, err := d.take(8)
	if err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint64(b), nil
}

// Int64 reads a (signed) hyper.
func (d *Decoder) Int64() (int64, error) {
	v, err := d.Uint64()
	return int64(v), err
}

// Bool reads a boolean, refusing values other than 0 and 1.
func (d *Decoder) Bool() (bool, error) {
	v, err := d.Uint32()
	if err != nil {
		return false, err
	}
	switch v {
	case 0:
		return false, nil
	case 1:
		return true, nil
	default:
		return false, fmt.Errorf("%w: %d at offset %d", ErrBool, v, d.off-4)
	}
}

// FixedOpaque reads opaque[n] data and its padding; the result aliases the input.
func (d *Decoder) FixedOpaque(n int) ([]byte, error) {
	b, err := d.take(n)
	if err != nil {
		return nil, err
	}
	pad, err := d.take(Pad(n))
	if err != nil {
		return nil, err
	}
	for _, c := range pad {
		if c != 0 {
			return nil, fmt.Errorf("%w at offset %d", ErrPadding, d.off-len(pad))
		}
	}
	return b, nil
}

// Length reads a u32 length or count and checks it against max.
func (d *Decoder) Length(max int) (int, error) {
	n, err := d.Uint32()
	if err != nil {
		return 0, err
	}
	if uint64(n) > uint64(max) || n > math.MaxInt32 {
		return 0, fmt.Errorf("%w: %d > %d at offset %d", ErrTooLong, n, max, d.off-4)
	}
	return int(n), nil
}

// Opaque reads opaque<max> data; the result aliases the input.
func (d *Decoder) Opaque(max int) ([]byte, error) {
	n, err := d.Length(max)
	if err != nil {
		return nil, err
	}
	return d.FixedOpaque(n)
}

// String reads a string<max>.
func (d *Decoder) String(max int) (string, error) {
	b, err := d.Opaque(max)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// ArrayLen reads the count of a variable-length array of at most max
// elements, each at least elemSize bytes, and checks that the input can hold
// them before the caller allocates.
func (d *Decoder) ArrayLen(max, elemSize int) (int, error) {
	n, err := d.Length(max)
	if err != nil {
		return 0, err
	}
	if elemSize > 0 && n > d.Remaining()/elemSize {
		return 0, fmt.Errorf("%w: %d elements of %d bytes, %d bytes left", ErrShort, n, elemSize, d.Remaining())
	}
	return n, nil
}

// Uint32Array reads an unsigned int<max> array.
func (d *Decoder) Uint32Array(max int) ([]uint32, error) {
	n, err := d.ArrayLen(max, 4)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, nil
	}
	v := make([]uint32, n)
	for i := range v {
		if v[i], err = d.Uint32(); err != nil {
			return nil, err
		}
	}
	return v, nil
}
