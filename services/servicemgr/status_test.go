package servicemgr

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"

	"github.com/glusterd-ng/glusterd-ng/libs/storeclient"
	"github.com/glusterd-ng/glusterd-ng/libs/testutil"
	"github.com/glusterd-ng/glusterd-ng/services/store"
)

var consul *testutil.Consul

func TestMain(m *testing.M) { os.Exit(testutil.MainWithConsul(m, &consul)) }

// Daemons' statuses are recorded in batches: more entries than one batch
// holds all land in the store with their versions noted, and a batch with
// an entry changed behind the node's back is written entry by entry, each
// from the version the store holds, so nothing is lost.
func TestStatusesAreRecordedInBatches(t *testing.T) {
	_, conn := store.TestServer(t, consul.HTTPAddr, nil)
	sc := storeclient.New(conn)
	s := &Server{store: sc, log: zaptest.NewLogger(t)}
	ctx := t.Context()
	node := uuid.NewString()
	session, err := sc.OpenSession(ctx, node, 30*time.Second)
	require.NoError(t, err)

	entry := func(i int, state string) *commonv1.RuntimeEntry {
		return &commonv1.RuntimeEntry{NodeId: node, Name: fmt.Sprintf("brick-%03d", i), Kind: "brick", State: state}
	}
	n := statusBatch + statusBatch/2
	written := map[string]*commonv1.RuntimeEntry{}
	var writes []storeclient.RuntimeWrite
	for i := range n {
		writes = append(writes, storeclient.RuntimeWrite{Entry: entry(i, "stopped")})
	}
	s.writeStatuses(ctx, writes, session, written)
	require.Len(t, written, n)
	stored, err := sc.Runtime(ctx, node)
	require.NoError(t, err)
	require.Len(t, stored, n)
	for _, e := range stored {
		require.Equal(t, written[e.Name].Version, e.Version, e.Name)
	}

	// brick-001 is rewritten behind the node's back: the batch that still
	// names its old version fails as a whole, and every entry of it is
	// written one by one.
	_, err = sc.PutRuntime(ctx, entry(1, "unknown"), session, written["brick-001"].Version)
	require.NoError(t, err)
	writes = []storeclient.RuntimeWrite{
		{Entry: entry(0, "running"), Version: written["brick-000"].Version},
		{Entry: entry(1, "running"), Version: written["brick-001"].Version},
	}
	s.writeStatuses(ctx, writes, session, written)
	for _, name := range []string{"brick-000", "brick-001"} {
		got, err := sc.RuntimeEntry(ctx, node, name)
		require.NoError(t, err)
		require.Equal(t, "running", got.State, name)
		require.Equal(t, got.Version, written[name].Version, name)
	}
}
