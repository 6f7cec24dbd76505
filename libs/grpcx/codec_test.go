package grpcx

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"
	_ "github.com/glusterd-ng/glusterd-ng/proto/gluster/orchestrator/v1"
	_ "github.com/glusterd-ng/glusterd-ng/proto/gluster/peer/v1"
	_ "github.com/glusterd-ng/glusterd-ng/proto/gluster/portmap/v1"
	_ "github.com/glusterd-ng/glusterd-ng/proto/gluster/servicemgr/v1"
	storev1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/store/v1"

	"github.com/glusterd-ng/glusterd-ng/libs/testutil"
)

// ourMessages returns every message type of proto/, map entries aside.
func ourMessages(t *testing.T) []protoreflect.MessageType {
	var out []protoreflect.MessageType
	protoregistry.GlobalTypes.RangeMessages(func(mt protoreflect.MessageType) bool {
		if strings.HasPrefix(string(mt.Descriptor().FullName()), "gluster.") {
			out = append(out, mt)
		}
		return true
	})
	require.Greater(t, len(out), 50, "the generated packages are linked in")
	return out
}

// randomFill fills messages with random contents, strings with
// multi-byte characters (randScalar).
var randomFill = testutil.RandomFill{Scalar: randScalar}

// randScalar is a random value of a non-message field, strings with
// multi-byte characters.
func randScalar(r *rand.Rand, fd protoreflect.FieldDescriptor) protoreflect.Value {
	switch fd.Kind() {
	case protoreflect.BoolKind:
		return protoreflect.ValueOfBool(r.IntN(2) == 1)
	case protoreflect.EnumKind:
		vals := fd.Enum().Values()
		return protoreflect.ValueOfEnum(vals.Get(r.IntN(vals.Len())).Number())
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return protoreflect.ValueOfInt32(r.Int32() - 1<<30)
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return protoreflect.ValueOfInt64(r.Int64() - 1<<62)
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return protoreflect.ValueOfUint32(r.Uint32())
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return protoreflect.ValueOfUint64(r.Uint64())
	case protoreflect.FloatKind:
		return protoreflect.ValueOfFloat32(r.Float32() * 1e6)
	case protoreflect.DoubleKind:
		return protoreflect.ValueOfFloat64(r.NormFloat64() * 1e9)
	case protoreflect.BytesKind:
		b := make([]byte, r.IntN(12))
		for i := range b {
			b[i] = byte(r.UintN(256))
		}
		return protoreflect.ValueOfBytes(b)
	default:
		words := []string{"", "vol", "/bricks/b1", "é", "日本", "🙂", "a\"b\\c", "x\x00y"}
		return protoreflect.ValueOfString(words[r.IntN(len(words))] + words[r.IntN(len(words))])
	}
}

// marshalled joins what the codec's Marshal returned.
func marshalled(t *testing.T, m proto.Message) []byte {
	t.Helper()
	bs, err := codec{}.Marshal(m)
	require.NoError(t, err)
	defer bs.Free()
	return bs.Materialize()
}

// TestCodecAgreesWithProtobuf checks, for random messages of every type in
// proto/, that what the codec writes protobuf-go reads back equal, that
// what protobuf-go writes the codec reads back equal, and that Unmarshal
// replaces what its message held.
func TestCodecAgreesWithProtobuf(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	forRandomMessages(t, r, 40, func(mt protoreflect.MessageType, orig proto.Message) {
		back := mt.New().Interface()
		require.NoError(t, proto.Unmarshal(marshalled(t, orig), back), mt.Descriptor().FullName())
		require.True(t, proto.Equal(orig, back), "%s: codec → protobuf-go\n%v\n%v", mt.Descriptor().FullName(), orig, back)

		b, err := proto.Marshal(orig)
		require.NoError(t, err)
		stale := mt.New()
		randomFill.Fill(r, stale, 2)
		into := stale.Interface()
		require.NoError(t, codec{}.Unmarshal(mem.BufferSlice{mem.SliceBuffer(b)}, into))
		require.True(t, proto.Equal(orig, into), "%s: protobuf-go → codec\n%v\n%v", mt.Descriptor().FullName(), orig, into)
	})
}

// forRandomMessages calls fn with n random messages of every type in
// proto/, drawn from r.
func forRandomMessages(t *testing.T, r *rand.Rand, n int, fn func(mt protoreflect.MessageType, m proto.Message)) {
	for _, mt := range ourMessages(t) {
		for range n {
			m := mt.New()
			randomFill.Fill(r, m, 3)
			fn(mt, m.Interface())
		}
	}
}

// TestCodecRefusesInvalidUTF8AsProtobufDoes puts a byte sequence that is
// not UTF-8 in string fields at several depths and in a map: protobuf-go
// and the codec both refuse to write it and to read it. A bytes field with
// the same content is accepted by both.
func TestCodecRefusesInvalidUTF8AsProtobufDoes(t *testing.T) {
	const bad = "vol\xff"
	vol := func() *commonv1.Volume {
		return &commonv1.Volume{Name: "v", Options: map[string]string{"k": "v"},
			Subvolumes: []*commonv1.Subvolume{{Bricks: []*commonv1.Brick{{Host: "h", Path: "/b"}}}}}
	}
	cases := map[string]func(*commonv1.Volume){
		"top-level string":  func(v *commonv1.Volume) { v.Name = bad },
		"string three deep": func(v *commonv1.Volume) { v.Subvolumes[0].Bricks[0].Path = bad },
		"map value":         func(v *commonv1.Volume) { v.Options["k"] = bad },
		"map key":           func(v *commonv1.Volume) { v.Options[bad] = "v" },
		"string in a repeat": func(v *commonv1.Volume) {
			v.Subvolumes = append(v.Subvolumes, &commonv1.Subvolume{Bricks: []*commonv1.Brick{{Host: bad}}})
		},
	}
	for name, spoil := range cases {
		t.Run(name, func(t *testing.T) {
			v := vol()
			spoil(v)
			req := &storev1.CreateRequest{Resource: &storev1.Resource{Body: &storev1.Resource_Volume{Volume: v}}}
			_, perr := proto.Marshal(req)
			require.Error(t, perr, "protobuf-go refuses to write it")
			_, cerr := codec{}.Marshal(req)
			require.ErrorIs(t, cerr, errInvalidUTF8)

			// The generated marshaller checks nothing: bytes as a client
			// without the check would send them.
			b, err := req.MarshalVT()
			require.NoError(t, err)
			require.Error(t, proto.Unmarshal(b, new(storev1.CreateRequest)), "protobuf-go refuses to read it")
			got := new(storev1.CreateRequest)
			require.ErrorIs(t, codec{}.Unmarshal(mem.BufferSlice{mem.SliceBuffer(b)}, got), errInvalidUTF8)
			require.Nil(t, got.GetResource(), "a refused message is left empty")
		})
	}

	cluster := &commonv1.Cluster{Name: "c", AuthSecret: []byte(bad)}
	b, err := proto.Marshal(cluster)
	require.NoError(t, err, "bytes fields may hold anything")
	require.NotEmpty(t, marshalled(t, cluster))
	got := new(commonv1.Cluster)
	require.NoError(t, codec{}.Unmarshal(mem.BufferSlice{mem.SliceBuffer(b)}, got))
	require.Equal(t, []byte(bad), got.GetAuthSecret())
}

// TestCodecFallsBackForOtherMessages covers messages without generated
// fast methods (health, reflection): gRPC's own codec handles them.
func TestCodecFallsBackForOtherMessages(t *testing.T) {
	in := &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}
	out := new(healthpb.HealthCheckResponse)
	require.NoError(t, codec{}.Unmarshal(mem.BufferSlice{mem.SliceBuffer(marshalled(t, in))}, out))
	require.True(t, proto.Equal(in, out))
	_, err := codec{}.Marshal("not a message")
	require.Error(t, err)
}

// TestCodecLargeMessagesUsePooledBuffers covers the pooled path: a message
// above gRPC's pooling threshold comes out whole.
func TestCodecLargeMessagesUsePooledBuffers(t *testing.T) {
	v := &commonv1.Volume{Name: "big", Options: map[string]string{}}
	for i := range 2000 {
		v.Options[strings.Repeat("k", 10)+string(rune('a'+i%26))+strings.Repeat("é", i%7)+string(rune(0x100+i))] = strings.Repeat("v", 20)
	}
	b := marshalled(t, v)
	require.False(t, mem.IsBelowBufferPoolingThreshold(len(b)))
	back := new(commonv1.Volume)
	require.NoError(t, proto.Unmarshal(b, back))
	require.True(t, proto.Equal(v, back))
}

// TestWirePlanFarFieldNumbers covers field numbers beyond what a plan
// indexes directly (ours are all small): a string field numbered 5000, a
// bytes field numbered 6000 and a message field numbered 70000 are checked
// like near ones, and an unknown one is left to protobuf-go.
func TestWirePlanFarFieldNumbers(t *testing.T) {
	md := farDescriptor(t)
	msg := dynamicpb.NewMessage(md)
	str := func(num protowire.Number, s string) []byte {
		return protowire.AppendString(protowire.AppendTag(nil, num, protowire.BytesType), s)
	}
	sub := func(b []byte) []byte {
		return protowire.AppendBytes(protowire.AppendTag(nil, 70000, protowire.BytesType), b)
	}
	for name, c := range map[string]struct {
		b    []byte
		want wireVerdict
	}{
		"valid":             {append(str(1, "a"), append(str(5000, "é"), sub(str(5000, "b"))...)...), wireOK},
		"near":              {str(1, "\xff"), wireBadUTF8},
		"far":               {str(5000, "\xff"), wireBadUTF8},
		"far bytes":         {str(6000, "\xff"), wireOK},
		"far inside far":    {sub(sub(str(5000, "\xff"))), wireBadUTF8},
		"unknown far field": {str(9999, "\xff"), wireUnusual},
	} {
		require.Equal(t, c.want, wireCheck(msg, c.b), name)
		require.Equal(t, c.want != wireBadUTF8, proto.Unmarshal(c.b, dynamicpb.NewMessage(md)) == nil, "protobuf-go agrees on %s", name)
	}
}

// BenchmarkCodec encodes and decodes a volume resource of the store's
// bench size with the codec and with gRPC's own proto codec.
func BenchmarkCodec(b *testing.B) {
	v := &commonv1.Volume{Name: "bench", Type: commonv1.VolumeType_DISTRIBUTED_REPLICATE, ReplicaCount: 3,
		Options: map[string]string{"performance.cache-size": "64MB", "cluster.quorum-type": "auto", "network.ping-timeout": "42"}}
	for s := range 2 {
		sv := &commonv1.Subvolume{}
		for i := range 3 {
			sv.Bricks = append(sv.Bricks, &commonv1.Brick{Id: "00000000-0000-4000-8000-00000000000" + string(rune('0'+s*3+i)),
				PeerId: "10000000-0000-4000-8000-00000000000" + string(rune('0'+i)), Host: "node" + string(rune('0'+i)), Path: "/bricks/bench/b" + string(rune('0'+s*3+i))})
		}
		v.Subvolumes = append(v.Subvolumes, sv)
	}
	req := &storev1.CreateRequest{Resource: &storev1.Resource{Body: &storev1.Resource_Volume{Volume: v}}}
	for name, c := range map[string]interface {
		Marshal(any) (mem.BufferSlice, error)
		Unmarshal(mem.BufferSlice, any) error
	}{"grpcx": codec{}, "protobuf-go": fallback()} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				bs, err := c.Marshal(req)
				if err != nil {
					b.Fatal(err)
				}
				if err := c.Unmarshal(bs, new(storev1.CreateRequest)); err != nil {
					b.Fatal(err)
				}
				bs.Free()
			}
		})
	}
}

// TestOurMessagesAreNotRecursive guards the codec's one difference in
// robustness from protobuf-go: the generated unmarshaller and the UTF-8
// plan recurse once per level of nesting without protobuf-go's depth limit
// (10000), so a request's depth must be bounded by the schema itself. A
// message type that can contain itself, directly or through others, would
// let a caller send arbitrarily deep messages; this fails if one is added.
func TestOurMessagesAreNotRecursive(t *testing.T) {
	for _, mt := range ourMessages(t) {
		require.Empty(t, cycleFrom(mt.Descriptor(), nil), "a message type that contains itself")
	}
	// The check finds a cycle where there is one.
	require.Equal(t, []protoreflect.FullName{"far.M", "far.M"}, cycleFrom(farDescriptor(t), nil))
}

// cycleFrom returns a chain of message types from md back to one already
// on path, or nil if md's fields never lead back.
func cycleFrom(md protoreflect.MessageDescriptor, path []protoreflect.FullName) []protoreflect.FullName {
	for _, p := range path {
		if p == md.FullName() {
			return append(path, md.FullName())
		}
	}
	path = append(path, md.FullName())
	fields := md.Fields()
	for i := range fields.Len() {
		if sub := fields.Get(i).Message(); sub != nil {
			if c := cycleFrom(sub, slices.Clip(path)); c != nil {
				return c
			}
		}
	}
	return nil
}

// farDescriptor is message far.M: strings numbered 1 and 5000, bytes
// numbered 6000, and itself numbered 70000.
func farDescriptor(t *testing.T) protoreflect.MessageDescriptor {
	fdp := &descriptorpb.FileDescriptorProto{
		Name: proto.String("far.proto"), Package: proto.String("far"), Syntax: proto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{{
			Name: proto.String("M"),
			Field: []*descriptorpb.FieldDescriptorProto{
				{Name: proto.String("near"), Number: proto.Int32(1), Type: descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum(), Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum()},
				{Name: proto.String("far"), Number: proto.Int32(5000), Type: descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum(), Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum()},
				{Name: proto.String("raw"), Number: proto.Int32(6000), Type: descriptorpb.FieldDescriptorProto_TYPE_BYTES.Enum(), Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum()},
				{Name: proto.String("sub"), Number: proto.Int32(70000), Type: descriptorpb.FieldDescriptorProto_TYPE_MESSAGE.Enum(), TypeName: proto.String(".far.M"), Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum()},
			},
		}},
	}
	fd, err := protodesc.NewFile(fdp, nil)
	require.NoError(t, err)
	return fd.Messages().Get(0)
}

// TestCodecOnCorruptInput feeds the codec encodings of random messages of
// every type with bytes flipped, cut short or spliced: it never panics, it
// refuses what protobuf-go refuses, and what both accept decodes the same.
func TestCodecOnCorruptInput(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	forRandomMessages(t, r, 1000, func(mt protoreflect.MessageType, m proto.Message) {
		b, err := proto.Marshal(m)
		require.NoError(t, err)
		if len(b) == 0 {
			return
		}
		switch r.IntN(3) {
		case 0:
			b[r.IntN(len(b))] ^= byte(1 + r.IntN(255))
		case 1:
			b = b[:r.IntN(len(b))]
		default:
			i := r.IntN(len(b))
			b = append(b[:i:i], b[r.IntN(len(b)):]...)
		}
		want := mt.New().Interface()
		perr := proto.Unmarshal(b, want)
		got := mt.New().Interface()
		var cerr error
		require.NotPanics(t, func() { cerr = codec{}.Unmarshal(mem.BufferSlice{mem.SliceBuffer(b)}, got) })
		if perr != nil {
			require.Error(t, cerr, "%s: protobuf-go refused (%v) what the codec took: %x", mt.Descriptor().FullName(), perr, b)
			return
		}
		require.NoError(t, cerr, "%s: %x", mt.Descriptor().FullName(), b)
		require.True(t, proto.Equal(want, got), "%s: %x\n%v\n%v", mt.Descriptor().FullName(), b, want, got)
	})
}

// TestCodecKeepsUnknownFields sends a volume with a field the schema does
// not know, as a peer on a newer schema would: the codec decodes it (through
// protobuf-go), keeps the field, and writes it out again.
func TestCodecKeepsUnknownFields(t *testing.T) {
	v := &commonv1.Volume{Name: "v1", Options: map[string]string{"a": "b"}}
	b, err := proto.Marshal(v)
	require.NoError(t, err)
	b = protowire.AppendString(protowire.AppendTag(b, 999, protowire.BytesType), "from a newer schema")
	got := new(commonv1.Volume)
	require.NoError(t, codec{}.Unmarshal(mem.BufferSlice{mem.SliceBuffer(b)}, got))
	require.Equal(t, "v1", got.GetName())
	require.NotEmpty(t, got.ProtoReflect().GetUnknown())
	want := new(commonv1.Volume)
	require.NoError(t, proto.Unmarshal(b, want))
	again := new(commonv1.Volume)
	require.NoError(t, proto.Unmarshal(marshalled(t, got), again))
	require.True(t, proto.Equal(want, again), "%v\n%v", want, again)
}
