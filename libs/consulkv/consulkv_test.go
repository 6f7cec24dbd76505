package consulkv

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/glusterd-ng/glusterd-ng/libs/errs"
	"github.com/glusterd-ng/glusterd-ng/libs/testutil"
)

var shared *testutil.Consul

func TestMain(m *testing.M) { os.Exit(testutil.MainWithConsul(m, &shared)) }

func newClient(t *testing.T, addr string) *Client {
	t.Helper()
	c, err := New(Config{Address: addr, Timeout: 2 * time.Second, WaitTime: 2 * time.Second})
	require.NoError(t, err)
	return c
}

func TestCASAndTxn(t *testing.T) {
	ctx := t.Context()
	c := newClient(t, shared.HTTPAddr)
	p := t.Name() + "/"
	require.NoError(t, c.CAS(ctx, p+"a", []byte("1"), 0))
	err := c.CAS(ctx, p+"a", []byte("2"), 0)
	require.True(t, errs.Is(err, errs.Conflict), "%v", err)
	e, _, err := c.Get(ctx, p+"a")
	require.NoError(t, err)
	require.Equal(t, "1", string(e.Value))

	res, idx, err := c.Txn(ctx, []Op{SetCAS(p+"a", []byte("3"), e.ModifyIndex), Set(p+"b", []byte("x"))})
	require.NoError(t, err)
	require.Len(t, res, 2)
	require.Equal(t, idx, res[1].ModifyIndex)

	_, _, err = c.Txn(ctx, []Op{Set(p+"c", []byte("y")), CheckIndex(p+"a", e.ModifyIndex)})
	require.True(t, errs.Is(err, errs.Conflict))
	var te *TxnError
	require.ErrorAs(t, err, &te)
	require.Equal(t, 1, te.OpIndex)
	missing, _, err := c.Get(ctx, p+"c")
	require.NoError(t, err)
	require.Nil(t, missing, "a refused transaction must write nothing")

	ops := make([]Op, MaxTxnOps+1)
	for i := range ops {
		ops[i] = Set(p+"many", nil)
	}
	_, _, err = c.Txn(ctx, ops)
	require.True(t, errs.Is(err, errs.TooLarge))
}

func TestValueTooLarge(t *testing.T) {
	c := newClient(t, shared.HTTPAddr)
	err := c.CAS(t.Context(), t.Name(), make([]byte, DefaultMaxValueSize+1), 0)
	require.True(t, errs.Is(err, errs.TooLarge), "%v", err)
}

func TestSessionReleaseBumpsIndex(t *testing.T) {
	ctx := t.Context()
	c := newClient(t, shared.HTTPAddr)
	id, err := c.CreateSession(ctx, SessionConfig{Name: "t", TTL: 10 * time.Second})
	require.NoError(t, err)
	res, _, err := c.Txn(ctx, []Op{Lock(t.Name(), []byte("v"), id)})
	require.NoError(t, err)
	require.Equal(t, id, res[0].Session)
	require.NoError(t, c.DestroySession(ctx, id))
	e, _, err := c.Get(ctx, t.Name())
	require.NoError(t, err)
	require.Empty(t, e.Session)
	require.Greater(t, e.ModifyIndex, res[0].ModifyIndex, "release must show as a change")
	alive, err := c.SessionAlive(ctx, id)
	require.NoError(t, err)
	require.False(t, alive)
	_, err = c.CreateSession(ctx, SessionConfig{TTL: time.Second})
	require.True(t, errs.Is(err, errs.Invalid))
}

func TestUnavailableFailsFastAndWatchResumes(t *testing.T) {
	own := testutil.NewConsul(t)
	c := newClient(t, own.HTTPAddr)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()

	var mu sync.Mutex
	seen := map[string]uint64{}
	var last uint64
	go c.WatchPrefix(ctx, "w/", func(entries []Entry, index uint64, reset bool) {
		mu.Lock()
		defer mu.Unlock()
		require.False(t, reset)
		require.GreaterOrEqual(t, index, last)
		last = index
		for _, e := range entries {
			seen[e.Key] = e.ModifyIndex
		}
	}, nil)
	require.NoError(t, c.CAS(ctx, "w/1", []byte("1"), 0))
	has := func(k string) func() bool {
		return func() bool { mu.Lock(); defer mu.Unlock(); _, ok := seen[k]; return ok }
	}
	testutil.Await(t, 5*time.Second, has("w/1"), "watch saw w/1")

	own.Kill()
	_, _, err := c.Get(ctx, "w/1")
	require.True(t, errs.Is(err, errs.Unavailable), "%v", err)
	_, err = c.Leader(ctx)
	require.True(t, errs.Is(err, errs.Unavailable), "%v", err)

	require.NoError(t, own.Start())
	require.NoError(t, c.CAS(ctx, "w/2", []byte("2"), 0))
	testutil.Await(t, 10*time.Second, has("w/2"), "watch resumed after restart")
}

func TestWatchReportsIndexReset(t *testing.T) {
	own := testutil.NewConsul(t)
	c := newClient(t, own.HTTPAddr)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	for i := range 30 {
		require.NoError(t, c.CAS(ctx, fmt.Sprintf("r/%d", i), []byte("x"), 0))
	}
	resets := make(chan uint64, 10)
	listed := make(chan struct{})
	var once sync.Once
	go c.WatchPrefix(ctx, "r/", func(_ []Entry, index uint64, reset bool) {
		once.Do(func() { close(listed) })
		if reset {
			resets <- index
		}
	}, nil)
	<-listed
	require.NoError(t, own.Wipe())
	require.NoError(t, own.Start())
	select {
	case <-resets:
	case <-time.After(20 * time.Second):
		t.Fatal("an index that went backwards was not reported as a reset")
	}
}

func TestBatcherGroupsAndSeparatesResults(t *testing.T) {
	c := newClient(t, shared.HTTPAddr)
	b := NewBatcher(c, 1)
	ctx := t.Context()
	p := t.Name() + "/"
	require.NoError(t, c.CAS(ctx, p+"taken", []byte("x"), 0))
	var wg sync.WaitGroup
	errsOut := make([]error, 40)
	vers := make([]uint64, 40)
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := fmt.Sprintf("%sk%d", p, i)
			if i%10 == 9 {
				key = p + "taken" // a create that must fail, alone
			}
			es, _, err := b.Txn(ctx, []Op{SetCAS(key, []byte(fmt.Sprint(i)), 0)})
			errsOut[i] = err
			if err == nil {
				require.Len(t, es, 1)
				require.Equal(t, key, es[0].Key)
				vers[i] = es[0].ModifyIndex
			}
		}()
	}
	wg.Wait()
	for i, err := range errsOut {
		if i%10 == 9 {
			require.True(t, errs.Is(err, errs.Conflict), "create of an existing key refused: %v", err)
			var te *TxnError
			require.ErrorAs(t, err, &te)
			require.Equal(t, 0, te.OpIndex, "the refused op's index is relative to its own transaction")
			continue
		}
		require.NoError(t, err)
		e, _, err := c.Get(ctx, fmt.Sprintf("%sk%d", p, i))
		require.NoError(t, err)
		require.Equal(t, fmt.Sprint(i), string(e.Value))
		require.Equal(t, e.ModifyIndex, vers[i])
	}
	// Two writers of one key never share a batch: one wins, one conflicts.
	e, _, err := c.Get(ctx, p+"k0")
	require.NoError(t, err)
	res := make(chan error, 2)
	for range 2 {
		go func() {
			_, _, err := b.Txn(ctx, []Op{SetCAS(p+"k0", []byte("new"), e.ModifyIndex)})
			res <- err
		}()
	}
	e1, e2 := <-res, <-res
	require.True(t, (e1 == nil) != (e2 == nil), "exactly one wins: %v / %v", e1, e2)
}

// TestTxnConnections checks the transactions' own connections: they are
// reused, a kept connection that was closed meanwhile is replaced without
// failing the write, a cancelled call fails as canceled, and a read-only
// transaction reports Consul's index.
func TestTxnConnections(t *testing.T) {
	ctx := t.Context()
	c := newClient(t, shared.HTTPAddr)
	require.NotNil(t, c.txns, "plain HTTP address: transactions use their own connections")
	p := t.Name() + "/"
	_, idx, err := c.Txn(ctx, []Op{Set(p+"a", []byte("1"))})
	require.NoError(t, err)
	require.NotZero(t, idx)
	require.Len(t, c.txns.idle, 1, "connection kept for the next transaction")

	// A kept connection closed underneath (as by Consul's idle timeout).
	c.txns.idle[0].conn.Close()
	res, idx2, err := c.Txn(ctx, []Op{SetCAS(p+"a", []byte("2"), idx)})
	require.NoError(t, err)
	require.Greater(t, idx2, idx)
	require.Equal(t, idx2, res[0].ModifyIndex)

	// Read-only: the index comes from Consul's X-Consul-Index header.
	_, idx3, err := c.Txn(ctx, []Op{CheckIndex(p+"a", idx2)})
	require.NoError(t, err)
	require.GreaterOrEqual(t, idx3, idx2)

	// Refused: a Conflict naming the operation.
	_, _, err = c.Txn(ctx, []Op{Set(p+"b", []byte("x")), CheckIndex(p+"a", idx)})
	require.True(t, errs.Is(err, errs.Conflict), "%v", err)
	var te *TxnError
	require.ErrorAs(t, err, &te)
	require.Equal(t, 1, te.OpIndex)

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, _, err = c.Txn(cctx, []Op{Set(p+"c", []byte("x"))})
	require.True(t, errs.Is(err, errs.Canceled), "%v", err)
	_, _, err = c.Txn(ctx, []Op{Set(p+"c", []byte("y"))})
	require.NoError(t, err, "a cancelled call leaves no broken connection behind")
}

func TestWatchIntervalReadsABurstOfWritesTogether(t *testing.T) {
	kv, err := New(Config{Address: shared.HTTPAddr, Timeout: 2 * time.Second, WaitTime: 2 * time.Second, WatchInterval: 2 * time.Second})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	p := fmt.Sprintf("%s-%d/", t.Name(), time.Now().UnixNano())
	type listing struct{ keys int }
	listings := make(chan listing, 100)
	go kv.WatchPrefix(ctx, p, func(entries []Entry, _ uint64, _ bool) { listings <- listing{len(entries)} }, nil)
	<-listings // the first listing: empty
	// A burst of 20 writes, well within the interval: the first wakes the
	// watch at once; the rest are read in one more listing, not 19.
	for i := range 20 {
		require.NoError(t, kv.CAS(ctx, fmt.Sprintf("%s%d", p, i), []byte("x"), 0))
	}
	n := 0
	for l := range listings {
		n++
		if l.keys == 20 {
			break
		}
	}
	require.LessOrEqual(t, n, 2, "listings after the burst")
}
