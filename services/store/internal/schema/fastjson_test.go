package schema

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"
	storev1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/store/v1"

	"github.com/glusterd-ng/glusterd-ng/libs/testutil"
)

// bodies are an empty message of every resource body type.
func bodies(t *testing.T) []proto.Message {
	var out []proto.Message
	for _, md := range bodyTypes() {
		mt, err := protoregistry.GlobalTypes.FindMessageByName(md.FullName())
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, mt.New().Interface())
	}
	if len(out) < 6 {
		t.Fatalf("%d resource body types, want at least the 6 kinds", len(out))
	}
	return out
}

// randomText mixes ASCII, characters JSON must escape and multi-byte runes.
func randomText(r *rand.Rand) string {
	pieces := []string{"a", "Z", "0", "-", ".", "_", "/", " ", `"`, `\`, "\n", "\t", "\r", "\b", "\f", "\x00", "\x1f", "\x7f", "<", ">", "&", "é", "日本", "\u2028", "😀", "\ufffd"}
	var b strings.Builder
	for range r.IntN(12) {
		b.WriteString(pieces[r.IntN(len(pieces))])
	}
	return b.String()
}

// randomFill fills resources with random contents: text JSON must escape,
// enum numbers without a name (scalar), and timestamps protojson can write
// (randomTimestamp).
var randomFill = testutil.RandomFill{Scalar: scalar, Message: randomTimestamp}

// randomTimestamp fills m when it is a Timestamp: up to about 30 years
// back, with 0, 3, 6 or 9 fractional digits.
func randomTimestamp(r *rand.Rand, m protoreflect.Message) bool {
	if m.Descriptor().FullName() != timestampName {
		return false
	}
	ts := timestamppb.New(time.Now().Add(-time.Duration(r.Int64N(1e18))))
	switch r.IntN(4) {
	case 0:
		ts.Nanos = 0
	case 1:
		ts.Nanos -= ts.Nanos % 1e6
	case 2:
		ts.Nanos -= ts.Nanos % 1e3
	}
	proto.Merge(m.Interface(), ts)
	return true
}

// scalar is a random value of a non-message field.
func scalar(r *rand.Rand, fd protoreflect.FieldDescriptor) protoreflect.Value {
	switch fd.Kind() {
	case protoreflect.BoolKind:
		return protoreflect.ValueOfBool(r.IntN(2) == 1)
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return protoreflect.ValueOfInt32(int32(r.Uint32()))
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return protoreflect.ValueOfUint32(r.Uint32())
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return protoreflect.ValueOfInt64(int64(r.Uint64()))
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return protoreflect.ValueOfUint64(r.Uint64())
	case protoreflect.StringKind:
		return protoreflect.ValueOfString(randomText(r))
	case protoreflect.BytesKind:
		b := make([]byte, r.IntN(20))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return protoreflect.ValueOfBytes(b)
	case protoreflect.EnumKind:
		vals := fd.Enum().Values()
		if r.IntN(5) == 0 {
			return protoreflect.ValueOfEnum(protoreflect.EnumNumber(100 + r.IntN(50))) // a number with no name
		}
		return protoreflect.ValueOfEnum(vals.Get(r.IntN(vals.Len())).Number())
	}
	panic("no random value for " + fd.Kind().String())
}

// document parses JSON into generic values, for comparing documents.
func document(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b)
	}
	return v
}

func TestEveryResourceBodyHasAPlan(t *testing.T) {
	for _, m := range bodies(t) {
		if _, ok := plans[m.ProtoReflect().Descriptor().FullName()]; !ok {
			t.Errorf("%s has no plan: it would be encoded by protojson", m.ProtoReflect().Descriptor().FullName())
		}
	}
}

// For random resources of every kind, fastEncode writes the document
// protojson writes, and protojson reads it back as the same message.
func TestFastEncodeWritesWhatProtojsonWrites(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, empty := range bodies(t) {
		for i := range 2000 {
			m := empty.ProtoReflect().New()
			randomFill.Fill(r, m, 4)
			got, ok, err := fastEncode(m)
			if !ok || err != nil {
				t.Fatalf("%T #%d: planned %v, %v", empty, i, ok, err)
			}
			want, err := marshal.Marshal(m.Interface())
			if err != nil {
				t.Fatalf("%T #%d: protojson: %v", empty, i, err)
			}
			if !reflect.DeepEqual(document(t, got), document(t, want)) {
				t.Fatalf("%T #%d:\nfast      %s\nprotojson %s", empty, i, got, want)
			}
			back := m.New().Interface()
			if err := protojson.Unmarshal(got, back); err != nil || !proto.Equal(back, m.Interface()) {
				t.Fatalf("%T #%d: read back %v: %v", empty, i, back, err)
			}
		}
	}
}

// What protojson refuses, fastEncode refuses too, and Encode says why.
func TestFastEncodeRefusesWhatProtojsonRefuses(t *testing.T) {
	bad := []proto.Message{
		&commonv1.Volume{Name: "bad\xffutf8"},
		&commonv1.Volume{Name: "v", Options: map[string]string{"k\xc3": "v"}},
		&commonv1.Volume{Name: "v", Options: map[string]string{"k": "v\xe2\x82"}},
		&commonv1.Volume{Name: "v", CreatedAt: &timestamppb.Timestamp{Seconds: maxTimestampSeconds + 1}},
		&commonv1.Volume{Name: "v", CreatedAt: &timestamppb.Timestamp{Seconds: minTimestampSeconds - 1}},
		&commonv1.Volume{Name: "v", CreatedAt: &timestamppb.Timestamp{Nanos: 1e9}},
		&commonv1.Volume{Name: "v", CreatedAt: &timestamppb.Timestamp{Nanos: -1}},
	}
	for _, m := range bad {
		_, perr := marshal.Marshal(m)
		_, ok, ferr := fastEncode(m.ProtoReflect())
		if perr == nil || !ok || ferr == nil {
			t.Errorf("%v: protojson %v, fast (planned %v) %v; want both to refuse", m, perr, ok, ferr)
		}
		_, err := Encode(&storev1.Resource{Body: &storev1.Resource_Volume{Volume: m.(*commonv1.Volume)}})
		if err == nil || !strings.Contains(err.Error(), "cannot be stored") {
			t.Errorf("%v: Encode: %v", m, err)
		}
	}
}

// Map keys of every kind sort as protojson sorts them, though the store's
// resources have only string-keyed maps today.
func TestMapKeysSortAsProtojsonSortsThem(t *testing.T) {
	key := func(v any) protoreflect.MapKey { return protoreflect.ValueOf(v).MapKey() }
	for _, c := range []struct {
		a, b protoreflect.MapKey
		want int
	}{
		{key(false), key(true), -1}, {key(true), key(false), 1}, {key(true), key(true), 0},
		{key(int32(-5)), key(int32(3)), -1}, {key(int64(7)), key(int64(-7)), 1},
		{key(uint32(2)), key(uint32(10)), -1}, {key(uint64(1 << 63)), key(uint64(1)), 1},
		{key("b"), key("a"), 1}, {key("a"), key("ab"), -1}, {key("é"), key("z"), 1},
	} {
		if got := compareKeys(c.a, c.b); got != c.want {
			t.Errorf("compareKeys(%v, %v) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}
