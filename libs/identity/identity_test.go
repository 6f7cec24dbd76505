package identity

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCreatedOnceAndKept(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, "")
	require.NoError(t, err)
	id := s.Get().NodeID
	require.Len(t, id, 36)
	_, err = s.Update(func(i *Identity) { i.ClusterID = "c1" })
	require.NoError(t, err)

	again, err := Open(dir, "")
	require.NoError(t, err)
	require.Equal(t, id, again.Get().NodeID)
	require.Equal(t, "c1", again.Get().ClusterID)

	_, err = Open(dir, "0d6f7b52-2d4a-4b55-9b6c-5a1d4e3f2a10")
	require.ErrorContains(t, err, "never changes")
	_, err = Open(t.TempDir(), "not-a-uuid")
	require.ErrorContains(t, err, "not a lower-case UUID")

	fixed, err := Open(t.TempDir(), "0d6f7b52-2d4a-4b55-9b6c-5a1d4e3f2a10")
	require.NoError(t, err)
	require.Equal(t, "0d6f7b52-2d4a-4b55-9b6c-5a1d4e3f2a10", fixed.Get().NodeID)
}

func TestConcurrentOpenAgrees(t *testing.T) {
	dir := t.TempDir()
	ids := make(chan string, 8)
	for range 8 {
		go func() {
			s, err := Open(dir, "")
			if err != nil {
				ids <- err.Error()
				return
			}
			ids <- s.Get().NodeID
		}()
	}
	first := <-ids
	for range 7 {
		require.Equal(t, first, <-ids, "every service of the node sees one id")
	}
}
