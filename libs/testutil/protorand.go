package testutil

import (
	"math/rand/v2"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// RandomFill fills protobuf messages with random contents, for tests that
// hold two encoders or parsers to each other over many inputs.
type RandomFill struct {
	// Scalar returns a random value for a field, map key or map value that
	// is not a message.
	Scalar func(r *rand.Rand, fd protoreflect.FieldDescriptor) protoreflect.Value
	// Message, when set, may fill m itself and return true: for message
	// types whose values are constrained (a Timestamp in range).
	Message func(r *rand.Rand, m protoreflect.Message) bool
}

// Fill sets a random subset of m's fields (about three in four, at most one
// of each oneof), with one to three entries in a list or map, and nests
// messages down to depth levels below m; a message below that is set but
// left empty.
func (f RandomFill) Fill(r *rand.Rand, m protoreflect.Message, depth int) {
	if f.Message != nil && f.Message(r, m) {
		return
	}
	if depth < 0 {
		return
	}
	fields := m.Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if r.IntN(4) == 0 {
			continue
		}
		if od := fd.ContainingOneof(); od != nil && m.WhichOneof(od) != nil {
			continue // a oneof keeps the first member drawn
		}
		switch {
		case fd.IsMap():
			mp := m.Mutable(fd).Map()
			for range 1 + r.IntN(3) {
				v := mp.NewValue()
				if fd.MapValue().Kind() == protoreflect.MessageKind {
					f.Fill(r, v.Message(), depth-1)
				} else {
					v = f.Scalar(r, fd.MapValue())
				}
				mp.Set(f.Scalar(r, fd.MapKey()).MapKey(), v)
			}
		case fd.IsList():
			l := m.Mutable(fd).List()
			for range 1 + r.IntN(3) {
				if fd.Kind() == protoreflect.MessageKind {
					v := l.NewElement()
					f.Fill(r, v.Message(), depth-1)
					l.Append(v)
				} else {
					l.Append(f.Scalar(r, fd))
				}
			}
		case fd.Kind() == protoreflect.MessageKind:
			f.Fill(r, m.Mutable(fd).Message(), depth-1)
		default:
			m.Set(fd, f.Scalar(r, fd))
		}
	}
}
