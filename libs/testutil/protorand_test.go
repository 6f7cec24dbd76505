package testutil

import (
	"math/rand/v2"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"

	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"
	storev1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/store/v1"
)

// zeroScalar gives every non-message field a set value that is easy to make.
func zeroScalar(_ *rand.Rand, fd protoreflect.FieldDescriptor) protoreflect.Value {
	switch fd.Kind() {
	case protoreflect.StringKind:
		return protoreflect.ValueOfString("s")
	case protoreflect.BoolKind:
		return protoreflect.ValueOfBool(true)
	case protoreflect.EnumKind:
		return protoreflect.ValueOfEnum(1)
	case protoreflect.BytesKind:
		return protoreflect.ValueOfBytes([]byte{1})
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return protoreflect.ValueOfInt32(1)
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return protoreflect.ValueOfInt64(1)
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return protoreflect.ValueOfUint32(1)
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return protoreflect.ValueOfUint64(1)
	case protoreflect.FloatKind:
		return protoreflect.ValueOfFloat32(1)
	}
	return protoreflect.ValueOfFloat64(1)
}

// deepest is how many levels of set messages lie below m (0: none).
func deepest(m protoreflect.Message) int {
	most := 0
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		var subs []protoreflect.Message
		switch {
		case fd.IsMap() && fd.MapValue().Kind() == protoreflect.MessageKind:
			v.Map().Range(func(_ protoreflect.MapKey, e protoreflect.Value) bool {
				subs = append(subs, e.Message())
				return true
			})
		case fd.IsList() && fd.Kind() == protoreflect.MessageKind:
			for i := range v.List().Len() {
				subs = append(subs, v.List().Get(i).Message())
			}
		case !fd.IsMap() && !fd.IsList() && fd.Kind() == protoreflect.MessageKind:
			subs = append(subs, v.Message())
		}
		for _, s := range subs {
			most = max(most, 1+deepest(s))
		}
		return true
	})
	return most
}

// Fill nests no deeper than asked (below that, messages are set but
// empty), reaches that depth, and lets the Message hook fill the types it
// takes.
func TestRandomFill(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	hooked := 0
	f := RandomFill{Scalar: zeroScalar, Message: func(_ *rand.Rand, m protoreflect.Message) bool {
		if m.Descriptor().FullName() != "google.protobuf.Timestamp" {
			return false
		}
		hooked++
		m.Set(m.Descriptor().Fields().ByName("seconds"), protoreflect.ValueOfInt64(42))
		return true
	}}
	reached := 0
	for range 500 {
		res := (&storev1.Resource{}).ProtoReflect()
		f.Fill(r, res, 1)
		// Messages filled 1 level below the resource, and set but empty
		// ones one level below that.
		if d := deepest(res); d > 2 {
			t.Fatalf("messages nested %d deep with a limit of 1: %v", d, res.Interface())
		} else {
			reached = max(reached, d)
		}
	}
	if reached < 2 {
		t.Fatalf("the deepest nesting reached was %d, want the limit", reached)
	}
	if hooked == 0 {
		t.Fatal("the Message hook was never asked to fill a Timestamp")
	}
	v := (&commonv1.Volume{}).ProtoReflect()
	f.Fill(r, v, -1)
	if deepest(v) != 0 || v.Interface().(*commonv1.Volume).GetName() != "" {
		t.Fatalf("a negative depth filled %v", v.Interface())
	}
}
