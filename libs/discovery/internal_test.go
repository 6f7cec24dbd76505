package discovery

import (
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"google.golang.org/grpc/resolver"

	"github.com/glusterd-ng/glusterd-ng/libs/testutil"
)

func TestNextIndex(t *testing.T) {
	cases := []struct {
		name       string
		prev, last uint64
		want       uint64
	}{
		{"first answer", 0, 42, 42},
		{"moves forward", 42, 50, 50},
		{"unchanged after timeout", 50, 50, 50},
		{"goes backwards resets", 50, 7, 0},
		{"zero blocks from 1", 0, 0, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, c.want, nextIndex(c.prev, c.last))
		})
	}
}

func TestNextBackoff(t *testing.T) {
	d := time.Duration(0)
	var seen []time.Duration
	for range 8 {
		d = nextBackoff(d)
		seen = append(seen, d)
	}
	require.Equal(t, minBackoff, seen[0])
	require.Equal(t, 2*minBackoff, seen[1])
	require.Equal(t, maxBackoff, seen[len(seen)-1])
}

// scriptedHealth answers health queries with a fixed list of indexes, then
// blocks until the query's context ends; it records the WaitIndex of each query.
type scriptedHealth struct {
	mu      sync.Mutex
	indexes []uint64
	waits   []uint64
}

func (h *scriptedHealth) Service(_, _ string, _ bool, q *api.QueryOptions) ([]*api.ServiceEntry, *api.QueryMeta, error) {
	h.mu.Lock()
	h.waits = append(h.waits, q.WaitIndex)
	if len(h.indexes) == 0 {
		h.mu.Unlock()
		<-q.Context().Done()
		return nil, nil, q.Context().Err()
	}
	idx := h.indexes[0]
	h.indexes = h.indexes[1:]
	h.mu.Unlock()
	entry := &api.ServiceEntry{Node: &api.Node{Address: "10.0.0.1"}, Service: &api.AgentService{Port: int(idx)}}
	return []*api.ServiceEntry{entry}, &api.QueryMeta{LastIndex: idx}, nil
}

func (h *scriptedHealth) Waits() []uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]uint64(nil), h.waits...)
}

func TestResolverFollowsConsulIndexRules(t *testing.T) {
	h := &scriptedHealth{indexes: []uint64{10, 12, 5, 0, 9}}
	b := &consulBuilder{health: h, logger: zap.NewNop()}
	cc := &RecordingConn{}
	u, err := url.Parse("consul:///svc")
	require.NoError(t, err)
	r, err := b.Build(resolver.Target{URL: *u}, cc, resolver.BuildOptions{})
	require.NoError(t, err)
	defer r.Close()

	testutil.Await(t, 5*time.Second, func() bool { return len(h.Waits()) == 6 }, "queries: %v", h.Waits())
	require.Equal(t, []uint64{0, 10, 12, 0, 1, 9}, h.Waits())
	addrs, _ := cc.Addrs()
	require.Equal(t, []string{"10.0.0.1:9"}, addrs, "the node address stands in for an empty service address")
	require.Equal(t, 5, cc.Updates(), "one update per changed address list")
}

func TestResolverCloseStopsWatch(t *testing.T) {
	h := &scriptedHealth{}
	b := &consulBuilder{health: h, logger: zap.NewNop()}
	u, err := url.Parse("consul:///svc")
	require.NoError(t, err)
	r, err := b.Build(resolver.Target{URL: *u}, &RecordingConn{}, resolver.BuildOptions{})
	require.NoError(t, err)
	testutil.Await(t, 2*time.Second, func() bool { return len(h.Waits()) == 1 }, "no query made")

	closed := make(chan struct{})
	go func() {
		r.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(2 * time.Second):
		t.Fatal("Close did not stop the blocking query")
	}
}
