package gluster

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
)

// Limits of the dict decoder.
const (
	// MaxDictPairs caps the number of pairs in one dict.
	MaxDictPairs = 4096
	// MaxDictKeyLen caps a key's length.
	MaxDictKeyLen = 4096
	// MaxDictValueLen caps a value's length (values also fit in MaxDictLen).
	MaxDictValueLen = MaxDictLen
)

// dictPairHdr is keylen + vallen + the key's NUL: the smallest pair.
const dictPairHdr = 9

// ErrBadDict is bytes that are not a valid gluster dict.
var ErrBadDict = errors.New("gluster: malformed dict")

// Pair is one key/value of a gluster dict. Values carry no type on the wire:
// strings and decimal integers include their trailing NUL.
type Pair struct {
	// Key is the key without its NUL terminator.
	Key string
	// Value is the value bytes exactly as sent.
	Value []byte
}

// Dict is a gluster dict (dict_serialize in libglusterfs/src/dict.c) as an
// ordered list of pairs, kept in wire order so re-encoding is byte-identical.
type Dict struct {
	// Pairs are the pairs in wire order.
	Pairs []Pair
	// CountOnly records an empty dict sent as a 4-byte zero count rather than
	// as a zero-length opaque (both are valid; glusterd sends the latter).
	CountOnly bool
}

// DecodeDict decodes the bytes of a dict opaque. It refuses negative or
// oversized lengths, a key terminator that is not NUL and trailing bytes.
func DecodeDict(b []byte) (Dict, error) {
	var d Dict
	count, err := walkDict(b, func(count int, key, value []byte) {
		if d.Pairs == nil {
			d.Pairs = make([]Pair, 0, count)
		}
		d.Pairs = append(d.Pairs, Pair{Key: string(key), Value: value})
	})
	if err != nil {
		return Dict{}, err
	}
	d.CountOnly = len(b) > 0 && count == 0
	return d, nil
}

// ValidateDict checks the bytes of a dict opaque as DecodeDict does,
// without allocating.
func ValidateDict(b []byte) error {
	_, err := walkDict(b, nil)
	return err
}

// walkDict checks the bytes of a dict opaque and calls pair, if not nil,
// for each pair in wire order (with the pair count; key and value alias b).
// It returns the pair count.
func walkDict(b []byte, pair func(count int, key, value []byte)) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	if len(b) > MaxDictLen {
		return 0, fmt.Errorf("%w: %d bytes > %d", ErrBadDict, len(b), MaxDictLen)
	}
	if len(b) < 4 {
		return 0, fmt.Errorf("%w: %d bytes, too short for the count", ErrBadDict, len(b))
	}
	count := int32(binary.BigEndian.Uint32(b))
	off := 4
	if count < 0 || count > MaxDictPairs {
		return 0, fmt.Errorf("%w: count %d out of [0, %d]", ErrBadDict, count, MaxDictPairs)
	}
	if int(count) > (len(b)-off)/dictPairHdr {
		return 0, fmt.Errorf("%w: count %d does not fit in %d bytes", ErrBadDict, count, len(b))
	}
	for i := range int(count) {
		if len(b)-off < 8 {
			return 0, fmt.Errorf("%w: pair %d header runs past the end", ErrBadDict, i)
		}
		keylen := int32(binary.BigEndian.Uint32(b[off:]))
		vallen := int32(binary.BigEndian.Uint32(b[off+4:]))
		off += 8
		if keylen < 0 || keylen > MaxDictKeyLen || vallen < 0 || vallen > MaxDictValueLen {
			return 0, fmt.Errorf("%w: pair %d keylen %d vallen %d", ErrBadDict, i, keylen, vallen)
		}
		need := int(keylen) + 1 + int(vallen)
		if need > len(b)-off {
			return 0, fmt.Errorf("%w: pair %d needs %d bytes, %d left", ErrBadDict, i, need, len(b)-off)
		}
		key := b[off : off+int(keylen)]
		if b[off+int(keylen)] != 0 {
			return 0, fmt.Errorf("%w: pair %d key not NUL-terminated", ErrBadDict, i)
		}
		off += int(keylen) + 1
		if pair != nil {
			pair(int(count), key, b[off:off+int(vallen)])
		}
		off += int(vallen)
	}
	if off != len(b) {
		return 0, fmt.Errorf("%w: %d trailing bytes", ErrBadDict, len(b)-off)
	}
	return int(count), nil
}

// Marshal encodes the dict; an empty dict without CountOnly encodes to no bytes.
func (d Dict) Marshal() []byte {
	if len(d.Pairs) == 0 && !d.CountOnly {
		return nil
	}
	n := 4
	for _, p := range d.Pairs {
		n += dictPairHdr + len(p.Key) + len(p.Value)
	}
	b := make([]byte, 0, n)
	b = binary.BigEndian.AppendUint32(b, uint32(len(d.Pairs)))
	for _, p := range d.Pairs {
		b = binary.BigEndian.AppendUint32(b, uint32(len(p.Key)))
		b = binary.BigEndian.AppendUint32(b, uint32(len(p.Value)))
		b = append(b, p.Key...)
		b = append(b, 0)
		b = append(b, p.Value...)
	}
	return b
}

// Len returns the number of pairs.
func (d Dict) Len() int { return len(d.Pairs) }

// Get returns the value of the first pair named key.
func (d Dict) Get(key string) ([]byte, bool) {
	for _, p := range d.Pairs {
		if p.Key == key {
			return p.Value, true
		}
	}
	return nil, false
}

// GetString returns the value of key as a string without its trailing NUL.
func (d Dict) GetString(key string) (string, bool) {
	v, ok := d.Get(key)
	if !ok {
		return "", false
	}
	return string(bytes.TrimSuffix(v, []byte{0})), true
}

// GetInt returns the value of key parsed like strtol(…, 0): decimal, 0x hex or 0 octal.
func (d Dict) GetInt(key string) (int64, error) {
	s, ok := d.GetString(key)
	if !ok {
		return 0, fmt.Errorf("dict key %q: missing", key)
	}
	v, err := strconv.ParseInt(s, 0, 64)
	if err != nil {
		return 0, fmt.Errorf("dict key %q: %w", key, err)
	}
	return v, nil
}

// SetString appends key with a NUL-terminated string value, as GlusterFS sends strings.
func (d *Dict) SetString(key, value string) {
	d.Pairs = append(d.Pairs, Pair{Key: key, Value: append([]byte(value), 0)})
}

// SetInt appends key with a decimal integer value and its NUL, as GlusterFS sends integers.
func (d *Dict) SetInt(key string, value int64) {
	d.SetString(key, strconv.FormatInt(value, 10))
}

// SetBytes appends key with a raw binary value (no NUL), as GlusterFS sends UUIDs and xattrs.
func (d *Dict) SetBytes(key string, value []byte) {
	d.Pairs = append(d.Pairs, Pair{Key: key, Value: value})
}
