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
// (see checkUTF8).
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
		if _, err := m.MarshalToSizedBufferVT(buf); err != nil {
			return nil, fmt.Errorf("marshal %T: %w", v, err)
		}
		if err := checkUTF8(v, buf); err != nil {
			return nil, fmt.Errorf("marshal %T: %w", v, err)
		}
		return mem.BufferSlice{mem.SliceBuffer(buf)}, nil
	}
	pool := mem.DefaultBufferPool()
	buf := pool.Get(size)
	*buf = (*buf)[:size]
	if _, err := m.MarshalToSizedBufferVT(*buf); err != nil {
		pool.Put(buf)
		return nil, fmt.Errorf("marshal %T: %w", v, err)
	}
	if err := checkUTF8(v, *buf); err != nil {
		pool.Put(buf)
		return nil, fmt.Errorf("marshal %T: %w", v, err)
	}
	return mem.BufferSlice{mem.NewBuffer(buf, pool)}, nil
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

// utf8Plan says which fields of one message type are proto3 strings, whose
// bytes must be valid UTF-8, and which are messages (map entries included)
// to look into.
type utf8Plan struct {
	strings  map[protowire.Number]bool
	messages map[protowire.Number]*utf8Plan
}

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
	p := &utf8Plan{strings: map[protowire.Number]bool{}, messages: map[protowire.Number]*utf8Plan{}}
	seen[md.FullName()] = p
	fields := md.Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		switch fd.Kind() {
		case protoreflect.StringKind:
			if fd.Syntax() == protoreflect.Proto3 {
				p.strings[fd.Number()] = true
			}
		case protoreflect.MessageKind:
			p.messages[fd.Number()] = buildUTF8Plan(fd.Message(), seen)
		}
	}
	return p
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
		if p.strings[num] && !utf8.Valid(v) {
			return false
		}
		if sub := p.messages[num]; sub != nil && !sub.valid(v) {
			return false
		}
	}
	return true
}
