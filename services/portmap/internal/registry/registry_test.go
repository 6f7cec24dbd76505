package registry

import (
	"net"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAllocateSkipsUsedAndBoundPorts(t *testing.T) {
	l, err := net.Listen("tcp", ":0")
	require.NoError(t, err)
	defer l.Close()
	busy := l.Addr().(*net.TCPAddr).Port
	r, err := New(busy, busy+2)
	require.NoError(t, err)
	// The real bind test decides for the port this test listens on; the
	// two above it are ephemeral ports other processes may hold at any
	// moment, so they count as free here.
	require.False(t, canBind(busy), "the listened port cannot be bound")
	r.free = func(p int) bool { return p != busy || canBind(p) }
	seen := map[int]bool{}
	for i := range 2 {
		p, err := r.Allocate("/b/" + strconv.Itoa(i))
		require.NoError(t, err)
		require.NotEqual(t, busy, p, "a port someone listens on is never handed out")
		require.False(t, seen[p], "a port is handed out once")
		seen[p] = true
	}
	_, err = r.Allocate("/b/x")
	require.ErrorContains(t, err, "no free port")
}

func TestSignInOutAndLookup(t *testing.T) {
	r, err := New(49152, 60999)
	require.NoError(t, err)
	_, ok := r.Port("/b/1")
	require.False(t, ok)
	r.SignIn("/b/1", 50000, 42, 7)
	p, ok := r.Port("/b/1")
	require.True(t, ok)
	require.Equal(t, 50000, p)
	p, ok = r.PortOf([]byte("/b/1"))
	require.True(t, ok)
	require.Equal(t, 50000, p)
	r.Detach(7)
	_, ok = r.Port("/b/1")
	require.True(t, ok, "a dropped connection keeps the mapping until the brick signs out")
	require.True(t, r.SignOut("/b/1"))
	_, ok = r.Port("/b/1")
	require.False(t, ok)
	_, ok = r.PortOf([]byte("/b/1"))
	require.False(t, ok)
	_, err = New(10, 5)
	require.Error(t, err)
}

func TestChangedIsClosedByEveryChangeOfTheMap(t *testing.T) {
	r, err := New(49152, 60999)
	require.NoError(t, err)
	closed := func(ch <-chan struct{}) bool {
		select {
		case <-ch:
			return true
		default:
			return false
		}
	}
	ch := r.Changed()
	_, err = r.Allocate("/b/1")
	require.NoError(t, err)
	require.False(t, closed(ch), "an allocation is not a registration")
	r.SignIn("/b/1", 50000, 42, 7)
	require.True(t, closed(ch), "sign-in")

	ch = r.Changed()
	r.SignIn("/b/1", 50000, 42, 8)
	r.Detach(8)
	require.False(t, closed(ch), "the same registration again, or a dropped connection, changes nothing listed")
	r.SignIn("/b/1", 50001, 43, 8)
	require.True(t, closed(ch), "a new port")

	ch = r.Changed()
	require.False(t, r.SignOut("/b/2"))
	require.False(t, closed(ch), "signing out an unknown brick")
	require.True(t, r.SignOut("/b/1"))
	require.True(t, closed(ch), "sign-out")
}
