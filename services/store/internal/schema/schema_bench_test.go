package schema

import (
	"testing"

	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"
	storev1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/store/v1"
)

func benchRes() *storev1.Resource {
	v := &commonv1.Volume{Name: "gv0", Type: commonv1.VolumeType_DISTRIBUTED_REPLICATE, ReplicaCount: 3,
		Options: map[string]string{"a.b": "1", "c.d": "2", "e.f": "3"}}
	for s := 0; s < 2; s++ {
		sv := &commonv1.Subvolume{}
		for b := 0; b < 3; b++ {
			sv.Bricks = append(sv.Bricks, &commonv1.Brick{Id: "00000000-0000-4000-8000-000000000001", PeerId: "10000000-0000-4000-8000-000000000001", Host: "node1", Path: "/bricks/gv0/b1"})
		}
		v.Subvolumes = append(v.Subvolumes, sv)
	}
	return &storev1.Resource{Body: &storev1.Resource_Volume{Volume: v}}
}

func BenchmarkEncode(b *testing.B) {
	r := benchRes()
	for b.Loop() {
		if _, err := Encode(r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	val, _ := Encode(benchRes())
	for b.Loop() {
		if _, err := Decode(storev1.Kind_VOLUME, val, 5); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkKeyOf(b *testing.B) {
	r := benchRes()
	for b.Loop() {
		if _, err := KeyOf(r); err != nil {
			b.Fatal(err)
		}
	}
}
