package schema

import (
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	storev1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/store/v1"
)

// Every resource's deletion record and its kind's compacted key lie under
// the kind's feed prefix, and parse back to what they are about.
func TestDeletionRecordsLieInTheirKindsDirectory(t *testing.T) {
	l, err := NewLayout("g/")
	require.NoError(t, err)
	keys := []*storev1.ResourceKey{
		{Kind: storev1.Kind_PEER, Name: "7c1f7b8e-3d2a-4d0e-9a5b-2f6f0c9d1e21"},
		{Kind: storev1.Kind_VOLUME, Name: "gv0"},
		{Kind: storev1.Kind_TRANSACTION, Name: "7c1f7b8e-3d2a-4d0e-9a5b-2f6f0c9d1e21"},
		{Kind: storev1.Kind_RUNTIME, NodeId: "7c1f7b8e-3d2a-4d0e-9a5b-2f6f0c9d1e21", Name: "brick.b1"},
		{Kind: storev1.Kind_LOCK, Name: "volume.gv0"},
	}
	for _, k := range keys {
		ck, err := l.Key(k)
		require.NoError(t, err)
		feed, err := l.FeedPrefix(k.Kind)
		require.NoError(t, err)
		tprefix, err := l.TombstonePrefix(k.Kind)
		require.NoError(t, err)
		comp, err := l.Compacted(k.Kind)
		require.NoError(t, err)
		tomb := l.Tombstone(ck)
		for _, key := range []string{ck, tomb, comp} {
			require.Contains(t, key, feed, "%s under its kind's feed", key)
		}
		require.Contains(t, tomb, tprefix)

		p, ok := l.Parse(ck)
		require.True(t, ok)
		require.True(t, proto.Equal(k, p.Key), "%v vs %v", k, p.Key)
		require.False(t, p.Tombstone || p.Compacted)
		p, ok = l.Parse(tomb)
		require.True(t, ok)
		require.True(t, proto.Equal(k, p.Key), "%v vs %v", k, p.Key)
		require.True(t, p.Tombstone)
		p, ok = l.Parse(comp)
		require.True(t, ok)
		require.True(t, p.Compacted)
		require.Equal(t, k.Kind, p.Key.Kind)
	}
	rt, err := l.KindPrefix(storev1.Kind_RUNTIME, "7c1f7b8e-3d2a-4d0e-9a5b-2f6f0c9d1e21")
	require.NoError(t, err)
	require.NotContains(t, l.Tombstone(rt+"brick.b1"), rt, "one node's runtime listing holds no deletion records")
	for _, legacy := range []string{l.LegacyCompacted(), l.LegacyTombstonePrefix() + "volumes/gv0", "g/v1/unknown/x", "other/v1/volumes/x"} {
		_, ok := l.Parse(legacy)
		require.False(t, ok, legacy)
	}
}

// The byte loop that replaced a regular expression accepts exactly what
// ^[A-Za-z0-9_.-]+$ does, for every byte and for names around the rules.
func TestNameCharactersAreThoseOfTheDocumentedClass(t *testing.T) {
	class := regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)
	for c := 0; c < 256; c++ {
		name := "a" + string([]byte{byte(c)}) + "b"
		if got, want := onlyNameChars(name), class.MatchString(name); got != want {
			t.Errorf("byte %#x: accepted %v, want %v", c, got, want)
		}
	}
	for _, name := range []string{"gv0", "my_vol.1-a", "a b", "vol/1", "é", "vol\x00", "Z9"} {
		if got, want := onlyNameChars(name), class.MatchString(name); got != want {
			t.Errorf("%q: accepted %v, want %v", name, got, want)
		}
	}
}
