// Package txn runs the orchestrator's transactions: journaled steps with
// do and undo on their nodes, a lock per target held by the engine's store
// session, one atomic commit, and recovery of transactions whose
// orchestrator died (docs/transactions.md).
package txn

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"
	storev1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/store/v1"

	"github.com/glusterd-ng/glusterd-ng/libs/errs"
	"github.com/glusterd-ng/glusterd-ng/libs/log"
	"github.com/glusterd-ng/glusterd-ng/libs/storeclient"
)

// ArgNotApplied is the step argument an Action's Do sets to "true" when it
// failed without changing anything (the node was not reached, or it
// refused and undid its own work): rollback then has nothing to undo.
const ArgNotApplied = "not_applied"

// Action is what a kind of step does on its node, and how it is undone.
type Action struct {
	// Do runs the step; it may record results in step.Args for Undo.
	Do func(ctx context.Context, step *commonv1.TransactionStep) error
	// Undo reverses Do; it must be safe to call when Do did not run or did
	// not finish. Nil means there is nothing to undo.
	Undo func(ctx context.Context, step *commonv1.TransactionStep) error
	// Parallel says that steps of this kind do not depend on each other:
	// consecutive ones before the commit run at the same time, journaled
	// RUNNING together before and with their results together after.
	Parallel bool
}

// Plan is one transaction to run.
type Plan struct {
	// Operation names it, e.g. "volume.create".
	Operation string
	// Target is what it works on, e.g. "volume/gv0"; its lock is derived from it.
	Target string
	// Steps run in order before the commit; each names an Action. Steps
	// marked AfterCommit run after it and are rolled forward, never undone.
	Steps []*commonv1.TransactionStep
	// Commit returns the store operations that make the change; they are
	// applied in one atomic write together with the journal's SUCCEEDED.
	Commit func(ctx context.Context) ([]*storev1.Operation, error)
	// Committed, when set, is given the results of Commit's operations
	// (the resources as stored) once they are applied.
	Committed func(results []*storev1.OperationResult)
	// Timeout bounds the transaction (Config.Timeout when zero).
	Timeout time.Duration
}

// Config tunes an Engine.
type Config struct {
	// Owner identifies this orchestrator replica (a UUID); its store session is opened under it.
	Owner string
	// SessionTTL is the TTL of the session holding the locks (10s minimum).
	SessionTTL time.Duration
	// LockDelay is how long after this engine's session ended no other
	// session can take its locks: the time this engine has to notice and
	// stop (SessionTTL when zero; at most a minute).
	LockDelay time.Duration
	// Timeout is a transaction's default deadline.
	Timeout time.Duration
	// StepTimeout bounds one step's Do or Undo call.
	StepTimeout time.Duration
	// RecoverInterval is how often unfinished transactions of dead owners are looked for.
	RecoverInterval time.Duration
	// Retention is how long a finished transaction's record is kept
	// (24h when zero). Records that ended FAILED are kept until an operator
	// has seen them: they are never collected.
	Retention time.Duration
	// History is how many finished records are kept at most, newest first,
	// whatever their age (200 when zero).
	History int
	// Failpoints make the engine crash ("crash") or fail ("error") at named
	// points, for fault tests: "<operation>/before-step-<n>",
	// "<operation>/after-step-<n>", "<operation>/before-commit",
	// "<operation>/after-commit" (n counts from 1). For steps that run in
	// parallel, before-step-<n> of each is checked before any of them
	// begins, after-step-<n> after all of them have ended.
	Failpoints map[string]string
}

// ParseFailpoints reads "point=action,point=action".
func ParseFailpoints(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok || (v != "crash" && v != "error") {
			return nil, fmt.Errorf("failpoint %q: want <point>=crash or <point>=error", kv)
		}
		out[k] = v
	}
	return out, nil
}

// Engine runs transactions.
type Engine struct {
	cfg     Config
	store   *storeclient.Client
	actions map[string]Action
	log     *zap.Logger

	mu      sync.Mutex
	session string
	// sessionCtx ends when the session is lost: every transaction acting
	// under its locks stops at once.
	sessionCtx    context.Context
	sessionCancel context.CancelFunc
	// renewed is when the session was last known alive (opened or renewed).
	renewed time.Time
	running map[string]bool // transaction ids this engine is running
	// ended are the records of transactions this engine ran to their end,
	// as last written, for the recovery pass to keep without reading them.
	ended map[string]*commonv1.Transaction

	// finished are the journal's records the recovery pass has read
	// finished, by id: they never change again unless someone edits or
	// deletes them, so a pass reads only the records it has not seen
	// finished. Used by the recovery pass only (Run's goroutine).
	finished map[string]*storev1.Resource
}

// New returns an engine; Run starts its session and recovery.
func New(cfg Config, store *storeclient.Client, actions map[string]Action, logger *zap.Logger) *Engine {
	if cfg.SessionTTL < 10*time.Second {
		cfg.SessionTTL = 10 * time.Second
	}
	if cfg.LockDelay <= 0 {
		cfg.LockDelay = cfg.SessionTTL
	}
	cfg.LockDelay = min(cfg.LockDelay, time.Minute)
	if cfg.Timeout <= 0 {
		cfg.Timeout = 2 * time.Minute
	}
	if cfg.StepTimeout <= 0 {
		cfg.StepTimeout = 30 * time.Second
	}
	if cfg.RecoverInterval <= 0 {
		cfg.RecoverInterval = 5 * time.Second
	}
	if cfg.Retention <= 0 {
		cfg.Retention = 24 * time.Hour
	}
	if cfg.History <= 0 {
		cfg.History = 200
	}
	return &Engine{cfg: cfg, store: store, actions: actions, log: logger, running: map[string]bool{}, ended: map[string]*commonv1.Transaction{}, finished: map[string]*storev1.Resource{}}
}

// Run keeps the engine's session and recovers unfinished transactions
// until ctx ends.
func (e *Engine) Run(ctx context.Context) {
	renew := time.NewTicker(e.cfg.SessionTTL / 3)
	defer renew.Stop()
	recover := time.NewTicker(e.cfg.RecoverInterval)
	defer recover.Stop()
	defer e.closeSession()
	// A recovery pass runs at start and on its own ticker only.
	pass := func() {
		if _, err := e.currentSession(ctx); err == nil {
			e.recoverAll(ctx)
		}
	}
	pass()
	for {
		select {
		case <-ctx.Done():
			return
		case <-renew.C:
			e.renew(ctx)
		case <-recover.C:
			pass()
		}
	}
}

// currentSession returns the engine's session, opening one if needed.
func (e *Engine) currentSession(ctx context.Context) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.session != "" {
		return e.session, nil
	}
	id, err := e.store.OpenLockSession(ctx, e.cfg.Owner, e.cfg.SessionTTL, e.cfg.LockDelay)
	if err != nil {
		return "", errs.Wrap(errs.KindOf(err), err, "cannot open the orchestrator's store session")
	}
	e.session, e.renewed = id, time.Now()
	e.sessionCtx, e.sessionCancel = context.WithCancel(context.Background())
	return id, nil
}

// renew keeps the session alive. When the store says it has ended, or it
// could not be renewed for a whole TTL (the store may have ended it
// already), the session is given up: every transaction under its locks
// stops at once.
func (e *Engine) renew(ctx context.Context) {
	e.mu.Lock()
	sess, renewed := e.session, e.renewed
	e.mu.Unlock()
	if sess == "" {
		return
	}
	rctx, cancel := context.WithTimeout(ctx, e.cfg.SessionTTL/3)
	err := e.store.RenewSession(rctx, sess)
	cancel()
	switch {
	case err == nil:
		e.mu.Lock()
		if e.session == sess {
			e.renewed = time.Now()
		}
		e.mu.Unlock()
	case errs.Is(err, errs.NotFound):
		e.loseSession(sess, "the store says it has ended")
	case time.Since(renewed) >= e.cfg.SessionTTL:
		e.loseSession(sess, fmt.Sprintf("it could not be renewed for %s (its TTL): %v", time.Since(renewed).Round(time.Second), err))
	case ctx.Err() == nil:
		e.log.Warn("renewing the orchestrator's store session failed", log.Err(err))
	}
}

// loseSession gives up session sess: the transactions under its locks are
// cancelled, and the next one opens a new session.
func (e *Engine) loseSession(sess, why string) {
	e.mu.Lock()
	if e.session != sess {
		e.mu.Unlock()
		return
	}
	e.session = ""
	e.sessionCancel()
	e.mu.Unlock()
	e.log.Warn("the orchestrator's store session was lost: its locks are gone; stopping the transactions under them", zap.String("why", why))
	// If the store still has it (it was only out of reach), end it so that
	// its locks are freed for recovery.
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = e.store.CloseSession(ctx, sess)
	}()
}

func (e *Engine) closeSession() {
	e.mu.Lock()
	sess := e.session
	e.session = ""
	if e.sessionCancel != nil {
		e.sessionCancel()
	}
	e.mu.Unlock()
	if sess != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_ = e.store.CloseSession(ctx, sess)
	}
}

// LockName is the lock a target is serialized by: "volume/gv0" → "volume.gv0".
func LockName(target string) string { return strings.ReplaceAll(target, "/", ".") }

// handle is one transaction being run by this engine.
type handle struct {
	e           *Engine
	txn         *commonv1.Transaction
	lockVersion uint64
	commit      func(ctx context.Context) ([]*storev1.Operation, error)
	committed   func([]*storev1.OperationResult)
	// held ends when the lock is lost (the session ended) or released.
	held context.Context
	// released says the commit gave the lock back (it had nothing to do
	// after it).
	released bool
}

// Execute begins plan (journal record and lock in one write) and runs it;
// with async it returns the journal record at once and runs in the
// background. It returns the finished record, or the error that made the
// transaction roll back.
func (e *Engine) Execute(ctx context.Context, plan Plan, async bool) (*commonv1.Transaction, error) {
	h, err := e.begin(ctx, plan)
	if err != nil {
		return nil, err
	}
	if async {
		started := proto.CloneOf(h.txn)
		go func() { _, _ = h.run(context.Background()) }()
		return started, nil
	}
	return h.run(ctx)
}

func (e *Engine) begin(ctx context.Context, plan Plan) (*handle, error) {
	sess, err := e.currentSession(ctx)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	sessionCtx := e.sessionCtx
	e.mu.Unlock()
	timeout := plan.Timeout
	if timeout <= 0 {
		timeout = e.cfg.Timeout
	}
	now := time.Now()
	t := &commonv1.Transaction{Id: uuid.NewString(), Operation: plan.Operation, Target: plan.Target,
		State: commonv1.TransactionState_RUNNING, Owner: e.cfg.Owner, StartedAt: timestamppb.New(now),
		Deadline: timestamppb.New(now.Add(timeout)), Steps: plan.Steps}
	for _, s := range t.Steps {
		s.State = commonv1.StepState_STEP_PENDING
	}
	lock := &commonv1.Lock{Name: LockName(plan.Target), Owner: e.cfg.Owner, TransactionId: t.Id}
	// Marked as running before it exists, so that recovery never takes it up.
	e.mu.Lock()
	e.running[t.Id] = true
	e.mu.Unlock()
	res, err := e.store.Raw().Apply(ctx, &storev1.ApplyRequest{Operations: []*storev1.Operation{
		{Op: &storev1.Operation_Create{Create: &storev1.CreateRequest{Resource: &storev1.Resource{Body: &storev1.Resource_Lock{Lock: lock}}, SessionId: sess}}},
		{Op: &storev1.Operation_Create{Create: &storev1.CreateRequest{Resource: &storev1.Resource{Body: &storev1.Resource_Transaction{Transaction: t}}}}},
	}})
	if err != nil {
		e.mu.Lock()
		delete(e.running, t.Id)
		e.mu.Unlock()
		err = errs.FromStatus(err)
		if errs.Is(err, errs.AlreadyExists) || errs.Is(err, errs.Conflict) {
			return nil, e.busy(ctx, plan.Target)
		}
		return nil, err
	}
	t = res.Results[1].Resource.GetTransaction()
	h := &handle{e: e, txn: t, lockVersion: res.Results[0].ResourceVersion, commit: plan.Commit, committed: plan.Committed, held: sessionCtx}
	e.log.Info("transaction begun", log.TxnID(t.Id), zap.String("operation", t.Operation), zap.String("target", t.Target))
	return h, nil
}

// busy explains why a target's lock could not be taken.
func (e *Engine) busy(ctx context.Context, target string) error {
	r, err := e.store.Raw().Get(ctx, &storev1.GetRequest{Key: &storev1.ResourceKey{Kind: storev1.Kind_LOCK, Name: LockName(target)}})
	if err == nil {
		l := r.Resource.GetLock()
		op := ""
		if t, err := e.store.Raw().Get(ctx, &storev1.GetRequest{Key: &storev1.ResourceKey{Kind: storev1.Kind_TRANSACTION, Name: l.TransactionId}}); err == nil {
			op = " (" + t.Resource.GetTransaction().Operation + ")"
		}
		return errs.New(errs.Conflict, "%s is busy: transaction %s%s holds its lock; try again when it has finished", target, l.TransactionId, op)
	}
	// Released a moment ago with its holder's session: Consul's lock-delay.
	return errs.New(errs.Conflict, "%s is busy: its lock was held by an orchestrator that stopped; it is free again within seconds", target)
}

// errLockLost is in the errors of a transaction whose lock is no longer
// its engine's (the session ended): it must stop acting, not even roll back.
var errLockLost = errors.New("its lock is no longer held by this orchestrator (its store session ended)")

// errDeadlinePassed is the cause of a transaction's context ending at its deadline.
var errDeadlinePassed = errors.New("the transaction's deadline passed")

// lockCheck is the store operation that fails unless the transaction's
// lock is still the one it took.
func (h *handle) lockCheck() *storev1.Operation {
	return &storev1.Operation{Op: &storev1.Operation_Check{Check: &storev1.CheckRequest{
		Key: &storev1.ResourceKey{Kind: storev1.Kind_LOCK, Name: LockName(h.txn.Target)}, ResourceVersion: h.lockVersion}}}
}

// lockRelease is the store operation that gives the transaction's lock
// back, and fails unless it is still the one it took.
func (h *handle) lockRelease() *storev1.Operation {
	return &storev1.Operation{Op: &storev1.Operation_Delete{Delete: &storev1.DeleteRequest{
		Key: &storev1.ResourceKey{Kind: storev1.Kind_LOCK, Name: LockName(h.txn.Target)}, ResourceVersion: h.lockVersion}}}
}

// checkLock returns an error wrapping errLockLost when the store says the
// transaction's lock is gone or another's; nil when it is still held or
// the store cannot tell now.
func (h *handle) checkLock(ctx context.Context) error {
	r, err := h.e.store.Raw().Get(ctx, &storev1.GetRequest{Key: &storev1.ResourceKey{Kind: storev1.Kind_LOCK, Name: LockName(h.txn.Target)}})
	switch err = errs.FromStatus(err); {
	case errs.Is(err, errs.NotFound):
		return errs.Wrap(errs.Unavailable, errLockLost, "transaction %s: lock %s is gone", h.txn.Id, LockName(h.txn.Target))
	case err != nil:
		return nil
	}
	if l := r.Resource.GetLock(); r.ResourceVersion != h.lockVersion || l.GetTransactionId() != h.txn.Id || l.GetOwner() != h.e.cfg.Owner {
		return errs.Wrap(errs.Unavailable, errLockLost, "transaction %s: lock %s is now held by transaction %s of %s",
			h.txn.Id, LockName(h.txn.Target), l.GetTransactionId(), l.GetOwner())
	}
	return nil
}

// save writes the journal record (check-and-set on its version) provided
// the transaction still holds its lock, in one store write: a journal
// write, and so a step, never happens without the lock.
func (h *handle) save(ctx context.Context) error {
	var res *storev1.ApplyResponse
	err := retryTransient(ctx, func() error {
		var err error
		res, err = h.e.store.Raw().Apply(ctx, &storev1.ApplyRequest{Operations: []*storev1.Operation{h.lockCheck(),
			{Op: &storev1.Operation_Update{Update: &storev1.UpdateRequest{
				Resource: &storev1.Resource{Body: &storev1.Resource_Transaction{Transaction: h.txn}}, ResourceVersion: h.txn.Version}}}}})
		err = errs.FromStatus(err)
		if errs.Is(err, errs.Conflict) {
			if lerr := h.checkLock(ctx); lerr != nil {
				return lerr
			}
			// An earlier attempt may have landed before its answer was lost.
			if cur, gerr := h.current(ctx); gerr == nil && proto.Equal(withoutVersion(cur), withoutVersion(h.txn)) {
				res = &storev1.ApplyResponse{Results: []*storev1.OperationResult{{}, {Resource: &storev1.Resource{Body: &storev1.Resource_Transaction{Transaction: cur}}}}}
				return nil
			}
		}
		return err
	})
	if err != nil {
		return errs.Wrap(errs.KindOf(err), err, "journal transaction %s", h.txn.Id)
	}
	// Only the version changes: callers hold pointers into h.txn's steps.
	h.txn.Version = res.Results[1].Resource.GetTransaction().GetVersion()
	return nil
}

// transientWindow is how long journal and commit writes are retried while
// the store cannot answer (a Consul leader election, a store restart).
const transientWindow = 20 * time.Second

// transient says whether err may go away by itself soon.
func transient(err error) bool {
	switch errs.KindOf(err) {
	case errs.Unavailable, errs.NoQuorum, errs.Timeout:
		return true
	}
	return false
}

// retryTransient runs f until it succeeds, fails for good, or the store
// has been unreachable for transientWindow.
func retryTransient(ctx context.Context, f func() error) error {
	deadline := time.Now().Add(transientWindow)
	for {
		err := f()
		if err == nil || !transient(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// current reads the transaction's record as the store has it.
func (h *handle) current(ctx context.Context) (*commonv1.Transaction, error) {
	r, err := h.e.store.Raw().Get(ctx, &storev1.GetRequest{Key: &storev1.ResourceKey{Kind: storev1.Kind_TRANSACTION, Name: h.txn.Id}})
	if err != nil {
		return nil, errs.FromStatus(err)
	}
	return r.Resource.GetTransaction(), nil
}

func withoutVersion(t *commonv1.Transaction) *commonv1.Transaction {
	c := proto.CloneOf(t)
	c.Version = 0
	return c
}

// failpoint crashes or fails at a named point, when the test asked for it.
func (h *handle) failpoint(point string) error {
	name := h.txn.Operation + "/" + point
	switch h.e.cfg.Failpoints[name] {
	case "crash":
		h.e.log.Error("failpoint: crashing", zap.String("failpoint", name), log.TxnID(h.txn.Id))
		os.Exit(17)
	case "error":
		return errs.New(errs.Internal, "failpoint %s", name)
	}
	return nil
}

// run drives a begun transaction to its end.
func (h *handle) run(ctx context.Context) (*commonv1.Transaction, error) {
	defer func() {
		var ended *commonv1.Transaction
		if !unfinished(h.txn) && h.txn.FinishedAt != nil && h.txn.Version != 0 {
			ended = proto.CloneOf(h.txn)
		}
		h.e.mu.Lock()
		delete(h.e.running, h.txn.Id)
		if ended != nil && len(h.e.ended) < maxEnded {
			h.e.ended[ended.Id] = ended
		}
		h.e.mu.Unlock()
	}()
	deadline := h.txn.Deadline.AsTime()
	ctx, cancelDeadline := context.WithDeadlineCause(ctx, deadline,
		fmt.Errorf("%w (%s after it began)", errDeadlinePassed, deadline.Sub(h.txn.StartedAt.AsTime()).Round(time.Millisecond)))
	defer cancelDeadline()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// A lost lock stops everything at once.
	stop := context.AfterFunc(h.held, func() { cancel(errLockLost) })
	defer stop()

	if err := h.doSteps(ctx); err != nil {
		return h.abort(ctx, err)
	}
	if err := h.failpoint("before-commit"); err != nil {
		return h.abort(ctx, err)
	}
	if err := h.commitNow(ctx); err != nil {
		return h.abort(ctx, err)
	}
	if err := h.failpoint("after-commit"); err != nil {
		return h.txn, err
	}
	h.rollForward(ctx)
	if !h.released {
		h.release()
	}
	h.e.log.Info("transaction succeeded", log.TxnID(h.txn.Id), zap.String("operation", h.txn.Operation))
	return h.txn, nil
}

// stopped explains err when ctx, the transaction's context, has ended:
// its deadline passed, its lock was lost, or its caller went away.
func stopped(ctx context.Context, err error) error {
	if ctx.Err() == nil {
		return err
	}
	switch cause := context.Cause(ctx); {
	case errors.Is(cause, errDeadlinePassed):
		return errs.Wrap(errs.Timeout, err, "stopped: %v", cause)
	case errors.Is(cause, errLockLost):
		return errs.Wrap(errs.Unavailable, fmt.Errorf("%w (%w)", errLockLost, err), "stopped")
	}
	return err
}

// journalCtx bounds the journal writes that record what a step did: they
// must happen even when the transaction's deadline has just passed, and
// never once its lock is lost.
func (h *handle) journalCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(h.held, transientWindow+5*time.Second)
}

func (h *handle) doSteps(ctx context.Context) error {
	var pre []*commonv1.TransactionStep
	for _, s := range h.txn.Steps {
		if !s.AfterCommit {
			pre = append(pre, s)
		}
	}
	for i, j := range h.e.groups(pre) {
		for n := i + 1; n <= j; n++ {
			if err := h.failpoint("before-step-" + strconv.Itoa(n)); err != nil {
				return err
			}
		}
		if err := h.runGroup(ctx, pre[i:j], true); err != nil {
			return err
		}
		for n := i + 1; n <= j; n++ {
			if err := h.failpoint("after-step-" + strconv.Itoa(n)); err != nil {
				return err
			}
		}
	}
	return nil
}

// groups yields steps' groups in order as index ranges [i, j): one step,
// or consecutive steps of one parallel kind.
func (e *Engine) groups(steps []*commonv1.TransactionStep) iter.Seq2[int, int] {
	return func(yield func(int, int) bool) {
		for i := 0; i < len(steps); {
			j := i + 1
			if e.actions[steps[i].Name].Parallel {
				for j < len(steps) && steps[j].Name == steps[i].Name {
					j++
				}
			}
			if !yield(i, j) {
				return
			}
			i = j
		}
	}
}

// runGroup runs one of groups' groups: a lone step, or steps of one
// parallel kind at the same time.
func (h *handle) runGroup(ctx context.Context, steps []*commonv1.TransactionStep, mustSucceed bool) error {
	if len(steps) == 1 {
		return h.step(ctx, steps[0], mustSucceed)
	}
	return h.parallel(ctx, steps, mustSucceed)
}

// parallel runs steps of one parallel kind at the same time: one journal
// write marks them all RUNNING before any Do, one records all their
// results after the last Do has returned. If one fails, the others still
// finish (each was journaled, so rollback undoes what they did); the
// failure is returned when mustSucceed (a lost lock and a journal that
// cannot be written always are).
func (h *handle) parallel(ctx context.Context, steps []*commonv1.TransactionStep, mustSucceed bool) error {
	act := h.e.actions[steps[0].Name]
	now := timestamppb.Now()
	for _, s := range steps {
		s.State, s.StartedAt, s.Error = commonv1.StepState_STEP_RUNNING, now, ""
	}
	if err := h.save(ctx); err != nil {
		return stopped(ctx, err)
	}
	errs_ := make([]error, len(steps))
	var wg sync.WaitGroup
	for i, s := range steps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs_[i] = h.do(ctx, act, s)
		}()
	}
	wg.Wait()
	var failed []string
	var first error
	for i, err := range errs_ {
		if err == nil {
			continue
		}
		s := steps[i]
		h.e.log.Warn("transaction step failed", log.TxnID(h.txn.Id), zap.String("step", s.Name), log.Node(s.NodeId), log.Err(err))
		if errors.Is(err, errLockLost) {
			return err
		}
		if first == nil {
			first = err
		}
		failed = append(failed, fmt.Sprintf("%s on node %s: %s", s.Name, s.NodeId, public(err)))
	}
	jctx, cancel := h.journalCtx()
	defer cancel()
	if err := h.save(jctx); err != nil {
		return stopped(jctx, err)
	}
	if first != nil && mustSucceed {
		return errs.Wrap(errs.KindOf(first), first, "%s", strings.Join(failed, "; "))
	}
	return nil
}

// step runs one step's Do, journaling it before and after.
func (h *handle) step(ctx context.Context, s *commonv1.TransactionStep, mustSucceed bool) error {
	act, ok := h.e.actions[s.Name]
	if !ok {
		return errs.New(errs.Internal, "transaction %s has a step of unknown kind %q", h.txn.Id, s.Name)
	}
	s.State, s.StartedAt, s.Error = commonv1.StepState_STEP_RUNNING, timestamppb.Now(), ""
	if err := h.save(ctx); err != nil {
		return stopped(ctx, err)
	}
	err := h.do(ctx, act, s)
	if err != nil {
		h.e.log.Warn("transaction step failed", log.TxnID(h.txn.Id), zap.String("step", s.Name), log.Node(s.NodeId), log.Err(err))
		if errors.Is(err, errLockLost) {
			return err
		}
	}
	jctx, cancel := h.journalCtx()
	defer cancel()
	if serr := h.save(jctx); serr != nil {
		return stopped(jctx, serr)
	}
	if err != nil && mustSucceed {
		return errs.Wrap(errs.KindOf(err), err, "%s on node %s: %s", s.Name, s.NodeId, public(err))
	}
	return nil
}

// public is err's message for the journal and the caller: a domain
// error's own message (its cause is for the logs), else the whole text.
func public(err error) string {
	var e *errs.Error
	if errors.As(err, &e) {
		if e.Cause != nil && errors.Is(e.Cause, errLockLost) {
			return e.Message + ": " + e.Cause.Error()
		}
		return e.Message
	}
	return err.Error()
}

// do runs s's Do within the step timeout and records its outcome in s.
func (h *handle) do(ctx context.Context, act Action, s *commonv1.TransactionStep) error {
	sctx, cancel := context.WithTimeout(ctx, h.e.cfg.StepTimeout)
	err := act.Do(sctx, s)
	timedOut := sctx.Err() != nil && ctx.Err() == nil
	cancel()
	s.FinishedAt = timestamppb.Now()
	switch {
	case err == nil:
		s.State = commonv1.StepState_STEP_DONE
		return nil
	case timedOut:
		err = errs.Wrap(errs.Timeout, err, "the step did not finish within %s (%v)", h.e.cfg.StepTimeout, err)
	default:
		err = stopped(ctx, err)
	}
	s.State, s.Error = commonv1.StepState_STEP_FAILED, public(err)
	return err
}

// commitNow applies the plan's change and the journal's SUCCEEDED in one
// write, which also checks that the lock is still this engine's. A
// transaction with nothing to do after its commit gives its lock back in
// that same write (a delete at the version it took, which checks it just
// as well): one store write fewer, and no moment in which a finished
// transaction still holds its target.
func (h *handle) commitNow(ctx context.Context) error {
	ops, err := h.commit(ctx)
	if err != nil {
		return stopped(ctx, err)
	}
	t := proto.CloneOf(h.txn)
	t.State, t.FinishedAt = commonv1.TransactionState_SUCCEEDED, timestamppb.Now()
	release := !slices.ContainsFunc(t.Steps, func(s *commonv1.TransactionStep) bool { return s.AfterCommit })
	lockOp := h.lockCheck()
	if release {
		lockOp = h.lockRelease()
	}
	ops = append(ops, lockOp,
		&storev1.Operation{Op: &storev1.Operation_Update{Update: &storev1.UpdateRequest{
			Resource: &storev1.Resource{Body: &storev1.Resource_Transaction{Transaction: t}}, ResourceVersion: t.Version}}})
	var res *storev1.ApplyResponse
	err = retryTransient(ctx, func() error {
		var err error
		res, err = h.e.store.Raw().Apply(ctx, &storev1.ApplyRequest{Operations: ops})
		return errs.FromStatus(err)
	})
	if err == nil {
		h.txn = res.Results[len(res.Results)-1].Resource.GetTransaction()
		h.released = release
		if h.committed != nil {
			h.committed(res.Results[:len(res.Results)-2])
		}
		return nil
	}
	jctx, cancel := h.journalCtx()
	defer cancel()
	// A commit whose answer was lost may have landed: the record says.
	if cur, gerr := h.current(jctx); gerr == nil && cur.State == commonv1.TransactionState_SUCCEEDED {
		h.txn = cur
		h.released = release
		return nil
	}
	if lerr := h.checkLock(jctx); lerr != nil {
		return errs.Wrap(errs.Unavailable, lerr, "the commit was refused: %v", lerr)
	}
	return stopped(ctx, err)
}

// rollForward runs the after-commit steps not done yet, consecutive ones
// of a parallel kind at the same time; a failure is journaled but does not
// undo the committed change.
func (h *handle) rollForward(ctx context.Context) {
	var todo []*commonv1.TransactionStep
	for _, s := range h.txn.Steps {
		if s.AfterCommit && s.State != commonv1.StepState_STEP_DONE {
			todo = append(todo, s)
		}
	}
	for i, j := range h.e.groups(todo) {
		if err := h.runGroup(ctx, todo[i:j], false); err != nil {
			h.e.log.Warn("cannot journal a roll-forward step", log.TxnID(h.txn.Id), log.Err(err))
			return
		}
	}
}

// abort rolls back after err, unless the lock was lost: then another
// orchestrator (or this one, with a new session) recovers it.
func (h *handle) abort(ctx context.Context, cause error) (*commonv1.Transaction, error) {
	lost := h.held.Err() != nil || errors.Is(cause, errLockLost)
	if !lost {
		// The lock may be gone without this engine having noticed yet
		// (its session ended since the last renewal).
		cctx, cancel := context.WithTimeout(h.held, 5*time.Second)
		lost = h.checkLock(cctx) != nil
		cancel()
	}
	if lost {
		h.e.renew(context.Background()) // the session may have ended: stop everything under it
		return h.txn, errs.Wrap(errs.Unavailable, cause, "transaction %s lost its lock (the orchestrator's store session ended) and stopped; it will be rolled back by recovery", h.txn.Id)
	}
	if ctx.Err() != nil && errors.Is(context.Cause(ctx), errDeadlinePassed) && !errs.Is(cause, errs.Timeout) {
		cause = errs.Wrap(errs.Timeout, cause, "stopped: %v: %s", context.Cause(ctx), public(cause))
	}
	rctx, cancel := context.WithTimeout(context.Background(), h.e.cfg.Timeout)
	defer cancel()
	h.rollback(rctx, public(cause))
	return h.txn, cause
}

// rollback undoes every step that may have run, newest first, and marks
// the transaction ROLLED_BACK (FAILED when an undo failed).
func (h *handle) rollback(ctx context.Context, cause string) {
	h.txn.State, h.txn.Error = commonv1.TransactionState_ROLLING_BACK, cause
	if err := h.save(ctx); err != nil {
		h.e.log.Warn("cannot journal the rollback", log.TxnID(h.txn.Id), log.Err(err))
		if errs.Is(err, errs.Conflict) {
			// Someone else changed the record: it is not ours to finish.
			h.release()
		}
		return
	}
	var failed []string
	for i := len(h.txn.Steps) - 1; i >= 0; i-- {
		s := h.txn.Steps[i]
		if s.AfterCommit || s.State == commonv1.StepState_STEP_PENDING || s.State == commonv1.StepState_STEP_UNDONE ||
			(s.State == commonv1.StepState_STEP_FAILED && s.Args[ArgNotApplied] == "true") {
			continue
		}
		act := h.e.actions[s.Name]
		var err error
		for attempt := 0; attempt < 3; attempt++ {
			if act.Undo == nil {
				break
			}
			sctx, cancel := context.WithTimeout(ctx, h.e.cfg.StepTimeout)
			err = act.Undo(sctx, s)
			cancel()
			if err == nil || ctx.Err() != nil || attempt == 2 {
				break
			}
			time.Sleep(time.Duration(attempt+1) * 500 * time.Millisecond)
		}
		if err != nil {
			failed = append(failed, fmt.Sprintf("step %d (%s on node %s)", i+1, s.Name, s.NodeId))
			s.Error = "undo failed: " + err.Error()
			h.e.log.Error("cannot undo a transaction step", log.TxnID(h.txn.Id), zap.String("step", s.Name), log.Node(s.NodeId), log.Err(err))
		} else {
			s.State = commonv1.StepState_STEP_UNDONE
		}
		if err := h.save(ctx); err != nil {
			h.e.log.Warn("cannot journal an undone step", log.TxnID(h.txn.Id), log.Err(err))
			return
		}
	}
	h.txn.State, h.txn.FinishedAt = commonv1.TransactionState_ROLLED_BACK, timestamppb.Now()
	if len(failed) > 0 {
		h.txn.State = commonv1.TransactionState_FAILED
		h.txn.Error = cause + "; these steps could not be undone: " + strings.Join(failed, ", ")
	}
	if err := h.save(ctx); err != nil {
		h.e.log.Warn("cannot journal the end of a rollback", log.TxnID(h.txn.Id), log.Err(err))
		return
	}
	h.release()
	h.e.log.Info("transaction rolled back", log.TxnID(h.txn.Id), zap.String("operation", h.txn.Operation), zap.String("cause", cause))
}

// release gives the lock back.
func (h *handle) release() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := h.e.store.Raw().Delete(ctx, &storev1.DeleteRequest{
		Key: &storev1.ResourceKey{Kind: storev1.Kind_LOCK, Name: LockName(h.txn.Target)}, ResourceVersion: h.lockVersion})
	if err != nil && !errs.Is(errs.FromStatus(err), errs.NotFound) {
		h.e.log.Warn("cannot release a transaction's lock; it goes with the session", log.TxnID(h.txn.Id), log.Err(err))
	}
}

// unfinished says whether a journal record still needs work.
func unfinished(t *commonv1.Transaction) bool {
	switch t.State {
	case commonv1.TransactionState_PENDING, commonv1.TransactionState_RUNNING, commonv1.TransactionState_ROLLING_BACK:
		return true
	case commonv1.TransactionState_SUCCEEDED:
		for _, s := range t.Steps {
			if s.AfterCommit && s.State != commonv1.StepState_STEP_DONE && s.State != commonv1.StepState_STEP_FAILED {
				return true
			}
		}
	}
	return false
}

// maxEnded bounds the records of ended transactions kept for the next
// recovery pass; beyond it, the pass reads them.
const maxEnded = 10000

// recoverAll finds unfinished transactions whose lock is free (their
// orchestrator is gone), takes their lock and finishes them: a
// transaction that had not committed is rolled back, one that had is
// rolled forward. It lists the journal's keys and reads only the records
// it has neither read finished before nor run to their end itself, then
// collects old finished records.
func (e *Engine) recoverAll(ctx context.Context) {
	e.mu.Lock()
	for id, t := range e.ended {
		e.finished[id] = &storev1.Resource{Body: &storev1.Resource_Transaction{Transaction: t}}
	}
	clear(e.ended)
	e.mu.Unlock()
	l, err := e.store.Raw().List(ctx, &storev1.ListRequest{Kind: storev1.Kind_TRANSACTION, KeysOnly: true})
	if err != nil {
		return
	}
	present := make(map[string]bool, len(l.Keys))
	records := make([]*storev1.Resource, 0, len(l.Keys))
	for _, k := range l.Keys {
		id := k.GetName()
		present[id] = true
		if r, ok := e.finished[id]; ok {
			records = append(records, r)
			continue
		}
		e.mu.Lock()
		mine := e.running[id]
		e.mu.Unlock()
		if mine {
			continue
		}
		got, err := e.store.Raw().Get(ctx, &storev1.GetRequest{Key: k})
		if err != nil {
			if err = errs.FromStatus(err); !errs.Is(err, errs.NotFound) {
				e.log.Warn("cannot read a transaction record; the next pass tries again", log.TxnID(id), log.Err(err))
			}
			continue
		}
		t := got.GetResource().GetTransaction()
		if t == nil {
			continue
		}
		if !unfinished(t) {
			e.finished[id] = got.GetResource()
			records = append(records, got.GetResource())
			continue
		}
		if err := e.recoverOne(ctx, t); err != nil && !errs.Is(err, errs.Conflict) {
			e.log.Warn("cannot recover a transaction yet", log.TxnID(t.Id), log.Err(err))
		}
	}
	for id := range e.finished {
		if !present[id] {
			delete(e.finished, id)
		}
	}
	e.collect(ctx, records, time.Now())
}

// collectBatch is how many records one store write deletes (a delete is
// two of Consul's 128 operations: the key and its tombstone).
const collectBatch = 50

// collectMax bounds the deletions of one pass, so a long backlog is worked
// off over several passes instead of in one burst of writes.
const collectMax = 10 * collectBatch

// collectable returns the finished records to delete: those that ended
// before now-Retention, and those beyond the newest History. Unfinished
// records and those that ended FAILED (an undo that needs an operator) are
// never collected.
func collectable(records []*storev1.Resource, now time.Time, retention time.Duration, history int) []*storev1.Resource {
	var done []*storev1.Resource
	for _, r := range records {
		t := r.GetTransaction()
		if t == nil || unfinished(t) || t.State == commonv1.TransactionState_FAILED || t.FinishedAt == nil {
			continue
		}
		done = append(done, r)
	}
	// Newest first; equal end times by id so that every replica picks the same.
	slices.SortFunc(done, func(a, b *storev1.Resource) int {
		ta, tb := a.GetTransaction(), b.GetTransaction()
		if c := tb.FinishedAt.AsTime().Compare(ta.FinishedAt.AsTime()); c != 0 {
			return c
		}
		return strings.Compare(ta.Id, tb.Id)
	})
	var out []*storev1.Resource
	for i, r := range done {
		if i >= history || now.Sub(r.GetTransaction().FinishedAt.AsTime()) > retention {
			out = append(out, r)
		}
	}
	return out
}

// collect deletes finished transaction records past their retention, so
// the journal does not grow without bound. Each delete names the version
// it saw; a record that changed meanwhile, or that another replica deleted
// first, fails that batch, which the next pass retries.
func (e *Engine) collect(ctx context.Context, records []*storev1.Resource, now time.Time) {
	old := collectable(records, now, e.cfg.Retention, e.cfg.History)
	if len(old) > collectMax {
		old = old[len(old)-collectMax:] // the oldest first
	}
	deleted := 0
	for len(old) > 0 {
		n := min(len(old), collectBatch)
		ops := make([]*storev1.Operation, 0, n)
		for _, r := range old[:n] {
			ops = append(ops, &storev1.Operation{Op: &storev1.Operation_Delete{Delete: &storev1.DeleteRequest{
				Key: &storev1.ResourceKey{Kind: storev1.Kind_TRANSACTION, Name: r.GetTransaction().Id}, ResourceVersion: r.GetTransaction().Version}}})
		}
		batch := old[:n]
		old = old[n:]
		// Deleted, or changed or gone since they were read: read again
		// if still there.
		for _, r := range batch {
			delete(e.finished, r.GetTransaction().Id)
		}
		if _, err := e.store.Raw().Apply(ctx, &storev1.ApplyRequest{Operations: ops}); err != nil {
			if err = errs.FromStatus(err); !errs.Is(err, errs.Conflict) && !errs.Is(err, errs.NotFound) {
				e.log.Warn("cannot collect old transaction records yet", zap.Int("records", n), log.Err(err))
			}
			continue
		}
		deleted += n
	}
	if deleted > 0 {
		e.log.Info("collected finished transaction records", zap.Int("records", deleted),
			zap.Duration("retention", e.cfg.Retention), zap.Int("history", e.cfg.History))
	}
}

func (e *Engine) recoverOne(ctx context.Context, t *commonv1.Transaction) error {
	sess, err := e.currentSession(ctx)
	if err != nil {
		return err
	}
	e.mu.Lock()
	sessionCtx := e.sessionCtx
	e.mu.Unlock()
	// Taking the lock fails while its holder lives (or during lock-delay).
	lock := &commonv1.Lock{Name: LockName(t.Target), Owner: e.cfg.Owner, TransactionId: t.Id}
	var lockVersion uint64
	res, err := e.store.Raw().Create(ctx, &storev1.CreateRequest{Resource: &storev1.Resource{Body: &storev1.Resource_Lock{Lock: lock}}, SessionId: sess})
	switch err = errs.FromStatus(err); {
	case err == nil:
		lockVersion = res.ResourceVersion
	case errs.Is(err, errs.AlreadyExists):
		// Held by this replica for this transaction, which it gave up on
		// (its journal could not be written): take it up again.
		held, gerr := e.store.Raw().Get(ctx, &storev1.GetRequest{Key: &storev1.ResourceKey{Kind: storev1.Kind_LOCK, Name: lock.Name}})
		if gerr != nil || held.Resource.GetLock().GetOwner() != e.cfg.Owner || held.Resource.GetLock().GetTransactionId() != t.Id {
			return err
		}
		lockVersion = held.ResourceVersion
	default:
		return err
	}
	h := &handle{e: e, txn: t, lockVersion: lockVersion, held: sessionCtx}
	// The listing may be older than the lock: the transaction may have
	// finished (and released its lock) since. Only the record read now,
	// under the lock, says whether there is anything to do.
	cur, err := h.current(ctx)
	if err != nil || !unfinished(cur) {
		h.release()
		return err
	}
	h.txn = cur
	e.mu.Lock()
	if e.running[t.Id] {
		e.mu.Unlock()
		h.release()
		return nil
	}
	e.running[t.Id] = true
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		delete(e.running, t.Id)
		e.mu.Unlock()
	}()
	t = cur
	prev := t.Owner
	h.txn.Owner = e.cfg.Owner
	e.log.Warn("recovering a transaction its orchestrator left unfinished", log.TxnID(t.Id),
		zap.String("operation", t.Operation), zap.String("state", t.State.String()), zap.String("previous_owner", prev))
	if t.State == commonv1.TransactionState_SUCCEEDED {
		rctx, cancel := context.WithTimeout(ctx, e.cfg.Timeout)
		defer cancel()
		h.rollForward(rctx)
		h.release()
		return nil
	}
	cause := t.Error
	if cause == "" {
		cause = "orchestrator " + prev + " stopped before the transaction finished"
	}
	rctx, cancel := context.WithTimeout(ctx, e.cfg.Timeout)
	defer cancel()
	h.rollback(rctx, cause)
	return nil
}
