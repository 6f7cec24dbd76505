// Package supervisor keeps a node's daemon processes in the state asked of
// it: it starts the wanted ones, restarts those that die with exponential
// backoff (a crash loop shows as a state), stops the unwanted ones with
// SIGTERM and then SIGKILL, and adopts the processes a previous run left
// running instead of starting duplicates.
package supervisor

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/glusterd-ng/glusterd-ng/libs/log"
)

// State is where a daemon is in its life.
type State string

// The states a daemon can be in.
const (
	// Starting: the process runs but is not ready (a brick has not signed in).
	Starting State = "starting"
	// Running: the process runs and is ready.
	Running State = "running"
	// Backoff: the process ended unexpectedly and waits to be started again.
	Backoff State = "backoff"
	// CrashLoop: like Backoff, after CrashLoopAfter quick failures in a row.
	CrashLoop State = "crashloop"
	// Stopping: the process was asked to end.
	Stopping State = "stopping"
	// Stopped: no process, as asked.
	Stopped State = "stopped"
)

// Spec is one daemon the supervisor should know about.
type Spec struct {
	// Name identifies the daemon on this node, e.g. "brick.<brick-id>"; it
	// names its record file, so it holds no "/".
	Name string
	// Kind, Volume, BrickID and BrickPath describe the daemon for status.
	Kind, Volume, BrickID, BrickPath string
	// Run says whether the daemon should run; false keeps it known (and in
	// status) but stopped.
	Run bool
	// Fingerprint identifies the configuration the process runs with; a
	// running process with another fingerprint is stopped and started again.
	Fingerprint string
	// Launch prepares one start (e.g. picks a port) and returns the command.
	Launch func(ctx context.Context) (Launch, error)
	// Ready reports whether the running process serves (a brick signed in);
	// nil means running is ready.
	Ready func(ctx context.Context, pid, port int) bool
}

// Launch is how to start a daemon once.
type Launch struct {
	Path string
	Args []string
	// Port is the port the process will serve on, for status.
	Port int
	// LogFile is the daemon's own log, for status.
	LogFile string
	// OutFile collects the process's standard output and error.
	OutFile string
	// PidFile is the pid file the daemon writes itself; its directory is created.
	PidFile string
}

// Status is what the supervisor knows about one daemon.
type Status struct {
	Name, Kind, Volume, BrickID, BrickPath string
	PID, Port                              int
	State                                  State
	Ready                                  bool
	Restarts                               uint32
	LastExit                               string
	LogFile                                string
	// Since is when the daemon entered State.
	Since time.Time
}

// Options tune a Supervisor; zero fields get the defaults shown.
type Options struct {
	// RecordDir keeps one record per process, for adoption by the next run.
	RecordDir string
	// StopTimeout is how long a daemon gets between SIGTERM and SIGKILL (10s).
	StopTimeout time.Duration
	// BackoffMin and BackoffMax bound the delay before a restart (1s, 1m);
	// the delay doubles with each quick failure in a row.
	BackoffMin, BackoffMax time.Duration
	// StableAfter is how long a process must run for its end to count as
	// a fresh failure rather than another in a row (30s).
	StableAfter time.Duration
	// CrashLoopAfter is the number of quick failures in a row that makes
	// the state CrashLoop (5).
	CrashLoopAfter int
	// StopOnExit stops every daemon when the supervisor's context ends;
	// otherwise they keep running for the next run to adopt.
	StopOnExit bool
	// MaxStarting bounds how many daemons may be starting at once (16).
	MaxStarting int
	// ProbeInterval is how often readiness is checked while starting
	// (25ms: a brick is reported online within that of signing in).
	ProbeInterval time.Duration
	// RunningProbeInterval is how often a ready daemon is checked again
	// (2s); Recheck checks every daemon at once in between.
	RunningProbeInterval time.Duration
	// OnChange is called (from any goroutine) after a daemon's status changed.
	OnChange func(name string)
}

func (o *Options) defaults() {
	set := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	set(&o.StopTimeout, 10*time.Second)
	set(&o.BackoffMin, time.Second)
	set(&o.BackoffMax, time.Minute)
	set(&o.StableAfter, 30*time.Second)
	set(&o.ProbeInterval, 25*time.Millisecond)
	set(&o.RunningProbeInterval, 2*time.Second)
	if o.CrashLoopAfter <= 0 {
		o.CrashLoopAfter = 5
	}
	if o.MaxStarting <= 0 {
		o.MaxStarting = 16
	}
	if o.OnChange == nil {
		o.OnChange = func(string) {}
	}
}

// startSlotTimeout is how long a starting daemon may hold its slot of
// Options.MaxStarting without getting ready.
const startSlotTimeout = 30 * time.Second

// adoptedPoll is how often an adopted process (not our child, so not
// waitable) is checked for its end.
const adoptedPoll = 250 * time.Millisecond

// Supervisor runs a node's daemons.
type Supervisor struct {
	opts     Options
	log      *zap.Logger
	starting chan struct{} // semaphore of daemons starting at once

	mu      sync.Mutex
	ctx     context.Context
	daemons map[string]*daemon
	wg      sync.WaitGroup
}

// New returns a supervisor; Run starts it.
func New(opts Options, logger *zap.Logger) *Supervisor {
	opts.defaults()
	return &Supervisor{opts: opts, log: logger, starting: make(chan struct{}, opts.MaxStarting),
		daemons: map[string]*daemon{}}
}

// Run adopts the processes a previous run left (they keep running until the
// first Apply says otherwise), then supervises until ctx ends. When it
// ends, daemons are stopped if StopOnExit is set and left running otherwise;
// Run returns when every daemon's goroutine has.
func (s *Supervisor) Run(ctx context.Context) {
	s.mu.Lock()
	s.ctx = ctx
	for _, rec := range records(s.opts.RecordDir) {
		p, ok := adopt(rec, adoptedPoll)
		if !ok {
			removeRecord(s.opts.RecordDir, rec.Name)
			continue
		}
		s.log.Info("adopted a running daemon", zap.String("daemon", rec.Name), zap.Int("pid", rec.PID))
		d := s.newDaemon(Spec{Name: rec.Name, Run: true, Fingerprint: rec.Fingerprint})
		d.proc = p
		d.status.State, d.status.PID, d.status.Port = Starting, rec.PID, rec.Port
		d.status.LogFile, d.status.Restarts = rec.LogFile, rec.Restarts
		s.startDaemon(d)
	}
	s.mu.Unlock()
	<-ctx.Done()
	s.wg.Wait()
}

// Apply makes specs the whole set of daemons: new ones are started,
// changed ones updated, and daemons missing from specs are stopped and
// forgotten. It does not wait for any of that.
func (s *Supervisor) Apply(specs []Spec) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx == nil || s.ctx.Err() != nil {
		return
	}
	want := map[string]bool{}
	for _, sp := range specs {
		want[sp.Name] = true
		if d, ok := s.daemons[sp.Name]; ok {
			d.update(sp, false)
			continue
		}
		s.startDaemon(s.newDaemon(sp))
	}
	for name, d := range s.daemons {
		if !want[name] {
			d.update(Spec{}, true)
		}
	}
}

// Statuses returns every daemon's status, sorted by name.
func (s *Supervisor) Statuses() []Status {
	s.mu.Lock()
	ds := slices.Collect(maps.Values(s.daemons))
	s.mu.Unlock()
	out := make([]Status, 0, len(ds))
	for _, d := range ds {
		out = append(out, d.snapshot())
	}
	slices.SortFunc(out, func(a, b Status) int { return compareStrings(a.Name, b.Name) })
	return out
}

// Recheck has every daemon check its readiness now rather than at its
// next probe: for a caller that learns of a change readiness depends on
// (a brick signing in or out), so that the interval between probes only
// bounds how late a change nobody reported is seen.
func (s *Supervisor) Recheck() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range s.daemons {
		select {
		case d.recheck <- struct{}{}:
		default:
		}
	}
}

// Status returns one daemon's status.
func (s *Supervisor) Status(name string) (Status, bool) {
	s.mu.Lock()
	d, ok := s.daemons[name]
	s.mu.Unlock()
	if !ok {
		return Status{}, false
	}
	return d.snapshot(), true
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (s *Supervisor) newDaemon(sp Spec) *daemon {
	d := &daemon{s: s, spec: sp, wake: make(chan struct{}, 1), recheck: make(chan struct{}, 1),
		status: Status{Name: sp.Name, State: Stopped, Since: time.Now()}}
	d.describe(sp)
	return d
}

// startDaemon registers d and starts its goroutine; s.mu is held.
func (s *Supervisor) startDaemon(d *daemon) {
	s.daemons[d.spec.Name] = d
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		// A new daemon has a status to report even when its loop finds
		// nothing to change (one that is not to run starts and stays
		// stopped).
		s.opts.OnChange(d.spec.Name)
		d.loop(s.ctx)
		s.mu.Lock()
		if s.daemons[d.spec.Name] == d {
			delete(s.daemons, d.spec.Name)
		}
		s.mu.Unlock()
		s.opts.OnChange(d.spec.Name)
	}()
}

// daemon is one supervised daemon; its goroutine alone touches proc.
type daemon struct {
	s    *Supervisor
	wake chan struct{}
	// recheck asks the loop to probe readiness now (Recheck).
	recheck chan struct{}
	proc    *process

	mu      sync.Mutex
	spec    Spec
	removed bool
	status  Status
}

func (d *daemon) update(sp Spec, removed bool) {
	d.mu.Lock()
	// The daemon's loop acts on whether it should run, with which
	// configuration, and on its removal; a spec that changes none of these
	// (every other volume's change re-applies every spec) does not wake it.
	old := d.spec
	act := removed || d.removed || sp.Run != old.Run || sp.Fingerprint != old.Fingerprint || (sp.Launch == nil) != (old.Launch == nil)
	if !removed {
		d.spec = sp
		d.describeLocked(sp)
	}
	d.removed = d.removed || removed
	d.mu.Unlock()
	if !act {
		return
	}
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func (d *daemon) describe(sp Spec) {
	d.mu.Lock()
	d.describeLocked(sp)
	d.mu.Unlock()
}

func (d *daemon) describeLocked(sp Spec) {
	if sp.Kind != "" {
		d.status.Kind, d.status.Volume, d.status.BrickID, d.status.BrickPath = sp.Kind, sp.Volume, sp.BrickID, sp.BrickPath
	}
}

func (d *daemon) current() (Spec, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.spec, d.removed
}

func (d *daemon) snapshot() Status {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.status
}

// set changes the status through f and reports the change.
func (d *daemon) set(f func(st *Status)) {
	d.mu.Lock()
	before := d.status
	f(&d.status)
	if d.status.State != before.State {
		d.status.Since = time.Now()
	}
	changed := d.status != before
	d.mu.Unlock()
	if changed {
		d.s.opts.OnChange(d.spec.Name)
	}
}

// loop drives the daemon towards its spec until it is removed or ctx ends.
func (d *daemon) loop(ctx context.Context) {
	o := d.s.opts
	lg := d.s.log.With(zap.String("daemon", d.spec.Name))
	var (
		quickFailures int
		retryAt       time.Time
		holding       bool // holds a slot of the starting semaphore
		lastProbe     time.Time
	)
	release := func() {
		if holding {
			<-d.s.starting
			holding = false
		}
	}
	defer release()
	for {
		spec, removed := d.current()
		if p := d.proc; p != nil {
			stale := removed || !spec.Run || (p.rec.Fingerprint != spec.Fingerprint && spec.Launch != nil)
			if ctx.Err() != nil && !o.StopOnExit {
				lg.Info("leaving the daemon running", zap.Int("pid", p.rec.PID))
				return
			}
			if stale || ctx.Err() != nil {
				d.set(func(st *Status) { st.State = Stopping })
				p.stop(o.StopTimeout)
				release()
				removeRecord(o.RecordDir, spec.Name)
				lg.Info("stopped daemon", zap.Int("pid", p.rec.PID), zap.String("exit", p.exit))
				d.proc = nil
				quickFailures, retryAt = 0, time.Time{}
				d.set(func(st *Status) {
					st.State, st.PID, st.Ready, st.LastExit = Stopped, 0, false, p.exit+" (stopped)"
				})
				continue
			}
		}
		if removed || ctx.Err() != nil {
			return
		}
		if d.proc == nil {
			if !spec.Run || spec.Launch == nil {
				d.set(func(st *Status) { st.State, st.PID, st.Ready = Stopped, 0, false })
				d.sleep(ctx, nil)
				continue
			}
			if wait := time.Until(retryAt); wait > 0 {
				state := Backoff
				if quickFailures >= o.CrashLoopAfter {
					state = CrashLoop
				}
				d.set(func(st *Status) { st.State, st.PID, st.Ready = state, 0, false })
				d.sleep(ctx, time.After(wait))
				continue
			}
			if !holding {
				select {
				case d.s.starting <- struct{}{}:
					holding = true
				case <-ctx.Done():
					continue
				case <-d.wake:
					continue
				}
			}
			p, err := d.launch(ctx, spec)
			if err != nil {
				release()
				quickFailures++
				retryAt = time.Now().Add(backoff(o, quickFailures))
				lg.Warn("cannot start daemon", log.Err(err))
				d.set(func(st *Status) { st.LastExit = "not started: " + err.Error() })
				continue
			}
			d.proc, lastProbe = p, time.Time{}
			lg.Info("started daemon", zap.Int("pid", p.rec.PID), zap.Int("port", p.rec.Port))
			d.set(func(st *Status) {
				st.State, st.PID, st.Port, st.Ready, st.LogFile = Starting, p.rec.PID, p.rec.Port, false, p.rec.LogFile
			})
		}
		p := d.proc
		st := d.snapshot()
		interval := o.ProbeInterval
		if st.Ready {
			interval = o.RunningProbeInterval
		}
		probe := time.After(time.Until(lastProbe.Add(interval)))
		select {
		case <-p.exited:
			release()
			d.proc = nil
			removeRecord(o.RecordDir, spec.Name)
			if time.Since(p.rec.StartedAt) >= o.StableAfter {
				quickFailures = 0
			}
			quickFailures++
			delay := backoff(o, quickFailures)
			retryAt = time.Now().Add(delay)
			lg.Warn("daemon ended unexpectedly; restarting after backoff", zap.Int("pid", p.rec.PID),
				zap.String("exit", p.exit), zap.Duration("backoff", delay), zap.Int("failures_in_a_row", quickFailures))
			d.set(func(st *Status) { st.LastExit, st.Restarts = p.exit, st.Restarts+1 })
		case <-probe:
			lastProbe = time.Now()
			ready := spec.Ready == nil || spec.Ready(ctx, p.rec.PID, p.rec.Port)
			if ready || time.Since(p.rec.StartedAt) > startSlotTimeout {
				// A daemon that never gets ready must not keep others from starting.
				release()
			}
			d.set(func(st *Status) {
				st.Ready = ready
				if ready {
					st.State = Running
				} else {
					st.State = Starting
				}
			})
		case <-d.recheck:
			lastProbe = time.Time{}
		case <-d.wake:
		case <-ctx.Done():
		}
	}
}

// launch starts spec's process once and records it for adoption.
func (d *daemon) launch(ctx context.Context, spec Spec) (*process, error) {
	l, err := spec.Launch(ctx)
	if err != nil {
		return nil, err
	}
	p, err := start(l)
	if err != nil {
		return nil, err
	}
	p.rec.Name, p.rec.Fingerprint, p.rec.Restarts = spec.Name, spec.Fingerprint, d.snapshot().Restarts
	if err := writeRecord(d.s.opts.RecordDir, p.rec); err != nil {
		// Without a record the next run cannot adopt it: do not run it at all.
		p.stop(d.s.opts.StopTimeout)
		return nil, fmt.Errorf("record the process for adoption: %w", err)
	}
	return p, nil
}

// sleep waits for a spec change, ctx's end or timer (which may be nil).
func (d *daemon) sleep(ctx context.Context, timer <-chan time.Time) {
	select {
	case <-d.wake:
	case <-ctx.Done():
	case <-timer:
	}
}

// backoff is the delay before restart number n of a quick-failure run.
func backoff(o Options, n int) time.Duration {
	d := o.BackoffMin
	for i := 1; i < n && d < o.BackoffMax; i++ {
		d *= 2
	}
	return min(d, o.BackoffMax)
}
