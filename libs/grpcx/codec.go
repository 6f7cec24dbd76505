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
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// fastMessage is a message with the methods protoc-gen-go-vtproto generates
// for every message in proto/: straight-line code per field instead of
// protobuf-go's table-driven reflection.
type fastMessage interface {
	proto.Message
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
// which protobuf-go does both ways, and the generated parser takes some
// malformed input that protobuf-go refuses. So Marshal checks the strings
// of what it wrote, and Unmarshal first walks the input as protobuf-go's
// parser reads it (see wirePlan.check) and leaves anything unusual to
// protobuf-go: the codec accepts and refuses what protobuf-go does. Nor do
// the generated methods limit nesting depth as protobuf-go does; no message
// type of ours contains itself (a test holds that), so the schema bounds
// the depth of anything decoded.
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
			return marshalFallback(v, err)
		}
		return mem.BufferSlice{mem.SliceBuffer(buf)}, nil
	}
	pool := mem.DefaultBufferPool()
	buf := pool.Get(size)
	*buf = (*buf)[:size]
	if err := marshalInto(m, *buf); err != nil {
		pool.Put(buf)
		return marshalFallback(v, err)
	}
	return mem.BufferSlice{mem.NewBuffer(buf, pool)}, nil
}

// errUnusualMessage marks a message that carries what the schema does not
// know (unknown fields kept from a newer peer), left to protobuf-go.
var errUnusualMessage = errors.New("message carries fields unknown to the schema")

// marshalInto encodes m into buf, which is exactly m's size, and checks
// what it wrote.
func marshalInto(m fastMessage, buf []byte) error {
	if _, err := m.MarshalToSizedBufferVT(buf); err != nil {
		return fmt.Errorf("marshal %T: %w", m, err)
	}
	switch wireCheck(m, buf) {
	case wireBadUTF8:
		return fmt.Errorf("marshal %T: %w", m, errInvalidUTF8)
	case wireUnusual:
		return errUnusualMessage
	}
	return nil
}

// marshalFallback hands a message the generated code could not be trusted
// with to protobuf-go, and returns any other error.
func marshalFallback(v any, err error) (mem.BufferSlice, error) {
	if errors.Is(err, errUnusualMessage) {
		return fallback().Marshal(v)
	}
	return nil, err
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
	switch wireCheck(m, b) {
	case wireBadUTF8:
		return fmt.Errorf("unmarshal %T: %w", v, errInvalidUTF8)
	case wireOK:
		if err := m.UnmarshalVT(b); err == nil {
			return nil
		}
		m.Reset()
	}
	// Input the generated parser may take differently from protobuf-go:
	// malformed, or a field sent with another wire type than the schema's
	// (an error to the generated code, an unknown field to protobuf-go).
	// protobuf-go's verdict stands; this slow path never runs for what a
	// client of the same schema sends.
	if err := proto.Unmarshal(b, m); err != nil {
		return fmt.Errorf("unmarshal %T: %w", v, err)
	}
	return nil
}

// errInvalidUTF8 is protobuf-go's wording for the same refusal.
var errInvalidUTF8 = errors.New("string field contains invalid UTF-8")

// wireVerdict is what a wire plan finds in an encoded message.
type wireVerdict int

const (
	// wireOK: well formed, every string valid UTF-8.
	wireOK wireVerdict = iota
	// wireBadUTF8: a string field is not valid UTF-8.
	wireBadUTF8
	// wireUnusual: anything a client of the same schema does not send,
	// where the generated parser and protobuf-go's may differ: malformed
	// input (an over-long varint, a reserved wire type, a packed field cut
	// short), a field number out of range, unknown to the schema or sent
	// with another wire type than the schema's.
	wireUnusual
)

// wireCheck walks the encoding b of m with the plan of m's type.
func wireCheck(m proto.Message, b []byte) wireVerdict {
	return wirePlanOf(m.ProtoReflect().Descriptor()).check(b)
}

// fieldRole is what a wire plan checks in one field.
type fieldRole uint8

const (
	roleUnknown fieldRole = iota // not in the schema
	roleOpaque                   // bytes, proto2 string
	roleString                   // proto3 string: valid UTF-8
	roleMessage                  // message or map entry: walked
	roleVarint                   // varint scalar
	roleFixed32                  // 4-byte scalar
	roleFixed64                  // 8-byte scalar
)

// wireField is what a plan knows of one field: its role, whether it is
// repeated (so scalars may come packed), and a message's plan.
type wireField struct {
	role     fieldRole
	repeated bool
	sub      *wirePlan
}

// wirePlan holds the fields of one message type, indexed by number up to
// nearLimit, in far beyond it.
type wirePlan struct {
	near []wireField
	far  map[protowire.Number]wireField
}

// nearLimit bounds the field numbers a plan indexes directly.
const nearLimit = 1024

// wirePlans holds a plan per message type, made on first use.
var wirePlans sync.Map // protoreflect.FullName → *wirePlan

// wirePlanOf returns the plan of md.
func wirePlanOf(md protoreflect.MessageDescriptor) *wirePlan {
	if p, ok := wirePlans.Load(md.FullName()); ok {
		return p.(*wirePlan)
	}
	p := buildWirePlan(md, map[protoreflect.FullName]*wirePlan{})
	wirePlans.Store(md.FullName(), p)
	return p
}

// buildWirePlan makes md's plan; seen ends recursion through messages that
// contain themselves.
func buildWirePlan(md protoreflect.MessageDescriptor, seen map[protoreflect.FullName]*wirePlan) *wirePlan {
	if p, ok := seen[md.FullName()]; ok {
		return p
	}
	p := &wirePlan{}
	seen[md.FullName()] = p
	fields := md.Fields()
	size := 0
	for i := range fields.Len() {
		if n := int(fields.Get(i).Number()); n < nearLimit {
			size = max(size, n+1)
		}
	}
	p.near = make([]wireField, size)
	for i := range fields.Len() {
		fd := fields.Get(i)
		f := wireField{role: roleOpaque, repeated: fd.IsList()}
		switch fd.Kind() {
		case protoreflect.StringKind:
			if fd.Syntax() == protoreflect.Proto3 {
				f.role = roleString
			}
		case protoreflect.MessageKind, protoreflect.GroupKind:
			f.role, f.sub = roleMessage, buildWirePlan(fd.Message(), seen)
		case protoreflect.BoolKind, protoreflect.EnumKind, protoreflect.Int32Kind, protoreflect.Sint32Kind,
			protoreflect.Uint32Kind, protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Uint64Kind:
			f.role = roleVarint
		case protoreflect.Fixed32Kind, protoreflect.Sfixed32Kind, protoreflect.FloatKind:
			f.role = roleFixed32
		case protoreflect.Fixed64Kind, protoreflect.Sfixed64Kind, protoreflect.DoubleKind:
			f.role = roleFixed64
		}
		if n := fd.Number(); n < nearLimit {
			p.near[n] = f
			continue
		}
		if p.far == nil {
			p.far = map[protowire.Number]wireField{}
		}
		p.far[fd.Number()] = f
	}
	return p
}

// field returns what the plan says of field num.
func (p *wirePlan) field(num protowire.Number) wireField {
	if int(num) < len(p.near) {
		return p.near[num]
	}
	return p.far[num]
}

// check walks the encoded message b as protobuf-go's parser reads it: every
// tag and value, the strings, messages and packed scalars of known fields at
// any depth, and whether each field is known and has its schema's wire type.
func (p *wirePlan) check(b []byte) wireVerdict {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 || num > protowire.MaxValidNumber {
			return wireUnusual
		}
		b = b[n:]
		f := p.field(num)
		switch typ {
		case protowire.VarintType, protowire.Fixed32Type, protowire.Fixed64Type:
			if typ != scalarWireType[f.role] {
				return wireUnusual
			}
			if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
				return wireUnusual
			}
			b = b[n:]
			continue
		case protowire.BytesType:
		default:
			return wireUnusual // groups, reserved types: none in our schema
		}
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return wireUnusual
		}
		b = b[n:]
		switch f.role {
		case roleUnknown:
			return wireUnusual
		case roleString:
			if !utf8.Valid(v) {
				return wireBadUTF8
			}
		case roleMessage:
			if got := f.sub.check(v); got != wireOK {
				return got
			}
		case roleVarint, roleFixed32, roleFixed64:
			if !f.repeated || !packedWellFormed(f.role, v) {
				return wireUnusual
			}
		}
	}
	return wireOK
}

// scalarWireType is the wire type of a scalar role sent unpacked; other
// roles have none (protowire's types start at 0, so -1 marks none).
var scalarWireType = [...]protowire.Type{
	roleUnknown: -1, roleOpaque: -1, roleString: -1, roleMessage: -1,
	roleVarint: protowire.VarintType, roleFixed32: protowire.Fixed32Type, roleFixed64: protowire.Fixed64Type,
}

// packedWellFormed reports whether v is a whole number of packed values.
func packedWellFormed(role fieldRole, v []byte) bool {
	switch role {
	case roleFixed32:
		return len(v)%4 == 0
	case roleFixed64:
		return len(v)%8 == 0
	}
	for len(v) > 0 {
		_, n := protowire.ConsumeVarint(v)
		if n < 0 {
			return false
		}
		v = v[n:]
	}
	return true
}
