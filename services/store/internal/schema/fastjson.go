package schema

import (
	"cmp"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/reflect/protoreflect"

	storev1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/store/v1"
)

// Every write encodes its resource, and on the store's one processor
// protojson's encoder was a sixth of the work of a write: it finds and
// orders each message's fields afresh on every call. fastEncode writes the
// same JSON document (the fields protojson writes, under their proto names,
// with protojson's representation of every value) from plans made once per
// message type. A message type it has no plan for, or one holding a kind of
// value it does not write (floating point, well-known types other than
// Timestamp), is left to protojson. TestFastEncodeWritesWhatProtojsonWrites
// holds it to protojson's document for random resources of every kind.

// msgPlan is how to write one message type.
type msgPlan struct {
	fields []fieldPlan
}

// fieldPlan is how to write one field.
type fieldPlan struct {
	fd protoreflect.FieldDescriptor
	// name is the field's `"name":` prefix.
	name string
	// sub is the plan of a message field's type, or of a map's message values.
	sub *msgPlan
}

// timestampName is the one well-known type fastEncode writes itself.
const timestampName = "google.protobuf.Timestamp"

// plans has a plan for every resource body type (the members of
// Resource's body oneof) that fastEncode can write.
var plans = func() map[protoreflect.FullName]*msgPlan {
	ps := map[protoreflect.FullName]*msgPlan{}
	for _, md := range bodyTypes() {
		if p, ok := planMessage(md, map[protoreflect.FullName]*msgPlan{}); ok {
			ps[md.FullName()] = p
		}
	}
	return ps
}()

// bodyTypes are the message types a Resource's body can hold.
func bodyTypes() []protoreflect.MessageDescriptor {
	body := (&storev1.Resource{}).ProtoReflect().Descriptor().Oneofs().ByName("body")
	var out []protoreflect.MessageDescriptor
	for i := range body.Fields().Len() {
		out = append(out, body.Fields().Get(i).Message())
	}
	return out
}

// planMessage makes md's plan; ok is false when some field needs protojson.
func planMessage(md protoreflect.MessageDescriptor, making map[protoreflect.FullName]*msgPlan) (*msgPlan, bool) {
	if p, ok := making[md.FullName()]; ok {
		return p, true // a recursive type: its plan is being made
	}
	p := &msgPlan{}
	making[md.FullName()] = p
	fds := md.Fields()
	for i := 0; i < fds.Len(); i++ {
		fd := fds.Get(i)
		f := fieldPlan{fd: fd, name: strconv.Quote(string(fd.Name())) + ":"}
		kind, vmd := fd.Kind(), fd.Message()
		if fd.IsMap() {
			kind, vmd = fd.MapValue().Kind(), fd.MapValue().Message()
			if !writable(fd.MapKey().Kind()) {
				return nil, false
			}
		}
		if !writable(kind) {
			return nil, false
		}
		if vmd != nil && vmd.FullName() != timestampName {
			if strings.HasPrefix(string(vmd.FullName()), "google.protobuf.") {
				return nil, false // another well-known type
			}
			sub, ok := planMessage(vmd, making)
			if !ok {
				return nil, false
			}
			f.sub = sub
		}
		p.fields = append(p.fields, f)
	}
	return p, true
}

// writable says whether fastEncode writes values of kind.
func writable(kind protoreflect.Kind) bool {
	switch kind {
	case protoreflect.FloatKind, protoreflect.DoubleKind, protoreflect.GroupKind:
		return false
	}
	return true
}

// fastEncode writes m as protojson (with proto names) does; ok is false when
// m's type has no plan and protojson must write it.
func fastEncode(m protoreflect.Message) (b []byte, ok bool, err error) {
	p, ok := plans[m.Descriptor().FullName()]
	if !ok {
		return nil, false, nil
	}
	b, err = appendMessage(make([]byte, 0, 1024), p, m)
	return b, true, err
}

func appendMessage(b []byte, p *msgPlan, m protoreflect.Message) ([]byte, error) {
	b = append(b, '{')
	n := 0
	for i := range p.fields {
		f := &p.fields[i]
		if !m.Has(f.fd) {
			continue
		}
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b = append(b, f.name...)
		var err error
		switch v := m.Get(f.fd); {
		case f.fd.IsList():
			b, err = appendList(b, f, v.List())
		case f.fd.IsMap():
			b, err = appendMap(b, f, v.Map())
		default:
			b, err = appendValue(b, f.fd, f.sub, v)
		}
		if err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

func appendList(b []byte, f *fieldPlan, l protoreflect.List) ([]byte, error) {
	b = append(b, '[')
	for i := 0; i < l.Len(); i++ {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = appendValue(b, f.fd, f.sub, l.Get(i)); err != nil {
			return nil, err
		}
	}
	return append(b, ']'), nil
}

// appendMap writes a map with its keys in protojson's order.
func appendMap(b []byte, f *fieldPlan, m protoreflect.Map) ([]byte, error) {
	keys := make([]protoreflect.MapKey, 0, m.Len())
	m.Range(func(k protoreflect.MapKey, _ protoreflect.Value) bool {
		keys = append(keys, k)
		return true
	})
	slices.SortFunc(keys, compareKeys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		switch f.fd.MapKey().Kind() {
		case protoreflect.StringKind:
			b, err = appendString(b, f.fd.MapKey(), k.String())
		default:
			b = strconv.AppendQuote(b, k.String()) // bools and integers: no escaping needed
		}
		if err != nil {
			return nil, err
		}
		b = append(b, ':')
		if b, err = appendValue(b, f.fd.MapValue(), f.sub, m.Get(k)); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

// compareKeys orders map keys as protojson does: false before true,
// integers by value, strings by their bytes.
func compareKeys(a, b protoreflect.MapKey) int {
	switch a.Interface().(type) {
	case bool:
		return cmp.Compare(boolRank(a.Bool()), boolRank(b.Bool()))
	case int32, int64:
		return cmp.Compare(a.Int(), b.Int())
	case uint32, uint64:
		return cmp.Compare(a.Uint(), b.Uint())
	}
	return strings.Compare(a.String(), b.String())
}

// boolRank puts false before true.
func boolRank(v bool) int {
	if v {
		return 1
	}
	return 0
}

// appendValue writes one singular value of field fd.
func appendValue(b []byte, fd protoreflect.FieldDescriptor, sub *msgPlan, v protoreflect.Value) ([]byte, error) {
	switch fd.Kind() {
	case protoreflect.BoolKind:
		return strconv.AppendBool(b, v.Bool()), nil
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return strconv.AppendInt(b, v.Int(), 10), nil
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return strconv.AppendUint(b, v.Uint(), 10), nil
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		b = append(b, '"')
		return append(strconv.AppendInt(b, v.Int(), 10), '"'), nil
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		b = append(b, '"')
		return append(strconv.AppendUint(b, v.Uint(), 10), '"'), nil
	case protoreflect.StringKind:
		return appendString(b, fd, v.String())
	case protoreflect.BytesKind:
		b = append(b, '"')
		return append(base64.StdEncoding.AppendEncode(b, v.Bytes()), '"'), nil
	case protoreflect.EnumKind:
		if ev := fd.Enum().Values().ByNumber(v.Enum()); ev != nil {
			return strconv.AppendQuote(b, string(ev.Name())), nil
		}
		return strconv.AppendInt(b, int64(v.Enum()), 10), nil
	case protoreflect.MessageKind:
		if sub == nil {
			return appendTimestamp(b, v.Message())
		}
		return appendMessage(b, sub, v.Message())
	}
	return nil, fmt.Errorf("field %s: kind %v is not written by the store's encoder", fd.FullName(), fd.Kind())
}

// appendString writes s as a JSON string; like protojson it refuses
// invalid UTF-8.
func appendString(b []byte, fd protoreflect.FieldDescriptor, s string) ([]byte, error) {
	if !utf8.ValidString(s) {
		return nil, fmt.Errorf("field %s contains invalid UTF-8", fd.FullName())
	}
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		case '\b':
			b = append(b, '\\', 'b')
		case '\f':
			b = append(b, '\\', 'f')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"'), nil
}

// Timestamps protojson accepts: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z.
const (
	minTimestampSeconds = -62135596800
	maxTimestampSeconds = 253402300799
)

// appendTimestamp writes a google.protobuf.Timestamp as protojson does: RFC
// 3339 in UTC with 0, 3, 6 or 9 fractional digits.
func appendTimestamp(b []byte, m protoreflect.Message) ([]byte, error) {
	fds := m.Descriptor().Fields()
	secs, nanos := m.Get(fds.ByNumber(1)).Int(), m.Get(fds.ByNumber(2)).Int()
	if secs < minTimestampSeconds || secs > maxTimestampSeconds {
		return nil, fmt.Errorf("%s: seconds out of range %d", timestampName, secs)
	}
	if nanos < 0 || nanos > 999999999 {
		return nil, fmt.Errorf("%s: nanos out of range %d", timestampName, nanos)
	}
	b = append(b, '"')
	b = time.Unix(secs, nanos).UTC().AppendFormat(b, "2006-01-02T15:04:05")
	if nanos != 0 {
		frac := strconv.AppendInt(nil, 1e9+nanos, 10)[1:] // nine digits
		switch {
		case nanos%1e6 == 0:
			frac = frac[:3]
		case nanos%1e3 == 0:
			frac = frac[:6]
		}
		b = append(append(b, '.'), frac...)
	}
	return append(b, 'Z', '"'), nil
}
