package supervisor

import (
	"context"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/glusterd-ng/glusterd-ng/libs/testutil"
)

// sleeper returns a spec running sleep(1) directly (a shell's exec would
// change the command line that adoption checks).
func sleeper(name, secs string) Spec {
	return Spec{Name: name, Kind: "test", Run: true, Fingerprint: secs,
		Launch: func(context.Context) (Launch, error) {
			return Launch{Path: "/bin/sleep", Args: []string{secs}}, nil
		}}
}

// shell returns a spec running script under /bin/sh.
func shell(name, script string) Spec {
	return Spec{Name: name, Kind: "test", Run: true, Fingerprint: script,
		Launch: func(context.Context) (Launch, error) {
			return Launch{Path: "/bin/sh", Args: []string{"-c", script}}, nil
		}}
}

func fast(dir string) Options {
	return Options{RecordDir: dir, StopTimeout: 500 * time.Millisecond, BackoffMin: 20 * time.Millisecond,
		BackoffMax: 200 * time.Millisecond, StableAfter: time.Minute, CrashLoopAfter: 3,
		ProbeInterval: 20 * time.Millisecond, RunningProbeInterval: 100 * time.Millisecond}
}

// run starts a supervisor until the test ends (or stop is called).
func run(t *testing.T, opts Options) (s *Supervisor, stop func()) {
	s = New(opts, zaptest.NewLogger(t))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	stop = func() { cancel(); <-done }
	t.Cleanup(func() {
		stop()
		// Daemons outlive a supervisor without StopOnExit, as designed;
		// the test's must not outlive the test.
		for _, rec := range records(opts.RecordDir) {
			if rec.PID > 0 && rec.PID != os.Getpid() {
				_ = syscall.Kill(rec.PID, syscall.SIGKILL)
			}
		}
	})
	testutil.Await(t, 5*time.Second, func() bool { s.mu.Lock(); defer s.mu.Unlock(); return s.ctx != nil }, "supervisor running")
	return s, stop
}

func await(t *testing.T, s *Supervisor, name string, cond func(Status) bool) Status {
	t.Helper()
	var last Status
	testutil.Await(t, 10*time.Second, func() bool {
		st, ok := s.Status(name)
		last = st
		return ok && cond(st)
	}, "daemon %s: last status %+v", name, &last)
	return last
}

func alive(pid int) bool { return pid > 0 && syscall.Kill(pid, 0) == nil && !zombie(pid) }

func zombie(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	i := strings.LastIndexByte(string(b), ')')
	return b[i+2] == 'Z'
}

func TestRestartsAKilledDaemonWithBackoff(t *testing.T) {
	s, _ := run(t, fast(t.TempDir()))
	s.Apply([]Spec{sleeper("d1", "1000")})
	first := await(t, s, "d1", func(st Status) bool { return st.State == Running })
	require.True(t, alive(first.PID))

	require.NoError(t, syscall.Kill(first.PID, syscall.SIGKILL))
	again := await(t, s, "d1", func(st Status) bool { return st.State == Running && st.PID != first.PID })
	require.EqualValues(t, 1, again.Restarts)
	require.Contains(t, again.LastExit, "killed by signal 9")
}

func TestCrashLoopIsAState(t *testing.T) {
	s, _ := run(t, fast(t.TempDir()))
	s.Apply([]Spec{shell("bad", "exit 3")})
	st := await(t, s, "bad", func(st Status) bool { return st.State == CrashLoop })
	require.Equal(t, "exit status 3", st.LastExit)
	require.GreaterOrEqual(t, st.Restarts, uint32(3))
	require.Zero(t, st.PID)
}

func TestLaunchErrorIsVisibleAndRetried(t *testing.T) {
	s, _ := run(t, fast(t.TempDir()))
	calls := make(chan struct{}, 100)
	sp := Spec{Name: "nolaunch", Run: true, Launch: func(context.Context) (Launch, error) {
		calls <- struct{}{}
		return Launch{Path: "/nonexistent/glusterfsd"}, nil
	}}
	s.Apply([]Spec{sp})
	st := await(t, s, "nolaunch", func(st Status) bool { return st.State == CrashLoop })
	require.Contains(t, st.LastExit, "not started")
	require.Contains(t, st.LastExit, "/nonexistent/glusterfsd")
	require.GreaterOrEqual(t, len(calls), 3)
}

func TestStopsWithTermThenKill(t *testing.T) {
	s, _ := run(t, fast(t.TempDir()))
	polite := shell("polite", "exec sleep 1000")
	stubborn := shell("stubborn", "trap '' TERM; while :; do sleep 0.05; done")
	s.Apply([]Spec{polite, stubborn})
	p := await(t, s, "polite", func(st Status) bool { return st.State == Running })
	q := await(t, s, "stubborn", func(st Status) bool { return st.State == Running })

	polite.Run, stubborn.Run = false, false
	s.Apply([]Spec{polite, stubborn})
	ps := await(t, s, "polite", func(st Status) bool { return st.State == Stopped })
	qs := await(t, s, "stubborn", func(st Status) bool { return st.State == Stopped })
	require.False(t, alive(p.PID))
	require.False(t, alive(q.PID))
	require.Contains(t, ps.LastExit, "signal 15")
	require.Contains(t, qs.LastExit, "signal 9")
	require.Zero(t, ps.Restarts, "a stop asked for is not a restart")

	// Forgetting a daemon stops it and drops it from status.
	s.Apply(nil)
	testutil.Await(t, 5*time.Second, func() bool { return len(s.Statuses()) == 0 }, "daemon forgotten")
}

func TestFingerprintChangeRestarts(t *testing.T) {
	s, _ := run(t, fast(t.TempDir()))
	sp := shell("d", "exec sleep 1000")
	s.Apply([]Spec{sp})
	a := await(t, s, "d", func(st Status) bool { return st.State == Running })
	sp.Fingerprint = "v2"
	s.Apply([]Spec{sp})
	b := await(t, s, "d", func(st Status) bool { return st.State == Running && st.PID != a.PID })
	require.False(t, alive(a.PID))
	require.Zero(t, b.Restarts)
}

func TestAdoptsWhatAPreviousRunLeft(t *testing.T) {
	dir := t.TempDir()
	sp := sleeper("keep", "1000")
	gone := sleeper("gone", "999")
	s1, stop1 := run(t, fast(dir))
	s1.Apply([]Spec{sp, gone})
	a := await(t, s1, "keep", func(st Status) bool { return st.State == Running })
	g := await(t, s1, "gone", func(st Status) bool { return st.State == Running })
	stop1() // StopOnExit is off: the daemons outlive the supervisor
	require.True(t, alive(a.PID))
	require.True(t, alive(g.PID))

	s2, _ := run(t, fast(dir))
	adopted := await(t, s2, "keep", func(st Status) bool { return st.PID == a.PID })
	require.Equal(t, a.PID, adopted.PID)
	s2.Apply([]Spec{sp}) // "gone" is no longer wanted
	await(t, s2, "keep", func(st Status) bool { return st.State == Running })
	testutil.Await(t, 5*time.Second, func() bool { return !alive(g.PID) }, "unwanted adopted daemon stopped")
	st, _ := s2.Status("keep")
	require.Equal(t, a.PID, st.PID, "a healthy adopted daemon is not restarted")

	// An adopted daemon that dies is restarted like any other.
	require.NoError(t, syscall.Kill(a.PID, syscall.SIGKILL))
	b := await(t, s2, "keep", func(st Status) bool { return st.State == Running && st.PID != a.PID })
	require.EqualValues(t, 1, b.Restarts)
}

func TestAdoptionChecksTheCommandLine(t *testing.T) {
	dir := t.TempDir()
	// A record whose pid now runs something else (pid reuse) is not adopted.
	require.NoError(t, writeRecord(dir, record{Name: "stale", PID: os.Getpid(), Argv: []string{"/usr/sbin/glusterfsd", "-s", "x"}}))
	s, _ := run(t, fast(dir))
	_, ok := s.Status("stale")
	require.False(t, ok)
	_, err := os.Stat(dir + "/stale.json")
	require.True(t, os.IsNotExist(err))
}

func TestStopOnExitStopsEverything(t *testing.T) {
	o := fast(t.TempDir())
	o.StopOnExit = true
	s, stop := run(t, o)
	s.Apply([]Spec{shell("d", "exec sleep 1000")})
	a := await(t, s, "d", func(st Status) bool { return st.State == Running })
	stop()
	require.False(t, alive(a.PID))
}

func TestReadinessGatesRunning(t *testing.T) {
	s, _ := run(t, fast(t.TempDir()))
	ready := make(chan struct{})
	sp := shell("r", "exec sleep 1000")
	sp.Ready = func(context.Context, int, int) bool {
		select {
		case <-ready:
			return true
		default:
			return false
		}
	}
	s.Apply([]Spec{sp})
	await(t, s, "r", func(st Status) bool { return st.State == Starting && st.PID > 0 })
	close(ready)
	st := await(t, s, "r", func(st Status) bool { return st.State == Running })
	require.True(t, st.Ready)
}

// A daemon added not to run is reported at once: its status exists, though
// its loop never changes it.
func TestNewDaemonIsReportedEvenWhenItDoesNotRun(t *testing.T) {
	opts := fast(t.TempDir())
	changed := make(chan string, 16)
	opts.OnChange = func(name string) {
		select {
		case changed <- name:
		default:
		}
	}
	s, _ := run(t, opts)
	idle := sleeper("idle", "1000")
	idle.Run = false
	s.Apply([]Spec{idle})
	select {
	case name := <-changed:
		require.Equal(t, "idle", name)
	case <-time.After(10 * time.Second):
		t.Fatal("no change reported for a daemon added not to run")
	}
	st, ok := s.Status("idle")
	require.True(t, ok)
	require.Equal(t, Stopped, st.State)
}

// Recheck has a running daemon probe its readiness at once, not at its
// next probe (an hour away here).
func TestRecheckProbesRunningDaemonsAtOnce(t *testing.T) {
	opts := fast(t.TempDir())
	opts.RunningProbeInterval = time.Hour
	s, _ := run(t, opts)
	var ready atomic.Bool
	ready.Store(true)
	sp := shell("r", "exec sleep 1000")
	sp.Ready = func(context.Context, int, int) bool { return ready.Load() }
	s.Apply([]Spec{sp})
	await(t, s, "r", func(st Status) bool { return st.State == Running && st.Ready })

	ready.Store(false)
	s.Recheck()
	st := await(t, s, "r", func(st Status) bool { return !st.Ready })
	require.Equal(t, Starting, st.State, "signed out: back to starting")
	ready.Store(true)
	s.Recheck()
	await(t, s, "r", func(st Status) bool { return st.State == Running && st.Ready })
}
