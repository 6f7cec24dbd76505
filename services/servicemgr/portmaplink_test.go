package servicemgr

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	portmapv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/portmap/v1"

	"github.com/glusterd-ng/glusterd-ng/libs/testutil"
)

// fakePortmap serves WatchPorts from maps the test sends (nil ends the
// stream with Unavailable) and ListPorts from the last map, counting calls.
type fakePortmap struct {
	portmapv1.UnimplementedPortmapServer
	maps chan map[string]int32

	mu           sync.Mutex
	current      map[string]int32
	lists, opens int
}

func (f *fakePortmap) answer(m map[string]int32) *portmapv1.ListPortsResponse {
	out := &portmapv1.ListPortsResponse{}
	for b, p := range m {
		out.Ports = append(out.Ports, &portmapv1.PortEntry{BrickPath: b, Port: p})
	}
	return out
}

func (f *fakePortmap) ListPorts(context.Context, *portmapv1.ListPortsRequest) (*portmapv1.ListPortsResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lists++
	return f.answer(f.current), nil
}

func (f *fakePortmap) WatchPorts(_ *portmapv1.WatchPortsRequest, stream portmapv1.Portmap_WatchPortsServer) error {
	f.mu.Lock()
	f.opens++
	f.mu.Unlock()
	for {
		select {
		case <-stream.Context().Done():
			return nil
		case m := <-f.maps:
			if m == nil {
				return status.Error(codes.Unavailable, "portmap going away")
			}
			f.mu.Lock()
			f.current = m
			f.mu.Unlock()
			if err := stream.Send(f.answer(m)); err != nil {
				return err
			}
		}
	}
}

func (f *fakePortmap) counts() (lists, opens int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lists, f.opens
}

// While the WatchPorts stream is open, SignedIn answers from the map it
// sent without calling the portmap; when it breaks, SignedIn asks
// ListPorts, and the stream is opened again.
func TestPortmapLinkAnswersFromTheFollowedMap(t *testing.T) {
	fake := &fakePortmap{maps: make(chan map[string]int32)}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := grpc.NewServer()
	portmapv1.RegisterPortmapServer(srv, fake)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)

	var changes atomic.Int32
	link := &portmapLink{target: lis.Addr().String(), onChange: func() { changes.Add(1) }}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { link.follow(ctx, zaptest.NewLogger(t)); close(done) }()
	t.Cleanup(func() { cancel(); <-done; link.Close() })
	live := func() bool {
		link.mu.Lock()
		defer link.mu.Unlock()
		return link.live
	}

	fake.maps <- map[string]int32{"/b/1": 50000}
	testutil.Await(t, 10*time.Second, live, "the link follows the stream")
	require.True(t, link.SignedIn(ctx, "/b/1", 50000))
	require.False(t, link.SignedIn(ctx, "/b/1", 50001), "another port")
	require.False(t, link.SignedIn(ctx, "/b/2", 50002))
	fake.maps <- map[string]int32{"/b/2": 50002}
	testutil.Await(t, 10*time.Second, func() bool { return link.SignedIn(ctx, "/b/2", 50002) }, "b2 signed in")
	require.False(t, link.SignedIn(ctx, "/b/1", 50000), "b1 signed out")
	lists, opens := fake.counts()
	require.Zero(t, lists, "no ListPorts while the stream is followed")
	require.Equal(t, 1, opens)
	require.EqualValues(t, 2, changes.Load(), "each new map reported")
	fake.maps <- map[string]int32{"/b/2": 50002}
	fake.maps <- map[string]int32{"/b/2": 50002, "/b/4": 50004} // delivered after the repeat
	testutil.Await(t, 10*time.Second, func() bool { return link.SignedIn(ctx, "/b/4", 50004) }, "b4 signed in")
	require.EqualValues(t, 3, changes.Load(), "the same map again is no change")

	// The stream breaks: answers come from ListPorts until it is open again.
	fake.maps <- nil
	testutil.Await(t, 10*time.Second, func() bool { return !live() }, "the link sees the break")
	require.True(t, link.SignedIn(ctx, "/b/2", 50002))
	lists, _ = fake.counts()
	require.Positive(t, lists, "asked the portmap")
	testutil.Await(t, 10*time.Second, func() bool { _, o := fake.counts(); return o == 2 }, "the stream is opened again")
	fake.maps <- map[string]int32{"/b/3": 50003}
	testutil.Await(t, 10*time.Second, live, "the link follows the new stream")
	require.True(t, link.SignedIn(ctx, "/b/3", 50003))
	require.False(t, link.SignedIn(ctx, "/b/2", 50002))
}
