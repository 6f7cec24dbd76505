package txn

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"
	storev1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/store/v1"

	"github.com/glusterd-ng/glusterd-ng/libs/errs"
	"github.com/glusterd-ng/glusterd-ng/libs/grpcx"
	"github.com/glusterd-ng/glusterd-ng/libs/storeclient"
	"github.com/glusterd-ng/glusterd-ng/libs/testutil"
	"github.com/glusterd-ng/glusterd-ng/services/store"
)

// The engine against a real Consul and the real store; only the node
// actions are fakes (the node side is covered by e2e).

var consul *testutil.Consul

func TestMain(m *testing.M) { os.Exit(testutil.MainWithConsul(m, &consul)) }

// newStore starts a store with its own KV prefix for one test.
func newStore(t *testing.T) *storeclient.Client {
	_, conn := store.TestServer(t, consul.HTTPAddr, nil)
	return storeclient.New(conn)
}

// countingConn counts the store calls made through it, by method; while
// cut, every call fails as if the store could not be reached.
type countingConn struct {
	grpc.ClientConnInterface
	cut   atomic.Bool
	mu    sync.Mutex
	calls map[string]int
}

func (c *countingConn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	if c.cut.Load() {
		return status.Error(codes.Unavailable, "connection error: cut off by the test")
	}
	err := c.ClientConnInterface.Invoke(ctx, method, args, reply, opts...)
	if err == nil {
		c.mu.Lock()
		c.calls[strings.TrimPrefix(method, "/gluster.store.v1.StoreService/")]++
		c.mu.Unlock()
	}
	return err
}

// count returns how many calls of method succeeded and resets the count.
func (c *countingConn) count(method string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.calls[method]
	c.calls = map[string]int{}
	return n
}

// newCountingStore is newStore whose calls are counted.
func newCountingStore(t *testing.T) (*storeclient.Client, *countingConn) {
	_, conn := store.TestServer(t, consul.HTTPAddr, nil)
	cc := &countingConn{ClientConnInterface: conn, calls: map[string]int{}}
	return storeclient.New(cc), cc
}

// nodes are fake nodes: steps of kind "fake" (and "fake-parallel", whose
// consecutive steps run at once) act on them. Each step is named by its
// "id" argument; what happened is logged as "<engine> do|undo <id>"
// ("... cancelled <id>" when a blocked Do saw its context end).
type nodes struct {
	mu  sync.Mutex
	log []string
	// block makes a step's Do wait until its context ends or the channel closes.
	block map[string]chan struct{}
	// started is closed when a blocked step's Do has begun.
	started map[string]chan struct{}
	// doErr and undoErr make a step's Do or Undo fail.
	doErr, undoErr map[string]error
	// notApplied makes a failing Do say it changed nothing.
	notApplied map[string]bool
	// onDo runs inside a step's Do (after it is logged).
	onDo map[string]func()
	// ctxErr is the error a blocked step's context ended with.
	ctxErr map[string]error
}

func newNodes() *nodes {
	return &nodes{block: map[string]chan struct{}{}, started: map[string]chan struct{}{}, doErr: map[string]error{},
		undoErr: map[string]error{}, notApplied: map[string]bool{}, onDo: map[string]func(){}, ctxErr: map[string]error{}}
}

// blockStep makes step id's Do block; the returned channel closes when it has begun.
func (n *nodes) blockStep(id string) chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.block[id] = make(chan struct{})
	n.started[id] = make(chan struct{})
	return n.started[id]
}

func (n *nodes) record(format string, args ...any) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.log = append(n.log, fmt.Sprintf(format, args...))
}

// events is the log so far.
func (n *nodes) events() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.log)
}

// actions are the fake actions as engine `who` runs them.
func (n *nodes) actions(who string) map[string]Action {
	do := func(ctx context.Context, s *commonv1.TransactionStep) error {
		id := s.Args["id"]
		n.record("%s do %s", who, id)
		n.mu.Lock()
		block, started, err, hook := n.block[id], n.started[id], n.doErr[id], n.onDo[id]
		n.mu.Unlock()
		if hook != nil {
			hook()
		}
		if block != nil {
			close(started)
			select {
			case <-block:
			case <-ctx.Done():
				n.mu.Lock()
				n.ctxErr[id] = ctx.Err()
				n.mu.Unlock()
				n.record("%s cancelled %s", who, id)
				return ctx.Err()
			}
		}
		if err != nil {
			n.mu.Lock()
			if n.notApplied[id] {
				s.Args[ArgNotApplied] = "true"
			}
			n.mu.Unlock()
			return err
		}
		s.Args["done_by"] = who
		return nil
	}
	undo := func(_ context.Context, s *commonv1.TransactionStep) error {
		id := s.Args["id"]
		n.record("%s undo %s", who, id)
		n.mu.Lock()
		defer n.mu.Unlock()
		return n.undoErr[id]
	}
	return map[string]Action{"fake": {Do: do, Undo: undo}, "pfake": {Do: do, Undo: undo, Parallel: true}}
}

// parallelSteps are steps of the parallel kind.
func parallelSteps(ids ...string) []*commonv1.TransactionStep {
	out := steps(ids...)
	for _, s := range out {
		s.Name = "pfake"
	}
	return out
}

// steps are fake steps with these ids, on nodes "node-<id>".
func steps(ids ...string) []*commonv1.TransactionStep {
	var out []*commonv1.TransactionStep
	for _, id := range ids {
		out = append(out, &commonv1.TransactionStep{Name: "fake", NodeId: "node-" + id, Args: map[string]string{"id": id}})
	}
	return out
}

// createVolume is a plan's commit: it creates volume name (a bare record).
func createVolume(name string) func(context.Context) ([]*storev1.Operation, error) {
	return func(context.Context) ([]*storev1.Operation, error) {
		return []*storev1.Operation{{Op: &storev1.Operation_Create{Create: &storev1.CreateRequest{
			Resource: &storev1.Resource{Body: &storev1.Resource_Volume{Volume: &commonv1.Volume{Name: name}}}}}}}, nil
	}
}

// engine is a running Engine (its session renewal and recovery) until stop.
type engine struct {
	*Engine
	stop func()
}

func startEngine(t *testing.T, st *storeclient.Client, actions map[string]Action, modify func(*Config)) *engine {
	cfg := Config{Owner: uuid.NewString(), SessionTTL: 10 * time.Second, RecoverInterval: 500 * time.Millisecond,
		StepTimeout: time.Minute, Timeout: time.Minute}
	if modify != nil {
		modify(&cfg)
	}
	e := New(cfg, st, actions, zaptest.NewLogger(t).Named(cfg.Owner[:8]))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); e.Run(ctx) }()
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return &engine{Engine: e, stop: stop}
}

// sessionID is the engine's current store session.
func (e *Engine) sessionID() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.session
}

// record reads a transaction's journal record.
func record(t *testing.T, st *storeclient.Client, id string) *commonv1.Transaction {
	t.Helper()
	r, err := st.Raw().Get(context.Background(), &storev1.GetRequest{Key: &storev1.ResourceKey{Kind: storev1.Kind_TRANSACTION, Name: id}})
	require.NoError(t, errs.FromStatus(err))
	return r.Resource.GetTransaction()
}

// onlyTransaction is the id of the one transaction in the journal.
func onlyTransaction(t *testing.T, st *storeclient.Client) string {
	t.Helper()
	l, err := st.Raw().List(context.Background(), &storev1.ListRequest{Kind: storev1.Kind_TRANSACTION})
	require.NoError(t, errs.FromStatus(err))
	require.Len(t, l.Resources, 1)
	return l.Resources[0].GetTransaction().Id
}

func stepStates(tx *commonv1.Transaction) []string {
	var out []string
	for _, s := range tx.Steps {
		out = append(out, s.Args["id"]+"="+strings.TrimPrefix(s.State.String(), "STEP_"))
	}
	return out
}

func requireNoVolume(t *testing.T, st *storeclient.Client, name string) {
	t.Helper()
	_, err := st.Volume(context.Background(), name)
	require.True(t, errs.Is(err, errs.NotFound), "volume %s must not exist (the commit was not applied): %v", name, err)
}

func requireLockFree(t *testing.T, st *storeclient.Client, target string) {
	t.Helper()
	_, err := st.Raw().Get(context.Background(), &storev1.GetRequest{Key: &storev1.ResourceKey{Kind: storev1.Kind_LOCK, Name: LockName(target)}})
	require.True(t, errs.Is(errs.FromStatus(err), errs.NotFound), "lock of %s released: %v", target, err)
}

// awaitLockFree waits until target's lock is released: recovery releases
// it just after journaling the end of the rollback.
func awaitLockFree(t *testing.T, st *storeclient.Client, target string) {
	t.Helper()
	var err error
	testutil.Await(t, 10*time.Second, func() bool {
		_, err = st.Raw().Get(context.Background(), &storev1.GetRequest{Key: &storev1.ResourceKey{Kind: storev1.Kind_LOCK, Name: LockName(target)}})
		return errs.Is(errs.FromStatus(err), errs.NotFound)
	}, "lock of %s released: %v", target, &err)
}

// execute runs plan in the background; the result arrives on the channel.
type result struct {
	tx  *commonv1.Transaction
	err error
}

func execute(e *Engine, plan Plan) chan result {
	ch := make(chan result, 1)
	go func() {
		tx, err := e.Execute(context.Background(), plan, false)
		ch <- result{tx, err}
	}()
	return ch
}

func await(t *testing.T, ch chan result, timeout time.Duration, what string) result {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(timeout):
		t.Fatalf("timed out after %s waiting for %s", timeout, what)
	}
	return result{}
}

func TestSuccessJournalsEveryStepAndReleasesTheLock(t *testing.T) {
	st := newStore(t)
	n := newNodes()
	e := startEngine(t, st, n.actions("e1"), nil)
	plan := Plan{Operation: "test.create", Target: "volume/ok", Steps: steps("a", "b", "c"), Commit: createVolume("ok")}
	after := steps("z")
	after[0].AfterCommit = true
	plan.Steps = append(plan.Steps, after...)
	// The roll-forward step runs after the commit: the volume is there.
	n.onDo["z"] = func() {
		_, err := st.Volume(context.Background(), "ok")
		n.record("z sees volume: %v", err == nil)
	}
	tx, err := e.Execute(context.Background(), plan, false)
	require.NoError(t, err)
	require.Equal(t, []string{"e1 do a", "e1 do b", "e1 do c", "e1 do z", "z sees volume: true"}, n.events())

	got := record(t, st, tx.Id)
	require.Equal(t, commonv1.TransactionState_SUCCEEDED, got.State)
	require.Equal(t, []string{"a=DONE", "b=DONE", "c=DONE", "z=DONE"}, stepStates(got))
	require.Equal(t, "e1", got.Steps[1].Args["done_by"], "results of Do are journaled")
	_, err = st.Volume(context.Background(), "ok")
	require.NoError(t, err, "committed")
	requireLockFree(t, st, plan.Target)
}

// A transaction with nothing to do after its commit gives its lock back in
// the commit's own write: a change takes two store writes (begin, commit)
// and no separate release. One with after-commit steps keeps its lock
// until they are done; one whose commit is refused still releases it.
func TestCommitReleasesTheLockWhenNothingFollowsIt(t *testing.T) {
	st, calls := newCountingStore(t)
	n := newNodes()
	e := startEngine(t, st, n.actions("e1"), nil)
	calls.count("")
	tx, err := e.Execute(context.Background(), Plan{Operation: "test.create", Target: "volume/one", Commit: createVolume("one")}, false)
	require.NoError(t, err)
	calls.mu.Lock()
	writes := map[string]int{"Apply": calls.calls["Apply"], "Delete": calls.calls["Delete"]}
	calls.mu.Unlock()
	require.Equal(t, map[string]int{"Apply": 2, "Delete": 0}, writes, "begin and commit, the lock released in the commit")
	require.Equal(t, commonv1.TransactionState_SUCCEEDED, record(t, st, tx.Id).State)
	requireLockFree(t, st, "volume/one")
	_, err = st.Volume(context.Background(), "one")
	require.NoError(t, err)

	// Steps before the commit only: released in the commit as well.
	_, err = e.Execute(context.Background(), Plan{Operation: "test.create", Target: "volume/two", Steps: steps("a"), Commit: createVolume("two")}, false)
	require.NoError(t, err)
	requireLockFree(t, st, "volume/two")

	// After-commit steps hold the lock until they have run.
	after := steps("z")
	after[0].AfterCommit = true
	n.onDo["z"] = func() {
		_, err := st.Raw().Get(context.Background(), &storev1.GetRequest{Key: &storev1.ResourceKey{Kind: storev1.Kind_LOCK, Name: LockName("volume/three")}})
		n.record("z sees the lock held: %v", err == nil)
	}
	_, err = e.Execute(context.Background(), Plan{Operation: "test.create", Target: "volume/three", Steps: after, Commit: createVolume("three")}, false)
	require.NoError(t, err)
	require.Contains(t, n.events(), "z sees the lock held: true")
	requireLockFree(t, st, "volume/three")

	// A refused commit (the volume exists already) releases the lock too.
	_, err = e.Execute(context.Background(), Plan{Operation: "test.create", Target: "volume/one", Commit: createVolume("one")}, false)
	require.Error(t, err)
	requireLockFree(t, st, "volume/one")
}

func TestFailingStepRollsBackEarlierOnesNewestFirst(t *testing.T) {
	st := newStore(t)
	n := newNodes()
	e := startEngine(t, st, n.actions("e1"), nil)
	n.doErr["c"] = errs.New(errs.Precondition, "brick c is not empty")
	n.notApplied["c"] = true
	tx, err := e.Execute(context.Background(), Plan{Operation: "test.create", Target: "volume/fail",
		Steps: steps("a", "b", "c", "d"), Commit: createVolume("fail")}, false)
	require.Error(t, err)
	require.True(t, errs.Is(err, errs.Precondition), "the step's error kind: %v", err)
	require.Contains(t, err.Error(), "fake on node node-c: brick c is not empty")
	require.Equal(t, []string{"e1 do a", "e1 do b", "e1 do c", "e1 undo b", "e1 undo a"}, n.events(),
		"d never runs; c changed nothing (not applied) so is not undone; b then a undone")

	got := record(t, st, tx.Id)
	require.Equal(t, commonv1.TransactionState_ROLLED_BACK, got.State)
	require.Equal(t, []string{"a=UNDONE", "b=UNDONE", "c=FAILED", "d=PENDING"}, stepStates(got))
	require.Contains(t, got.Error, "brick c is not empty")
	requireNoVolume(t, st, "fail")
	requireLockFree(t, st, "volume/fail")

	// A step that failed at an unknown point may have changed something: it is undone too.
	n2 := newNodes()
	e2 := startEngine(t, st, n2.actions("e2"), nil)
	n2.doErr["b"] = errors.New("connection reset")
	_, err = e2.Execute(context.Background(), Plan{Operation: "test.create", Target: "volume/fail",
		Steps: steps("a", "b", "c"), Commit: createVolume("fail")}, false)
	require.Error(t, err)
	require.Equal(t, []string{"e2 do a", "e2 do b", "e2 undo b", "e2 undo a"}, n2.events())
}

func TestUndoThatKeepsFailingEndsFailedNamingTheStep(t *testing.T) {
	st := newStore(t)
	n := newNodes()
	e := startEngine(t, st, n.actions("e1"), nil)
	n.doErr["c"] = errs.New(errs.Precondition, "refused")
	n.notApplied["c"] = true
	n.undoErr["b"] = errs.New(errs.Unavailable, "node node-b is disconnected")
	tx, err := e.Execute(context.Background(), Plan{Operation: "test.create", Target: "volume/undo",
		Steps: steps("a", "b", "c"), Commit: createVolume("undo")}, false)
	require.Error(t, err)
	require.Equal(t, []string{"e1 do a", "e1 do b", "e1 do c", "e1 undo b", "e1 undo b", "e1 undo b", "e1 undo a"}, n.events(),
		"b's undo tried 3 times; a still undone")
	got := record(t, st, tx.Id)
	require.Equal(t, commonv1.TransactionState_FAILED, got.State)
	require.Contains(t, got.Error, "these steps could not be undone: step 2 (fake on node node-b)")
	require.Equal(t, []string{"a=UNDONE", "b=DONE", "c=FAILED"}, stepStates(got))
	require.Contains(t, got.Steps[1].Error, "undo failed: node node-b is disconnected")
	requireLockFree(t, st, "volume/undo")
	requireNoVolume(t, st, "undo")
}

func TestConcurrentTransactionsOnOneTarget(t *testing.T) {
	st := newStore(t)
	n := newNodes()
	e := startEngine(t, st, n.actions("e1"), nil)
	other := startEngine(t, st, n.actions("e2"), nil) // another replica
	started := n.blockStep("a")
	first := execute(e.Engine, Plan{Operation: "test.create", Target: "volume/busy", Steps: steps("a"), Commit: createVolume("busy")})
	<-started
	id := onlyTransaction(t, st)
	for _, eng := range []*Engine{e.Engine, other.Engine} {
		_, err := eng.Execute(context.Background(), Plan{Operation: "test.set", Target: "volume/busy", Commit: createVolume("busy2")}, false)
		require.Error(t, err)
		require.True(t, errs.Is(err, errs.Conflict), "409: %v", err)
		require.Equal(t, 409, errs.HTTPStatus(errs.Code(errs.KindOf(err))))
		require.Contains(t, err.Error(), "volume/busy is busy: transaction "+id+" (test.create) holds its lock")
	}
	close(n.block["a"])
	r := await(t, first, 30*time.Second, "the first transaction")
	require.NoError(t, r.err)
	requireNoVolume(t, st, "busy2")
	// Free again: the next one begins.
	_, err := other.Execute(context.Background(), Plan{Operation: "test.set", Target: "volume/busy", Commit: createVolume("busy2")}, false)
	require.NoError(t, err)
}

func TestAfterCommitStepsAreRolledForward(t *testing.T) {
	st := newStore(t)
	n := newNodes()
	e := startEngine(t, st, n.actions("e1"), nil)
	after := steps("y", "z")
	for _, s := range after {
		s.AfterCommit = true
	}
	n.doErr["y"] = errs.New(errs.Unavailable, "node node-y is disconnected")
	tx, err := e.Execute(context.Background(), Plan{Operation: "test.delete", Target: "volume/fwd",
		Steps: append(steps("a"), after...), Commit: createVolume("fwd")}, false)
	require.NoError(t, err, "a failing roll-forward step does not undo the commit")
	require.Equal(t, []string{"e1 do a", "e1 do y", "e1 do z"}, n.events(), "no undo after the commit")
	got := record(t, st, tx.Id)
	require.Equal(t, commonv1.TransactionState_SUCCEEDED, got.State)
	require.Equal(t, []string{"a=DONE", "y=FAILED", "z=DONE"}, stepStates(got))
	require.Contains(t, got.Steps[1].Error, "node node-y is disconnected")
	_, err = st.Volume(context.Background(), "fwd")
	require.NoError(t, err)
	requireLockFree(t, st, "volume/fwd")
}

func TestDeadlineStopsTheStepAndRollsBack(t *testing.T) {
	st := newStore(t)
	n := newNodes()
	e := startEngine(t, st, n.actions("e1"), nil)
	n.blockStep("b")
	plan := Plan{Operation: "test.create", Target: "volume/slow", Steps: steps("a", "b", "c"), Commit: createVolume("slow"),
		Timeout: 3 * time.Second}
	tx, err := e.Execute(context.Background(), plan, false)
	require.Error(t, err)
	require.True(t, errs.Is(err, errs.Timeout), "a timeout (504): %v", err)
	require.Contains(t, err.Error(), "deadline passed")
	n.mu.Lock()
	ctxErr := n.ctxErr["b"]
	n.mu.Unlock()
	require.ErrorIs(t, ctxErr, context.DeadlineExceeded, "the blocked step's context ended at the deadline")
	// b may have done something before its context ended: it is undone too.
	require.Equal(t, []string{"e1 do a", "e1 do b", "e1 cancelled b", "e1 undo b", "e1 undo a"}, n.events())

	got := record(t, st, tx.Id)
	require.Equal(t, commonv1.TransactionState_ROLLED_BACK, got.State)
	require.Equal(t, []string{"a=UNDONE", "b=UNDONE", "c=PENDING"}, stepStates(got))
	require.Contains(t, got.Error, "fake on node node-b: stopped: the transaction's deadline passed (3s after it began)")
	require.Contains(t, got.Steps[1].Error, "the transaction's deadline passed")
	requireNoVolume(t, st, "slow")
	requireLockFree(t, st, plan.Target)
	// The lock is free: a new transaction on the target begins at once.
	_, err = e.Execute(context.Background(), Plan{Operation: "test.create", Target: "volume/slow", Commit: createVolume("slow")}, false)
	require.NoError(t, err)
}

// recoverWith starts another replica and waits until it has rolled the
// transaction back.
func recoverWith(t *testing.T, st *storeclient.Client, n *nodes, id string) *commonv1.Transaction {
	t.Helper()
	startEngine(t, st, n.actions("e2"), nil)
	return awaitRolledBack(t, st, id, time.Now(), "it started")
}

// awaitRolledBack waits until transaction id is ROLLED_BACK.
func awaitRolledBack(t *testing.T, st *storeclient.Client, id string, since time.Time, what string) *commonv1.Transaction {
	t.Helper()
	var got *commonv1.Transaction
	testutil.Await(t, 90*time.Second, func() bool {
		got = record(t, st, id)
		return got.State == commonv1.TransactionState_ROLLED_BACK
	}, "another replica rolls the transaction back")
	t.Logf("rolled back by another replica %s after %s", time.Since(since).Round(100*time.Millisecond), what)
	return got
}

func TestLostLockMidStepStopsAtOnceAndAnotherReplicaRollsBack(t *testing.T) {
	st := newStore(t)
	n := newNodes()
	e1 := startEngine(t, st, n.actions("e1"), nil)
	// Another replica runs all along, looking for transactions to recover
	// every 500 ms: it must not act on this one before the first replica
	// has stopped (the lock-delay of the first one's session).
	startEngine(t, st, n.actions("e2"), nil)
	started := n.blockStep("b")
	plan := Plan{Operation: "test.create", Target: "volume/lost", Steps: steps("a", "b", "c"), Commit: createVolume("lost")}
	res := execute(e1.Engine, plan)
	<-started
	id := onlyTransaction(t, st)

	// The orchestrator is cut off longer than the TTL: its session ends.
	lost := time.Now()
	require.NoError(t, st.CloseSession(context.Background(), e1.sessionID()))
	r := await(t, res, 30*time.Second, "the transaction to stop")
	require.Error(t, r.err)
	require.True(t, errs.Is(r.err, errs.Unavailable), "503: %v", r.err)
	require.Contains(t, r.err.Error(), "lost its lock")
	e1.stop() // this replica stays away

	n.mu.Lock()
	require.ErrorIs(t, n.ctxErr["b"], context.Canceled, "the running step's context was cancelled")
	n.mu.Unlock()
	require.Equal(t, []string{"e1 do a", "e1 do b", "e1 cancelled b"}, n.events(),
		"no later step, no undo by the replica that lost the lock, and nothing yet by the other one")
	got := record(t, st, id)
	require.Equal(t, commonv1.TransactionState_RUNNING, got.State, "left for recovery")
	require.Equal(t, []string{"a=DONE", "b=RUNNING", "c=PENDING"}, stepStates(got))
	requireNoVolume(t, st, "lost")

	got = awaitRolledBack(t, st, id, lost, "the session ended")
	require.Equal(t, []string{"e1 do a", "e1 do b", "e1 cancelled b", "e2 undo b", "e2 undo a"}, n.events(),
		"the other replica undoes what may have run, newest first, after the first one stopped")
	require.Equal(t, []string{"a=UNDONE", "b=UNDONE", "c=PENDING"}, stepStates(got))
	require.Contains(t, got.Error, "stopped before the transaction finished")
	awaitLockFree(t, st, plan.Target)
	requireNoVolume(t, st, "lost")
}

func TestReplicaCutOffFromTheStoreStopsBeforeAnotherActs(t *testing.T) {
	srv, conn := store.TestServer(t, consul.HTTPAddr, nil)
	conn1 := &countingConn{ClientConnInterface: conn, calls: map[string]int{}}
	st1 := storeclient.New(conn1)
	n := newNodes()
	e1 := startEngine(t, st1, n.actions("e1"), nil)
	// Another replica, with its own (working) connection to the same store.
	conn2, err := grpcx.Dial(srv.Addr())
	require.NoError(t, err)
	t.Cleanup(func() { conn2.Close() })
	st2 := storeclient.New(conn2)
	startEngine(t, st2, n.actions("e2"), nil)
	started := n.blockStep("b")
	plan := Plan{Operation: "test.create", Target: "volume/cut", Steps: steps("a", "b", "c"), Commit: createVolume("cut")}
	res := execute(e1.Engine, plan)
	<-started
	id := onlyTransaction(t, st2)

	// The first replica can no longer reach the store: it cannot renew its
	// session, which the store ends after its TTL.
	cut := time.Now()
	conn1.cut.Store(true)
	r := await(t, res, 60*time.Second, "the cut-off replica to stop")
	t.Logf("the cut-off replica stopped %s after it was cut off (TTL 10 s)", time.Since(cut).Round(100*time.Millisecond))
	require.True(t, errs.Is(r.err, errs.Unavailable), "503: %v", r.err)
	require.Contains(t, r.err.Error(), "lost its lock")
	require.Equal(t, []string{"e1 do a", "e1 do b", "e1 cancelled b"}, n.events(),
		"the cut-off replica stopped mid-step before the other one did anything")

	got := awaitRolledBack(t, st2, id, cut, "the first replica was cut off")
	require.Equal(t, []string{"e1 do a", "e1 do b", "e1 cancelled b", "e2 undo b", "e2 undo a"}, n.events())
	require.Equal(t, []string{"a=UNDONE", "b=UNDONE", "c=PENDING"}, stepStates(got))
	awaitLockFree(t, st2, plan.Target)
	requireNoVolume(t, st2, "cut")
	e1.stop()
}

func TestLostLockBetweenStepsOrBeforeCommitCommitsNothing(t *testing.T) {
	for _, when := range []string{"between-steps", "before-commit"} {
		t.Run(when, func(t *testing.T) {
			st := newStore(t)
			n := newNodes()
			e1 := startEngine(t, st, n.actions("e1"), nil)
			plan := Plan{Operation: "test.create", Target: "volume/lost", Steps: steps("a", "b"), Commit: createVolume("lost")}
			// The session ends without the engine having noticed yet
			// (its next renewal is seconds away).
			loseSession := func() {
				require.NoError(t, st.CloseSession(context.Background(), e1.sessionID()))
			}
			wantEvents := []string{"e1 do a", "e1 do b"}
			wantSteps := []string{"a=DONE", "b=DONE"}
			if when == "between-steps" {
				n.onDo["a"] = loseSession
				wantEvents, wantSteps = []string{"e1 do a"}, []string{"a=RUNNING", "b=PENDING"}
			} else {
				commit := plan.Commit
				plan.Commit = func(ctx context.Context) ([]*storev1.Operation, error) {
					loseSession()
					return commit(ctx)
				}
			}
			tx, err := e1.Execute(context.Background(), plan, false)
			require.Error(t, err)
			require.True(t, errs.Is(err, errs.Unavailable), "503: %v", err)
			require.Contains(t, err.Error(), "lost its lock")
			e1.stop()
			require.Equal(t, wantEvents, n.events(), "nothing more, no undo by the replica that lost the lock")
			requireNoVolume(t, st, "lost")
			got := record(t, st, tx.Id)
			require.Equal(t, commonv1.TransactionState_RUNNING, got.State, "left for recovery")
			require.Equal(t, wantSteps, stepStates(got))

			got = recoverWith(t, st, n, tx.Id)
			require.Equal(t, append(slices.Clone(wantEvents), "e2 undo "+wantEvents[len(wantEvents)-1][len("e1 do "):]),
				n.events()[:len(wantEvents)+1])
			awaitLockFree(t, st, plan.Target)
			requireNoVolume(t, st, "lost")
		})
	}
}

func TestParallelStepsRunTogetherJournaledOnceBeforeAndOnceAfter(t *testing.T) {
	st, calls := newCountingStore(t)
	n := newNodes()
	e := startEngine(t, st, n.actions("e1"), nil)
	// Each parallel step waits until all three have begun: run one after
	// the other, they would wait until the deadline.
	var all sync.WaitGroup
	all.Add(3)
	var running []string
	for _, id := range []string{"p1", "p2", "p3"} {
		n.onDo[id] = func() {
			all.Done()
			all.Wait()
			if id == "p1" { // no require here: this is not the test's goroutine
				if l, err := st.Raw().List(context.Background(), &storev1.ListRequest{Kind: storev1.Kind_TRANSACTION}); err == nil && len(l.Resources) == 1 {
					running = stepStates(l.Resources[0].GetTransaction())
				}
			}
		}
	}
	plan := Plan{Operation: "test.create", Target: "volume/par", Timeout: 30 * time.Second, Commit: createVolume("par")}
	plan.Steps = append(append(steps("x"), parallelSteps("p1", "p2", "p3")...), steps("y")...)
	var committed []*storev1.OperationResult
	plan.Committed = func(r []*storev1.OperationResult) { committed = r }
	calls.count("Apply")
	tx, err := e.Execute(context.Background(), plan, false)
	require.NoError(t, err)
	require.Equal(t, []string{"x=DONE", "p1=RUNNING", "p2=RUNNING", "p3=RUNNING", "y=PENDING"}, running,
		"all three journaled RUNNING before any of them ran")
	ev := n.events()
	require.Equal(t, "e1 do x", ev[0])
	require.ElementsMatch(t, []string{"e1 do p1", "e1 do p2", "e1 do p3"}, ev[1:4])
	require.Equal(t, "e1 do y", ev[4])
	got := record(t, st, tx.Id)
	require.Equal(t, commonv1.TransactionState_SUCCEEDED, got.State)
	require.Equal(t, []string{"x=DONE", "p1=DONE", "p2=DONE", "p3=DONE", "y=DONE"}, stepStates(got))
	for _, s := range got.Steps[1:4] {
		require.Equal(t, "e1", s.Args["done_by"], "each parallel step's results are journaled")
	}
	// begin, x (2), the group (2), y (2), commit: 8 writes, not 12 (fewer
	// when a write whose answer was lost is found landed).
	require.LessOrEqual(t, calls.count("Apply"), 8, "store writes of the transaction")
	require.Len(t, committed, 1)
	require.Equal(t, "par", committed[0].GetResource().GetVolume().GetName(), "the commit's results are given back")
	require.NotZero(t, committed[0].GetResource().GetVolume().GetVersion())
}

func TestParallelStepFailingUndoesTheWholeGroup(t *testing.T) {
	st := newStore(t)
	n := newNodes()
	e := startEngine(t, st, n.actions("e1"), nil)
	n.doErr["p2"] = errs.New(errs.Unavailable, "node node-p2 is disconnected")
	n.notApplied["p2"] = true
	n.doErr["p4"] = errs.New(errs.Precondition, "brick p4 belongs to another volume")
	n.notApplied["p4"] = true
	tx, err := e.Execute(context.Background(), Plan{Operation: "test.create", Target: "volume/pfail",
		Steps: append(steps("x"), parallelSteps("p1", "p2", "p3", "p4")...), Commit: createVolume("pfail")}, false)
	require.Error(t, err)
	require.Contains(t, err.Error(), "pfake on node node-p2: node node-p2 is disconnected; pfake on node node-p4: brick p4 belongs to another volume",
		"every failed step is named")
	ev := n.events()
	require.ElementsMatch(t, []string{"e1 do p1", "e1 do p2", "e1 do p3", "e1 do p4"}, ev[1:5], "every step of the group ran")
	require.Equal(t, []string{"e1 undo p3", "e1 undo p1", "e1 undo x"}, ev[5:],
		"the others' work undone, newest first; the failed ones changed nothing")
	got := record(t, st, tx.Id)
	require.Equal(t, commonv1.TransactionState_ROLLED_BACK, got.State)
	require.Equal(t, []string{"x=UNDONE", "p1=UNDONE", "p2=FAILED", "p3=UNDONE", "p4=FAILED"}, stepStates(got))
	requireNoVolume(t, st, "pfail")
	requireLockFree(t, st, "volume/pfail")
}

func TestFailpointsAroundAParallelGroup(t *testing.T) {
	st := newStore(t)
	n := newNodes()
	e := startEngine(t, st, n.actions("e1"), func(c *Config) {
		c.Failpoints = map[string]string{"test.create/after-step-1": "error"}
	})
	tx, err := e.Execute(context.Background(), Plan{Operation: "test.create", Target: "volume/fp",
		Steps: parallelSteps("p1", "p2"), Commit: createVolume("fp")}, false)
	require.ErrorContains(t, err, "failpoint test.create/after-step-1")
	ev := n.events()
	require.ElementsMatch(t, []string{"e1 do p1", "e1 do p2"}, ev[:2], "after-step-1 comes after the whole group")
	require.Equal(t, []string{"e1 undo p2", "e1 undo p1"}, ev[2:])
	require.Equal(t, commonv1.TransactionState_ROLLED_BACK, record(t, st, tx.Id).State)

	n2 := newNodes()
	e2 := startEngine(t, st, n2.actions("e2"), func(c *Config) {
		c.Failpoints = map[string]string{"test.create/before-step-2": "error"}
	})
	_, err = e2.Execute(context.Background(), Plan{Operation: "test.create", Target: "volume/fp",
		Steps: append(steps("x"), parallelSteps("p1", "p2")...), Commit: createVolume("fp")}, false)
	require.ErrorContains(t, err, "failpoint test.create/before-step-2")
	require.Equal(t, []string{"e2 do x", "e2 undo x"}, n2.events(), "before-step-2 comes before the whole group")
}

func TestLostLockMidParallelGroup(t *testing.T) {
	st := newStore(t)
	n := newNodes()
	e1 := startEngine(t, st, n.actions("e1"), nil)
	started := n.blockStep("p2")
	plan := Plan{Operation: "test.create", Target: "volume/plost", Steps: append(steps("x"), parallelSteps("p1", "p2", "p3")...),
		Commit: createVolume("plost")}
	res := execute(e1.Engine, plan)
	<-started
	id := onlyTransaction(t, st)
	lost := time.Now()
	require.NoError(t, st.CloseSession(context.Background(), e1.sessionID()))
	r := await(t, res, 30*time.Second, "the transaction to stop")
	require.True(t, errs.Is(r.err, errs.Unavailable), "503: %v", r.err)
	require.Contains(t, r.err.Error(), "lost its lock")
	e1.stop()
	ev := n.events()
	require.ElementsMatch(t, []string{"e1 do p1", "e1 do p2", "e1 do p3", "e1 cancelled p2"}, ev[1:], "no undo by the replica that lost the lock")
	got := record(t, st, id)
	require.Equal(t, []string{"x=DONE", "p1=RUNNING", "p2=RUNNING", "p3=RUNNING"}, stepStates(got),
		"the group's results were not journaled without the lock; all of it may have run")
	requireNoVolume(t, st, "plost")

	startEngine(t, st, n.actions("e2"), nil)
	got = awaitRolledBack(t, st, id, lost, "the session ended")
	undos := n.events()[len(ev):]
	require.Len(t, undos, 4)
	require.ElementsMatch(t, []string{"e2 undo p1", "e2 undo p2", "e2 undo p3"}, undos[:3])
	require.Equal(t, "e2 undo x", undos[3])
	require.Equal(t, []string{"x=UNDONE", "p1=UNDONE", "p2=UNDONE", "p3=UNDONE"}, stepStates(got))
	awaitLockFree(t, st, plan.Target)
	requireNoVolume(t, st, "plost")
}

func TestDeadlineMidParallelGroup(t *testing.T) {
	st := newStore(t)
	n := newNodes()
	e := startEngine(t, st, n.actions("e1"), nil)
	n.blockStep("p2")
	tx, err := e.Execute(context.Background(), Plan{Operation: "test.create", Target: "volume/pslow", Timeout: 3 * time.Second,
		Steps: parallelSteps("p1", "p2", "p3"), Commit: createVolume("pslow")}, false)
	require.True(t, errs.Is(err, errs.Timeout), "504: %v", err)
	require.Contains(t, err.Error(), "pfake on node node-p2: stopped: the transaction's deadline passed")
	got := record(t, st, tx.Id)
	require.Equal(t, commonv1.TransactionState_ROLLED_BACK, got.State)
	require.Equal(t, []string{"p1=UNDONE", "p2=UNDONE", "p3=UNDONE"}, stepStates(got))
	requireNoVolume(t, st, "pslow")
	requireLockFree(t, st, "volume/pslow")
}

// putRecord stores a journal record directly, as an earlier transaction
// would have left it; name is its target's, and its id is returned.
func putRecord(t *testing.T, st *storeclient.Client, name string, state commonv1.TransactionState, finished time.Time) string {
	t.Helper()
	id := uuid.NewString()
	tx := &commonv1.Transaction{Id: id, Operation: "test.op", Target: "volume/" + name, State: state,
		StartedAt: timestamppb.New(time.Now().Add(-72 * time.Hour))}
	if !finished.IsZero() {
		tx.FinishedAt = timestamppb.New(finished)
	}
	_, err := st.Raw().Create(context.Background(), &storev1.CreateRequest{Resource: &storev1.Resource{Body: &storev1.Resource_Transaction{Transaction: tx}}})
	require.NoError(t, errs.FromStatus(err))
	return id
}

// transactionIDs names the records in the journal by their targets.
func transactionIDs(t *testing.T, st *storeclient.Client) []string {
	t.Helper()
	l, err := st.Raw().List(context.Background(), &storev1.ListRequest{Kind: storev1.Kind_TRANSACTION})
	require.NoError(t, errs.FromStatus(err))
	var ids []string
	for _, r := range l.Resources {
		ids = append(ids, strings.TrimPrefix(r.GetTransaction().Target, "volume/"))
	}
	slices.Sort(ids)
	return ids
}

func TestFinishedRecordsAreCollectedAfterRetentionFailedOnesKept(t *testing.T) {
	st := newStore(t)
	now := time.Now()
	old := now.Add(-48 * time.Hour)
	putRecord(t, st, "old-succeeded", commonv1.TransactionState_SUCCEEDED, old)
	putRecord(t, st, "old-rolled-back", commonv1.TransactionState_ROLLED_BACK, old)
	putRecord(t, st, "old-failed", commonv1.TransactionState_FAILED, old)
	putRecord(t, st, "recent-1", commonv1.TransactionState_SUCCEEDED, now.Add(-time.Minute))
	putRecord(t, st, "recent-2", commonv1.TransactionState_ROLLED_BACK, now.Add(-2*time.Minute))
	putRecord(t, st, "recent-3", commonv1.TransactionState_SUCCEEDED, now.Add(-3*time.Minute))
	// The running engine collects by age on its recovery pass (default retention 24h).
	e := startEngine(t, st, newNodes().actions("e1"), func(c *Config) { c.History = 100 })
	testutil.Await(t, 10*time.Second, func() bool { return len(transactionIDs(t, st)) == 4 }, "old records collected: %v", transactionIDs(t, st))
	require.Equal(t, []string{"old-failed", "recent-1", "recent-2", "recent-3"}, transactionIDs(t, st))
	e.stop()

	// An unfinished record is never collected, however old: recovery owns it.
	putRecord(t, st, "old-running", commonv1.TransactionState_RUNNING, time.Time{})

	// A history of 2 keeps only the two newest finished records.
	l, err := st.Raw().List(context.Background(), &storev1.ListRequest{Kind: storev1.Kind_TRANSACTION})
	require.NoError(t, errs.FromStatus(err))
	e2 := New(Config{Owner: uuid.NewString(), History: 2}, st, nil, zaptest.NewLogger(t))
	e2.collect(context.Background(), l.Resources, now)
	require.Equal(t, []string{"old-failed", "old-running", "recent-1", "recent-2"}, transactionIDs(t, st))

	// A record changed since the listing is not deleted on the strength of it.
	id4 := putRecord(t, st, "recent-4", commonv1.TransactionState_SUCCEEDED, now.Add(-30*time.Hour))
	l, err = st.Raw().List(context.Background(), &storev1.ListRequest{Kind: storev1.Kind_TRANSACTION})
	require.NoError(t, errs.FromStatus(err))
	cur := record(t, st, id4)
	cur.FinishedAt = timestamppb.New(now)
	_, err = st.Raw().Update(context.Background(), &storev1.UpdateRequest{Resource: &storev1.Resource{Body: &storev1.Resource_Transaction{Transaction: cur}}, ResourceVersion: cur.Version})
	require.NoError(t, errs.FromStatus(err))
	e2.collect(context.Background(), l.Resources, now)
	require.Contains(t, transactionIDs(t, st), "recent-4", "a stale listing deletes nothing that changed")
}

func TestRecoveryPassReadsOnlyRecordsNotSeenFinished(t *testing.T) {
	st, cc := newCountingStore(t)
	now := time.Now()
	for i := range 5 {
		putRecord(t, st, fmt.Sprintf("done-%d", i), commonv1.TransactionState_SUCCEEDED, now.Add(-time.Duration(i)*time.Minute))
	}
	failed := putRecord(t, st, "failed", commonv1.TransactionState_FAILED, now.Add(-time.Hour))
	e := New(Config{Owner: uuid.NewString(), History: 100}, st, nil, zaptest.NewLogger(t))
	ctx := context.Background()
	cc.count("")

	e.recoverAll(ctx)
	require.Equal(t, 6, cc.count("Get"), "the first pass reads every record")
	require.Len(t, e.finished, 6)
	e.recoverAll(ctx)
	require.Equal(t, 0, cc.count("Get"), "records seen finished are not read again")

	// A new record is read; one deleted by hand is forgotten.
	putRecord(t, st, "done-new", commonv1.TransactionState_SUCCEEDED, now)
	_, err := st.Raw().Delete(ctx, &storev1.DeleteRequest{Key: &storev1.ResourceKey{Kind: storev1.Kind_TRANSACTION, Name: failed}})
	require.NoError(t, errs.FromStatus(err))
	e.recoverAll(ctx)
	require.Equal(t, 1, cc.count("Get"))
	require.Len(t, e.finished, 6)
	require.NotContains(t, e.finished, failed)

	// A record edited since it was read is not deleted on the strength of
	// the old read; it is read again and then collected.
	id := putRecord(t, st, "edited", commonv1.TransactionState_SUCCEEDED, now.Add(-30*time.Hour))
	e.recoverAll(ctx) // read and collected at once (past the retention)
	require.NotContains(t, transactionIDs(t, st), "edited")
	id = putRecord(t, st, "edited", commonv1.TransactionState_SUCCEEDED, now.Add(-time.Minute))
	e.recoverAll(ctx)
	require.Contains(t, e.finished, id)
	cur := record(t, st, id)
	cur.FinishedAt = timestamppb.New(now.Add(-30 * time.Hour))
	_, err = st.Raw().Update(ctx, &storev1.UpdateRequest{Resource: &storev1.Resource{Body: &storev1.Resource_Transaction{Transaction: cur}}, ResourceVersion: cur.Version})
	require.NoError(t, errs.FromStatus(err))
	e.recoverAll(ctx) // what it read says keep
	require.Contains(t, transactionIDs(t, st), "edited")
	e.finished[id].GetTransaction().FinishedAt = timestamppb.New(now.Add(-30 * time.Hour)) // as if read late
	e.recoverAll(ctx)
	require.Contains(t, transactionIDs(t, st), "edited", "the delete names the version read, which is stale")
	require.NotContains(t, e.finished, id, "a refused delete makes the record be read again")
	e.recoverAll(ctx)
	require.NotContains(t, transactionIDs(t, st), "edited", "read again, it is collected")

	// An unfinished record is recovered, not kept; once finished, it is.
	id = putRecord(t, st, "running", commonv1.TransactionState_RUNNING, time.Time{})
	e.recoverAll(ctx) // its orchestrator is gone: rolled back
	require.Equal(t, commonv1.TransactionState_ROLLED_BACK, record(t, st, id).State)
	require.NotContains(t, e.finished, id)
	e.recoverAll(ctx)
	require.Contains(t, e.finished, id)
}

func TestRecoveryPassKeepsWhatTheEngineRanWithoutReadingIt(t *testing.T) {
	st, cc := newCountingStore(t)
	n := newNodes()
	e := New(Config{Owner: uuid.NewString(), SessionTTL: 10 * time.Second, StepTimeout: time.Minute, Timeout: time.Minute},
		st, n.actions("e1"), zaptest.NewLogger(t))
	ctx := context.Background()
	ok, err := e.Execute(ctx, Plan{Operation: "test.create", Target: "volume/ok", Steps: steps("a"), Commit: createVolume("ok")}, false)
	require.NoError(t, err)
	n.doErr["b"] = errs.New(errs.Precondition, "no")
	_, err = e.Execute(ctx, Plan{Operation: "test.create", Target: "volume/back", Steps: steps("b")}, false)
	require.Error(t, err)
	cc.count("")

	e.recoverAll(ctx)
	require.Zero(t, cc.count("Get"), "both records are known from running them")
	require.Len(t, e.finished, 2)
	stored := record(t, st, ok.Id)
	require.Equal(t, stored.Version, e.finished[ok.Id].GetTransaction().Version, "kept at the version last written")
	require.True(t, proto.Equal(stored, e.finished[ok.Id].GetTransaction()), "kept as stored")
}

func TestCollectableOrderAndBounds(t *testing.T) {
	now := time.Now()
	var rs []*storev1.Resource
	for i := range 5 {
		rs = append(rs, &storev1.Resource{Body: &storev1.Resource_Transaction{Transaction: &commonv1.Transaction{
			Id: fmt.Sprintf("t%d", i), State: commonv1.TransactionState_SUCCEEDED, FinishedAt: timestamppb.New(now.Add(-time.Duration(i) * time.Hour))}}})
	}
	ids := func(rs []*storev1.Resource) (out []string) {
		for _, r := range rs {
			out = append(out, r.GetTransaction().Id)
		}
		return out
	}
	require.Equal(t, []string{"t3", "t4"}, ids(collectable(rs, now, 150*time.Minute, 100)), "older than the retention")
	require.Equal(t, []string{"t2", "t3", "t4"}, ids(collectable(rs, now, 24*time.Hour, 2)), "beyond the history")
	require.Empty(t, collectable(rs, now, 24*time.Hour, 100))
}

func TestParallelAfterCommitStepsRollForwardTogether(t *testing.T) {
	st := newStore(t)
	n := newNodes()
	e := startEngine(t, st, n.actions("e1"), nil)
	after := parallelSteps("c1", "c2", "c3")
	for _, s := range after {
		s.AfterCommit = true
	}
	// Each waits until all three have begun: one after the other they would
	// wait until the step timeout.
	var all sync.WaitGroup
	all.Add(3)
	for _, id := range []string{"c1", "c2", "c3"} {
		n.onDo[id] = func() { all.Done(); all.Wait() }
	}
	n.doErr["c2"] = errs.New(errs.Unavailable, "node node-c2 is disconnected")
	tx, err := e.Execute(context.Background(), Plan{Operation: "test.delete", Target: "volume/pfwd", Timeout: 30 * time.Second,
		Steps: append(steps("a"), after...), Commit: createVolume("pfwd")}, false)
	require.NoError(t, err, "a failing roll-forward step does not fail the committed transaction")
	ev := n.events()
	require.Equal(t, "e1 do a", ev[0])
	require.ElementsMatch(t, []string{"e1 do c1", "e1 do c2", "e1 do c3"}, ev[1:], "no undo after the commit")
	got := record(t, st, tx.Id)
	require.Equal(t, commonv1.TransactionState_SUCCEEDED, got.State)
	require.Equal(t, []string{"a=DONE", "c1=DONE", "c2=FAILED", "c3=DONE"}, stepStates(got))
	require.Contains(t, got.Steps[2].Error, "node node-c2 is disconnected")
	requireLockFree(t, st, "volume/pfwd")
}
