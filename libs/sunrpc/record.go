package sunrpc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
)

// DefaultMaxRecordSize is the record size limit used when none is configured.
const DefaultMaxRecordSize = 8 << 20

// MaxFragmentSize is the largest fragment the record-marking header can describe.
const MaxFragmentSize = 1<<31 - 1

// lastFragment is bit 31 of the record-marking header.
const lastFragment = 1 << 31

// readChunk bounds how much memory a record read commits ahead of the data
// actually arriving, so a peer that announces a large fragment and then
// stalls costs little.
const readChunk = 64 << 10

// ErrRecordTooLarge is a record whose fragments add up to more than the limit.
var ErrRecordTooLarge = errors.New("sunrpc: record too large")

// RecordReader reads RPC records (RFC 5531 §11 record marking) from a stream.
type RecordReader struct {
	r       io.Reader
	maxSize int
	hdr     [4]byte
}

// NewRecordReader returns a RecordReader that refuses records over maxSize
// bytes; maxSize <= 0 means DefaultMaxRecordSize.
func NewRecordReader(r io.Reader, maxSize int) *RecordReader {
	if maxSize <= 0 {
		maxSize = DefaultMaxRecordSize
	}
	return &RecordReader{r: r, maxSize: maxSize}
}

// ReadRecord reads fragments up to and including the last one and returns
// their joined payload in a new slice. It returns io.EOF only when the stream
// ends cleanly between records, and io.ErrUnexpectedEOF inside one.
func (rr *RecordReader) ReadRecord() ([]byte, error) {
	return rr.ReadRecordInto(nil)
}

// ReadRecordInto is ReadRecord reading the payload into buf's storage
// (from buf[:0]), growing it as the data arrives: a reader that hands back
// the previous record's slice reads records without allocating. The result
// may be buf's storage, so it is valid until buf is used again.
func (rr *RecordReader) ReadRecordInto(buf []byte) ([]byte, error) {
	rec := buf[:0]
	for first := true; ; first = false {
		if _, err := io.ReadFull(rr.r, rr.hdr[:]); err != nil {
			if err == io.EOF && first {
				return nil, io.EOF
			}
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, fmt.Errorf("read record marker: %w", err)
		}
		h := binary.BigEndian.Uint32(rr.hdr[:])
		n := int(h &^ lastFragment)
		if n > rr.maxSize-len(rec) {
			return nil, fmt.Errorf("%w: %d + %d bytes > %d", ErrRecordTooLarge, len(rec), n, rr.maxSize)
		}
		var err error
		if rec, err = readN(rr.r, rec, n); err != nil {
			return nil, fmt.Errorf("read record fragment of %d bytes: %w", n, err)
		}
		if h&lastFragment != 0 {
			if rec == nil {
				rec = []byte{}
			}
			return rec, nil
		}
	}
}

// readN appends exactly n bytes from r to buf, growing buf no faster than the
// data arrives.
func readN(r io.Reader, buf []byte, n int) ([]byte, error) {
	for n > 0 {
		c := min(n, readChunk)
		start := len(buf)
		buf = slices.Grow(buf, c)[:start+c]
		if _, err := io.ReadFull(r, buf[start:]); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		n -= c
	}
	return buf, nil
}

// PutRecordMarker writes into hdr (4 bytes) the record-marking header of a
// record that is one last fragment of n bytes.
func PutRecordMarker(hdr []byte, n int) error {
	if n > MaxFragmentSize {
		return fmt.Errorf("%w: %d bytes in one fragment", ErrRecordTooLarge, n)
	}
	binary.BigEndian.PutUint32(hdr, lastFragment|uint32(n))
	return nil
}

// AppendRecord appends payload to dst as one last fragment with its
// record-marking header, as GlusterFS sends every message.
func AppendRecord(dst, payload []byte) ([]byte, error) {
	if len(payload) > MaxFragmentSize {
		return nil, fmt.Errorf("%w: %d bytes in one fragment", ErrRecordTooLarge, len(payload))
	}
	dst = binary.BigEndian.AppendUint32(dst, lastFragment|uint32(len(payload)))
	return append(dst, payload...), nil
}

// WriteRecord writes payload as one record in a single Write call.
// A writer that sends many records appends them into a buffer it keeps
// (AppendRecord, or a header placeholder patched by PutRecordMarker) instead.
func WriteRecord(w io.Writer, payload []byte) error {
	b, err := AppendRecord(make([]byte, 0, 4+len(payload)), payload)
	if err != nil {
		return err
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("write record of %d bytes: %w", len(payload), err)
	}
	return nil
}
