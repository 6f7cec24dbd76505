package grpcx

import (
	"errors"
	"fmt"
	"sync"
	"unicode/utf8"

	"google.golang.org/grpc/encoding"
	_ "google.golang.org/grpc/encoding/proto" // registers the fallback codec
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// fastMessage is a message with the methods protoc-gen-go-vtproto generates
// for every message in proto/: straight-line code per field instead of
// protobuf-go's table-driven reflection.
type fastMessage interface {
	Reset()
	SizeVT() int
	MarshalToSizedBufferVT(dAtA []byte) (int, error)
	UnmarshalVT(dAtA []byte) error
}

// codec is the wire codec of every grpcx server and client: gRPC's "proto"
// encoding, the same bytes, done by the generated methods where a message
// has them and by gRPC's own codec otherwise (health, reflection).
//
// The generated methods do not check that string fields hold valid UTF-8,
// which protobuf-go does both ways; Marshal and Unmarshal check the encoded
// bytes themselves, so the same messages are refused as with protobuf-go
// (see checkUTF8). Nor do they limit nesting depth as protobuf-go does; no
// message type of ours contains itself (a test holds that), so the schema
// bounds the depth of anything decoded.
type codec struct{}

// Name is the content-subtype gRPC's own proto codec has.
func (codec) Name() string { return "proto" }

// fallback is gRPC's registered proto codec.
func fallback() encoding.CodecV2 { return encoding.GetCodecV2("proto") }

// Marshal encodes v into one buffer, from gRPC's pool when it is large.
func (codec) Marshal(v any) (mem.BufferSlice, error) {
	m, ok := v.(fastMessage)
	if !ok {
		return fallback().Marshal(v)
	}
	size := m.SizeVT()
	if mem.IsBelowBufferPoolingThreshold(size) {
		buf := make([]byte, size)
		if err := marshalInto(m, buf); err != nil {
			return nil, err
		}
		return mem.BufferSlice{mem.SliceBuffer(buf)}, nil
	}
	pool := mem.DefaultBufferPool()
	buf := pool.Get(size)
	*buf = (*buf)[:size]
	if err := marshalInto(m, *buf); err != nil {
		pool.Put(buf)
		return nil, err
	}
	return mem.BufferSlice{mem.NewBuffer(buf, pool)}, nil
}

// marshalInto encodes m into buf, which is exactly m's size.
func marshalInto(m fastMessage, buf []byte) error {
	if _, err := m.MarshalToSizedBufferVT(buf); err != nil {
		return fmt.Errorf("marshal %T: %w", m, err)
	}
	if err := checkUTF8(m, buf); err != nil {
		return fmt.Errorf("marshal %T: %w", m, err)
	}
	return nil
}

// Unmarshal decodes data into v, replacing what v held.
func (codec) Unmarshal(data mem.BufferSlice, v any) error {
	m, ok := v.(fastMessage)
	if !ok {
		return fallback().Unmarshal(data, v)
	}
	buf := data.MaterializeToBuffer(mem.DefaultBufferPool())
	defer buf.Free()
	m.Reset()
	b := buf.ReadOnlyData()
	if err := m.UnmarshalVT(b); err != nil {
		return fmt.Errorf("unmarshal %T: %w", v, err)
	}
	if err := checkUTF8(v, b); err != nil {
		m.Reset()
		return fmt.Errorf("unmarshal %T: %w", v, err)
	}
	return nil
}

// errInvalidUTF8 is protobuf-go's wording for the same refusal.
var errInvalidUTF8 = errors.New("string field contains invalid UTF-8")

// checkUTF8 refuses the encoding b of v if a string field in it, at any
// depth, is not valid UTF-8, as protobuf-go refuses to marshal or unmarshal
// such a message.
func checkUTF8(v any, b []byte) error {
	pm, ok := v.(protoreflect.ProtoMessage)
	if !ok || utf8PlanOf(pm.ProtoReflect().Descriptor()).valid(b) {
		return nil
	}
	return errInvalidUTF8
}

// utf8Plan says, per field number of one message type, whether the field
// is a proto3 string, whose bytes must be valid UTF-8, or a message (map
// entries included) to look into: indexed by number up to nearLimit, in
// far beyond it.
type utf8Plan struct {
	strings  []bool
	messages []*utf8Plan
	far      map[protowire.Number]*utf8Field
}

// utf8Field is one field of a plan beyond nearLimit.
type utf8Field struct {
	str bool
	msg *utf8Plan
}

// nearLimit bounds the field numbers a plan indexes directly.
const nearLimit = 1024

// utf8Plans holds a plan per message type, made on first use.
var utf8Plans sync.Map // protoreflect.FullName → *utf8Plan

// utf8PlanOf returns the plan of md.
func utf8PlanOf(md protoreflect.MessageDescriptor) *utf8Plan {
	if p, ok := utf8Plans.Load(md.FullName()); ok {
		return p.(*utf8Plan)
	}
	p := buildUTF8Plan(md, map[protoreflect.FullName]*utf8Plan{})
	utf8Plans.Store(md.FullName(), p)
	return p
}

// buildUTF8Plan makes md's plan; seen ends recursion through messages that
// contain themselves.
func buildUTF8Plan(md protoreflect.MessageDescriptor, seen map[protoreflect.FullName]*utf8Plan) *utf8Plan {
	if p, ok := seen[md.FullName()]; ok {
		return p
	}
	p := &utf8Plan{}
	seen[md.FullName()] = p
	fields := md.Fields()
	size := 0
	for i := range fields.Len() {
		if n := int(fields.Get(i).Number()); n < nearLimit {
			size = max(size, n+1)
		}
	}
	p.strings, p.messages = make([]bool, size), make([]*utf8Plan, size)
	for i := range fields.Len() {
		fd := fields.Get(i)
		var f utf8Field
		switch fd.Kind() {
		case protoreflect.StringKind:
			f.str = fd.Syntax() == protoreflect.Proto3
		case protoreflect.MessageKind:
			f.msg = buildUTF8Plan(fd.Message(), seen)
		default:
			continue
		}
		if n := fd.Number(); n < nearLimit {
			p.strings[n], p.messages[n] = f.str, f.msg
			continue
		}
		if p.far == nil {
			p.far = map[protowire.Number]*utf8Field{}
		}
		p.far[fd.Number()] = &f
	}
	return p
}

// field returns what the plan says of field num.
func (p *utf8Plan) field(num protowire.Number) (str bool, msg *utf8Plan) {
	if int(num) < len(p.strings) {
		return p.strings[num], p.messages[num]
	}
	if f := p.far[num]; f != nil {
		return f.str, f.msg
	}
	return false, nil
}

// valid reports whether every string field in the encoded message b, at
// any depth, is valid UTF-8. b has been unmarshalled already, so it is well
// formed; what does not parse is left to that.
func (p *utf8Plan) valid(b []byte) bool {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return true
		}
		b = b[n:]
		if typ != protowire.BytesType {
			if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
				return true
			}
			b = b[n:]
			continue
		}
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return true
		}
		b = b[n:]
		str, sub := p.field(num)
		if str && !utf8.Valid(v) {
			return false
		}
		if sub != nil && !sub.valid(v) {
			return false
		}
	}
	return true
}
