// Package pcaptest reads the GlusterFS packet captures used as test fixtures:
// a minimal pcap and pcapng reader, IPv4/IPv6 + TCP parsing, per-direction
// stream reassembly by sequence number, and RPC record splitting. It is used
// only by tests.
package pcaptest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// Link types this reader understands.
const (
	linkNull     = 0
	linkEthernet = 1
	linkRaw      = 101
	linkSLL      = 113
	linkSLL2     = 276
)

// Packet is one captured frame's link-layer bytes.
type Packet struct {
	// Frame is the 1-based frame number, as tshark counts.
	Frame int
	// LinkType is the capture's link-layer type.
	LinkType uint32
	// Data is the captured bytes.
	Data []byte
}

// FixtureDir returns <repo root>/../shared/fixtures/gluster-rpc, where the repo
// root is the nearest parent directory holding go.work; it fails the test if
// the directory is missing.
func FixtureDir(tb testing.TB) string {
	tb.Helper()
	wd, err := os.Getwd()
	if err != nil {
		tb.Fatalf("getwd: %v", err)
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			fx := filepath.Join(dir, "..", "shared", "fixtures", "gluster-rpc")
			if st, err := os.Stat(fx); err != nil || !st.IsDir() {
				tb.Fatalf("gluster-rpc fixtures not found at %s (expected next to the repository root %s): %v", fx, dir, err)
			}
			return fx
		}
		if filepath.Dir(dir) == dir {
			tb.Fatalf("no go.work found above %s: cannot locate ../shared/fixtures", wd)
		}
	}
}

// Captures returns the paths of every *.pcap and *.pcapng fixture, failing the test if none exist.
func Captures(tb testing.TB) []string {
	tb.Helper()
	dir := FixtureDir(tb)
	var out []string
	for _, pat := range []string{"*.pcap", "*.pcapng"} {
		m, err := filepath.Glob(filepath.Join(dir, pat))
		if err != nil {
			tb.Fatalf("glob %s: %v", pat, err)
		}
		out = append(out, m...)
	}
	sort.Strings(out)
	if len(out) == 0 {
		tb.Fatalf("no capture files in %s", dir)
	}
	return out
}

// ReadPackets reads every packet of a pcap or pcapng file.
func ReadPackets(path string) ([]Packet, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read capture: %w", err)
	}
	if len(b) < 4 {
		return nil, fmt.Errorf("%s: too short for a capture", path)
	}
	if binary.LittleEndian.Uint32(b) == 0x0a0d0d0a {
		return readPcapng(b)
	}
	return readPcap(b)
}

func readPcap(b []byte) ([]Packet, error) {
	if len(b) < 24 {
		return nil, errors.New("pcap: short global header")
	}
	var bo binary.ByteOrder
	switch binary.LittleEndian.Uint32(b) {
	case 0xa1b2c3d4, 0xa1b23c4d:
		bo = binary.LittleEndian
	case 0xd4c3b2a1, 0x4d3cb2a1:
		bo = binary.BigEndian
	default:
		return nil, fmt.Errorf("pcap: unknown magic %x", b[:4])
	}
	link := bo.Uint32(b[20:]) & 0xffff
	var out []Packet
	for off := 24; off < len(b); {
		if len(b)-off < 16 {
			return nil, errors.New("pcap: short record header")
		}
		incl := int(bo.Uint32(b[off+8:]))
		off += 16
		if incl < 0 || incl > len(b)-off {
			return nil, errors.New("pcap: record runs past the end")
		}
		out = append(out, Packet{Frame: len(out) + 1, LinkType: link, Data: b[off : off+incl]})
		off += incl
	}
	return out, nil
}

func readPcapng(b []byte) ([]Packet, error) {
	var (
		bo    binary.ByteOrder = binary.LittleEndian
		links []uint32
		out   []Packet
	)
	for off := 0; off < len(b); {
		if len(b)-off < 12 {
			return nil, errors.New("pcapng: short block")
		}
		typ := binary.LittleEndian.Uint32(b[off:])
		if typ == 0x0a0d0d0a {
			switch binary.LittleEndian.Uint32(b[off+8:]) {
			case 0x1a2b3c4d:
				bo = binary.LittleEndian
			case 0x4d3c2b1a:
				bo = binary.BigEndian
			default:
				return nil, errors.New("pcapng: bad byte-order magic")
			}
			links = nil
		}
		typ = bo.Uint32(b[off:])
		blen := int(bo.Uint32(b[off+4:]))
		if blen < 12 || blen%4 != 0 || blen > len(b)-off {
			return nil, fmt.Errorf("pcapng: bad block length %d at %d", blen, off)
		}
		body := b[off+8 : off+blen-4]
		switch typ {
		case 1: // interface description
			if len(body) < 8 {
				return nil, errors.New("pcapng: short IDB")
			}
			links = append(links, uint32(bo.Uint16(body)))
		case 6: // enhanced packet
			if len(body) < 20 {
				return nil, errors.New("pcapng: short EPB")
			}
			iface, capLen := int(bo.Uint32(body)), int(bo.Uint32(body[12:]))
			if iface >= len(links) || capLen > len(body)-20 {
				return nil, errors.New("pcapng: bad EPB")
			}
			out = append(out, Packet{Frame: len(out) + 1, LinkType: links[iface], Data: body[20 : 20+capLen]})
		case 3: // simple packet
			if len(body) < 4 || len(links) == 0 {
				return nil, errors.New("pcapng: bad SPB")
			}
			capLen := min(int(bo.Uint32(body)), len(body)-4)
			out = append(out, Packet{Frame: len(out) + 1, LinkType: links[0], Data: body[4 : 4+capLen]})
		}
		off += blen
	}
	return out, nil
}

// Segment is a TCP segment carried by a packet.
type Segment struct {
	// Frame is the packet's frame number.
	Frame int
	// Src is the sender.
	Src netip.AddrPort
	// Dst is the receiver.
	Dst netip.AddrPort
	// Seq is the sequence number.
	Seq uint32
	// SYN, ACK, FIN and RST are the TCP flags.
	SYN, ACK, FIN, RST bool
	// Payload is the TCP payload.
	Payload []byte
}

// ParseTCP extracts the TCP segment of a packet, or ok=false if it is not IPv4/IPv6 TCP.
func ParseTCP(p Packet) (seg Segment, ok bool) {
	d := p.Data
	var ethertype uint16
	switch p.LinkType {
	case linkEthernet:
		if len(d) < 14 {
			return seg, false
		}
		ethertype, d = binary.BigEndian.Uint16(d[12:]), d[14:]
		for ethertype == 0x8100 && len(d) >= 4 {
			ethertype, d = binary.BigEndian.Uint16(d[2:]), d[4:]
		}
	case linkNull:
		if len(d) < 4 {
			return seg, false
		}
		af := binary.LittleEndian.Uint32(d)
		if af > 0xffff {
			af = binary.BigEndian.Uint32(d)
		}
		d = d[4:]
		switch af {
		case 2:
			ethertype = 0x0800
		case 10, 24, 28, 30:
			ethertype = 0x86dd
		}
	case linkSLL:
		if len(d) < 16 {
			return seg, false
		}
		ethertype, d = binary.BigEndian.Uint16(d[14:]), d[16:]
	case linkSLL2:
		if len(d) < 20 {
			return seg, false
		}
		ethertype, d = binary.BigEndian.Uint16(d), d[20:]
	case linkRaw:
		if len(d) > 0 && d[0]>>4 == 6 {
			ethertype = 0x86dd
		} else {
			ethertype = 0x0800
		}
	default:
		return seg, false
	}
	var src, dst netip.Addr
	switch ethertype {
	case 0x0800:
		if len(d) < 20 || d[0]>>4 != 4 {
			return seg, false
		}
		ihl, total := int(d[0]&0xf)*4, int(binary.BigEndian.Uint16(d[2:]))
		if d[9] != 6 || ihl < 20 || total < ihl || total > len(d) {
			return seg, false
		}
		src, dst = netip.AddrFrom4([4]byte(d[12:16])), netip.AddrFrom4([4]byte(d[16:20]))
		d = d[ihl:total]
	case 0x86dd:
		if len(d) < 40 || d[0]>>4 != 6 || d[6] != 6 {
			return seg, false
		}
		plen := int(binary.BigEndian.Uint16(d[4:]))
		if 40+plen > len(d) {
			return seg, false
		}
		src, dst = netip.AddrFrom16([16]byte(d[8:24])), netip.AddrFrom16([16]byte(d[24:40]))
		d = d[40 : 40+plen]
	default:
		return seg, false
	}
	if len(d) < 20 {
		return seg, false
	}
	hl := int(d[12]>>4) * 4
	if hl < 20 || hl > len(d) {
		return seg, false
	}
	flags := d[13]
	return Segment{
		Frame:   p.Frame,
		Src:     netip.AddrPortFrom(src, binary.BigEndian.Uint16(d)),
		Dst:     netip.AddrPortFrom(dst, binary.BigEndian.Uint16(d[2:])),
		Seq:     binary.BigEndian.Uint32(d[4:]),
		SYN:     flags&0x02 != 0,
		ACK:     flags&0x10 != 0,
		FIN:     flags&0x01 != 0,
		RST:     flags&0x04 != 0,
		Payload: d[hl:],
	}, true
}

// Stream is the reassembled bytes one side of a TCP connection sent.
type Stream struct {
	// Src is the sender.
	Src netip.AddrPort
	// Dst is the receiver.
	Dst netip.AddrPort
	// Conn numbers connections in the capture; both directions share it.
	Conn int
	// Data is the payload in sequence order.
	Data []byte
	// Gaps counts bytes never seen (segments missing from the capture).
	Gaps int

	starts  []frameAt
	next    uint32
	started bool
	pending map[uint32]segPart
}

type frameAt struct{ off, frame int }

type segPart struct {
	frame int
	data  []byte
}

// FrameAt returns the frame that carried the stream byte at off.
func (s *Stream) FrameAt(off int) int {
	i := sort.Search(len(s.starts), func(i int) bool { return s.starts[i].off > off })
	if i == 0 {
		return 0
	}
	return s.starts[i-1].frame
}

func (s *Stream) add(frame int, seq uint32, data []byte) {
	if !s.started {
		s.started, s.next = true, seq
	}
	if d := int32(seq - s.next); d < 0 {
		if -int(d) >= len(data) {
			return // retransmission of data we have
		}
		data, seq = data[-d:], s.next
	}
	if seq != s.next {
		if s.pending == nil {
			s.pending = make(map[uint32]segPart)
		}
		s.pending[seq] = segPart{frame, data}
		return
	}
	s.starts = append(s.starts, frameAt{len(s.Data), frame})
	s.Data = append(s.Data, data...)
	s.next += uint32(len(data))
	for {
		p, ok := s.pending[s.next]
		if !ok {
			return
		}
		delete(s.pending, s.next)
		s.starts = append(s.starts, frameAt{len(s.Data), p.frame})
		s.Data = append(s.Data, p.data...)
		s.next += uint32(len(p.data))
	}
}

// Streams reassembles every TCP direction in the capture at path, in order of
// first appearance; a SYN without ACK starts a new connection on its 4-tuple.
func Streams(path string) ([]*Stream, error) {
	pkts, err := ReadPackets(path)
	if err != nil {
		return nil, err
	}
	type dirKey struct {
		src, dst netip.AddrPort
		conn     int
	}
	connOf := map[[2]netip.AddrPort]int{}
	streams := map[dirKey]*Stream{}
	var out []*Stream
	nextConn := 0
	for _, p := range pkts {
		seg, ok := ParseTCP(p)
		if !ok {
			continue
		}
		tuple := [2]netip.AddrPort{seg.Src, seg.Dst}
		if seg.Dst.Compare(seg.Src) < 0 {
			tuple = [2]netip.AddrPort{seg.Dst, seg.Src}
		}
		id, ok := connOf[tuple]
		if !ok || (seg.SYN && !seg.ACK) {
			id = nextConn
			nextConn++
			connOf[tuple] = id
		}
		k := dirKey{seg.Src, seg.Dst, id}
		s := streams[k]
		if s == nil {
			s = &Stream{Src: seg.Src, Dst: seg.Dst, Conn: id}
			streams[k] = s
			out = append(out, s)
		}
		if seg.SYN {
			s.started, s.next = true, seg.Seq+1
		}
		if len(seg.Payload) > 0 {
			s.add(p.Frame, seg.Seq, seg.Payload)
		}
	}
	for _, s := range out {
		for _, p := range s.pending {
			s.Gaps += len(p.data)
		}
	}
	return out, nil
}

// Record is one RPC record found in a stream.
type Record struct {
	// Stream is the stream that carried it.
	Stream *Stream
	// Frame is the frame carrying the record's first byte.
	Frame int
	// Raw is the record with its record-marking header(s).
	Raw []byte
	// Payload is the joined fragment payload.
	Payload []byte
	// Fragments counts the record's fragments.
	Fragments int
}

// SplitRecords splits a stream into RPC records; an incomplete tail is an error.
func SplitRecords(s *Stream) ([]Record, error) {
	var out []Record
	d := s.Data
	for off := 0; off < len(d); {
		r := Record{Stream: s, Frame: s.FrameAt(off)}
		start := off
		for {
			if len(d)-off < 4 {
				return out, fmt.Errorf("%s->%s: truncated record marker at %d", s.Src, s.Dst, off)
			}
			h := binary.BigEndian.Uint32(d[off:])
			n := int(h & 0x7fffffff)
			off += 4
			if n > len(d)-off {
				return out, fmt.Errorf("%s->%s: fragment of %d bytes at %d runs past the end (%d)", s.Src, s.Dst, n, off, len(d))
			}
			r.Payload = append(r.Payload, d[off:off+n]...)
			r.Fragments++
			off += n
			if h&0x80000000 != 0 {
				break
			}
		}
		r.Raw = d[start:off]
		out = append(out, r)
	}
	return out, nil
}
