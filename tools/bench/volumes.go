package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/glusterd-ng/glusterd-ng/libs/testutil"
	"github.com/glusterd-ng/glusterd-ng/tools/bench/glusterd"
)

// The volumes benchmark runs two three-node clusters on loopback addresses
// the tests and the other sections do not use: the tests take 127.1.1.1-30
// and 127.1.1.2xx, the other sections 127.1.1.24x, 127.1.2.x and 127.1.4.x.
const (
	stockVolPrefix = "127.1.5." // stock glusterd instances 1..3
	ngVolPrefix    = "127.1.6." // glusterd-ng storage nodes 1..3
	volNodes       = 3
)

// volOps are the operations of one round, in the order they run.
var volOps = []string{"create", "start", "set", "stop", "delete"}

// volOpTimeout bounds one operation; glusterd's own CLI timeout is 120 s.
const volOpTimeout = 3 * time.Minute

// volRuns is what one way of driving a cluster measured.
type volRuns struct {
	// floor is the fixed cost of one call that does no work (for a CLI,
	// mostly starting the process).
	floor []time.Duration
	ops   map[string][]time.Duration
	// scale is volume set on one started volume with more and more other
	// volumes (created, not started), by their count.
	scale map[int][]time.Duration
	// scaleStarted is the same with every other volume there and this many
	// of them started.
	scaleStarted map[int][]time.Duration
	// setCPU and setCPUStarted are the management processes' CPU time per
	// set, at each count (shared by both ways of driving one cluster).
	setCPU, setCPUStarted map[int]cpuUse
	// failures are the operations that failed, each with its error.
	failures []string
	// heldLocks are the locks still held once every operation had
	// returned (glusterd-ng).
	heldLocks []string
	// createEach is the mean time of one create of the other volumes made
	// to reach each count (from the count before).
	createEach map[int]time.Duration
	// startedAgain is the set with the fewest started again, once the
	// volumes started beyond them were stopped: the same state as the
	// first started count, measured after the most started, so that the
	// machine's drift between the two shows (setCPUStartedAgain its CPU).
	startedAgain       []time.Duration
	setCPUStartedAgain cpuUse
	// scaleAgain is the set with the fewest other volumes again, at the
	// very end, once the others were stopped and deleted (setCPUAgain its
	// CPU, treeAgain glusterd-ng's tree then).
	scaleAgain  []time.Duration
	setCPUAgain cpuUse
	treeAgain   kvTree
	// tree and treeStarted are glusterd-ng's tree in Consul at each count.
	tree, treeStarted map[int]kvTree
}

func newVolRuns() *volRuns {
	return &volRuns{ops: map[string][]time.Duration{}, scale: map[int][]time.Duration{}, scaleStarted: map[int][]time.Duration{},
		setCPU: map[int]cpuUse{}, setCPUStarted: map[int]cpuUse{}, createEach: map[int]time.Duration{},
		tree: map[int]kvTree{}, treeStarted: map[int]kvTree{}}
}

// setPause comes before each timed set, so that a set does not meet the
// previous one's aftermath (volfiles regenerated, bricks told) on the 2 CPUs.
const setPause = 200 * time.Millisecond

// timeSets runs `sets` rounds of the setters (each round every setter
// once, in turn), each set after setPause with the next value of
// performance.quick-read, so that every set changes it. It returns each
// setter's durations and the CPU time the pids used per set, measured
// until a second after the last set.
func timeSets(sets int, value func() string, procs map[string][]int, dir string, setters ...func(value string) error) ([][]time.Duration, cpuUse, error) {
	out := make([][]time.Duration, len(setters))
	daemons := daemonPIDs(procs, dir)
	cpu0 := cpuUsed(procs)
	daemons0 := cpuTime(daemons)
	for range sets {
		for k, set := range setters {
			time.Sleep(setPause)
			t := time.Now()
			if err := set(value()); err != nil {
				return nil, nil, err
			}
			out[k] = append(out[k], time.Since(t))
		}
	}
	time.Sleep(time.Second)
	use := cpuUsed(procs)
	use[daemonsKey] = cpuTime(daemons)
	cpu0[daemonsKey] = daemons0
	for name := range use {
		use[name] = (use[name] - cpu0[name]) / time.Duration(sets*len(setters))
	}
	return out, use, nil
}

// daemonsKey is the entry of a cpuUse for the GlusterFS processes the
// management runs (bricks, self-heal daemons), which are not management
// CPU: total leaves it out and String names it apart.
const daemonsKey = "glusterfs daemons"

// daemonPIDs are the processes whose command line names dir, except
// those in procs: the bricks and self-heal daemons of a cluster.
func daemonPIDs(procs map[string][]int, dir string) []int {
	all, _ := glusterd.Processes(dir)
	mgmt := map[int]bool{}
	for _, p := range procs {
		for _, pid := range p {
			mgmt[pid] = true
		}
	}
	var out []int
	for _, pid := range all {
		if !mgmt[pid] {
			out = append(out, pid)
		}
	}
	return out
}

// kvTree is the size of glusterd-ng's tree in Consul, and of the volumes'
// directory, which the feed behind every VOLUME watch lists after each
// volume change.
type kvTree struct {
	keys, bytes int
	volBytes    int            // the volumes' directory
	byKind      map[string]int // keys by first path element below the root; deletion records apart
}

func (t kvTree) String() string { return t.short() }

// short is the key count and size with the keys by kind.
func (t kvTree) short() string {
	kinds := make([]string, 0, len(t.byKind))
	for k := range t.byKind {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = fmt.Sprintf("%s %d", k, t.byKind[k])
	}
	return fmt.Sprintf("%d keys, %d KiB (volumes' directory %d KiB): %s", t.keys, (t.bytes+1023)/1024, (t.volBytes+1023)/1024, strings.Join(parts, ", "))
}

// tree reads the size of the store's tree from Consul.
func (c *ngCluster) tree() kvTree {
	t := kvTree{byKind: map[string]int{}}
	pairs, _, err := c.consul.Client.KV().List("glusterd-ng/", nil)
	if err != nil {
		return t
	}
	for _, p := range pairs {
		t.keys++
		t.bytes += len(p.Key) + len(p.Value)
		rel := strings.TrimPrefix(p.Key, "glusterd-ng/v1/")
		kind, rest, _ := strings.Cut(rel, "/")
		if kind == "volumes" {
			t.volBytes += len(p.Key) + len(p.Value)
		}
		switch {
		case strings.HasPrefix(rest, "-deleted/"):
			kind = "tombstones"
		case rest == "-compacted":
			kind = "compacted"
		}
		t.byKind[kind]++
	}
	return t
}

// cpuUse is CPU time by process name.
type cpuUse map[string]time.Duration

func cpuUsed(procs map[string][]int) cpuUse {
	u := cpuUse{}
	for name, pids := range procs {
		u[name] = cpuTime(pids)
	}
	return u
}

// total is the management processes' CPU time (without daemonsKey's).
func (u cpuUse) total() time.Duration {
	var t time.Duration
	for n, d := range u {
		if n != daemonsKey {
			t += d
		}
	}
	return t
}

// String lists the management processes, the busiest first, and then the
// GlusterFS daemons' CPU time apart.
func (u cpuUse) String() string {
	names := make([]string, 0, len(u))
	for n := range u {
		if n != daemonsKey {
			names = append(names, n)
		}
	}
	slices.SortFunc(names, func(a, b string) int { return int(u[b] - u[a]) })
	s := make([]string, len(names))
	for i, n := range names {
		s[i] = fmt.Sprintf("%s %.1f ms", n, float64(u[n].Microseconds())/1000)
	}
	out := strings.Join(s, ", ")
	if d, ok := u[daemonsKey]; ok {
		out += fmt.Sprintf(" (besides: bricks and self-heal daemons %.1f ms)", float64(d.Microseconds())/1000)
	}
	return out
}

// cpuTime is the user and system CPU time the processes have used (Linux
// counts it in ticks of 1/100 s).
func cpuTime(pids []int) time.Duration {
	var ticks int64
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 || i+2 >= len(s) {
			continue
		}
		f := strings.Fields(s[i+2:]) // from field 3, the state
		if len(f) < 13 {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		ticks += u + st
	}
	return time.Duration(ticks) * 10 * time.Millisecond
}

// settle waits, up to 90 s, until the processes in procs and those whose
// command line names dir (bricks, daemons) together have used under 3% of
// a CPU in each of 3 seconds in a row, so that the work of creating or
// starting volumes does not spill into the timed sets. It returns how long
// it waited.
func settle(procs map[string][]int, dir string) time.Duration {
	// 3% of a CPU, for 3 s: after volumes start, the bricks and self-heal
	// daemons go on setting up (connections, first heal crawls) for
	// seconds at a few percent, and glusterd-ng restarts a node's self-heal
	// daemon 2 s after the set of volumes it heals last changed.
	t0 := time.Now()
	quiet := 0
	for quiet < 3 && time.Since(t0) < 90*time.Second {
		pids, _ := glusterd.Processes(dir)
		for _, p := range procs {
			pids = append(pids, p...)
		}
		slices.Sort(pids)
		pids = slices.Compact(pids)
		c0 := cpuTime(pids)
		time.Sleep(time.Second)
		if cpuTime(pids)-c0 < settledCPU {
			quiet++
		} else {
			quiet = 0
		}
	}
	return time.Since(t0)
}

// settledCPU is the CPU time per second under which a cluster counts as
// settled.
const settledCPU = 30 * time.Millisecond

// quickReads returns the values of performance.quick-read to set one after
// the other, starting from its default (on), so that each changes it.
func quickReads() func() string {
	n := 0
	return func() string {
		n++
		return quickRead(n - 1)
	}
}

// volStep is one timed operation of a round.
type volStep struct {
	op  string
	run func() error
}

// maxExtraRounds is how many rounds may fail (and be replaced) before a
// side gives up.
const maxExtraRounds = 3

// runRound runs a round's steps in order and, when all succeeded, adds
// their times to dst. A failed round is described in failures and leaves
// dst as it was; its volume is left behind (the next round uses another
// name), since whatever broke may keep it from being deleted.
func runRound(label string, steps []volStep, dst map[string][]time.Duration, failures *[]string) bool {
	got := map[string][]time.Duration{}
	for _, s := range steps {
		if err := timeOp(got, s.op, s.run); err != nil {
			*failures = append(*failures, fmt.Sprintf("%s: %v", label, err))
			fmt.Fprintf(os.Stderr, "volumes bench: %s failed: %v\n", label, err)
			return false
		}
	}
	for op, d := range got {
		dst[op] = append(dst[op], d...)
	}
	fmt.Fprintf(os.Stderr, "volumes bench: %s: %s\n", label, lastOps(got))
	return true
}

// retried runs op up to three times, a second apart, recording each
// failure; it returns the last error.
func retried(label string, failures *[]string, op func() error) error {
	var err error
	for attempt := range 3 {
		if attempt > 0 {
			time.Sleep(time.Second)
		}
		if err = op(); err == nil {
			return nil
		}
		*failures = append(*failures, fmt.Sprintf("%s: %v", label, err))
		fmt.Fprintf(os.Stderr, "volumes bench: %s failed: %v\n", label, err)
	}
	return err
}

// setTarget is the started volume whose option the scaling sets change. A
// volume that stops taking sets (its lock left held, say) is replaced by a
// fresh one, at most twice, and the replacement is listed with the failures.
type setTarget struct {
	name     string
	value    func() string // the next value of performance.quick-read
	fresh    func(name string) error
	failures *[]string
	switches int
}

func newSetTarget(fresh func(string) error, failures *[]string) (*setTarget, error) {
	t := &setTarget{name: "sv", value: quickReads(), fresh: fresh, failures: failures}
	return t, fresh(t.name)
}

// measure runs timeSets on the target, replacing it when the sets fail.
func (t *setTarget) measure(what string, sets int, procs map[string][]int, dir string, setters ...func(value string) error) ([][]time.Duration, cpuUse, error) {
	for {
		d, cpu, err := timeSets(sets, t.value, procs, dir, setters...)
		if err == nil || t.switches == 2 {
			return d, cpu, err
		}
		t.switches++
		old := t.name
		t.name, t.value = fmt.Sprintf("sv%d", t.switches+1), quickReads()
		*t.failures = append(*t.failures, fmt.Sprintf("sets %s: %s no longer takes sets (%v); measured again on a new started volume %s (one more volume from here on)", what, old, err, t.name))
		fmt.Fprintf(os.Stderr, "volumes bench: sets %s: %s stuck; carrying on with %s\n", what, old, t.name)
		if err := t.fresh(t.name); err != nil {
			return nil, nil, err
		}
	}
}

// timeOp runs op and records its duration under name.
func timeOp(dst map[string][]time.Duration, name string, op func() error) error {
	t := time.Now()
	if err := op(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	dst[name] = append(dst[name], time.Since(t))
	return nil
}

// loadavg is the first three fields of /proc/loadavg.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// quickRead alternates the option's value so that every set changes it.
func quickRead(i int) string { return []string{"off", "on"}[i%2] }

// volumesSection times volume create, start, set, stop and delete of a
// replica-3 volume, and volume set beside more and more other volumes, on
// three stock glusterd and on a three-node glusterd-ng, and formats both.
func volumesSection(ctx context.Context, binDir string, rounds, sets int, levelsFlag, startedFlag string, keepLogs bool) (string, error) {
	levels, err := parseCounts(levelsFlag, 0)
	if err != nil {
		return "", err
	}
	startedLevels, err := parseCounts(startedFlag, 1)
	if err != nil {
		return "", err
	}
	if !slices.IsSorted(levels) || !slices.IsSorted(startedLevels) || len(levels) == 0 {
		return "", fmt.Errorf("other-volume counts %v and started counts %v must be given in increasing order", levels, startedLevels)
	}
	if len(startedLevels) > 0 && startedLevels[len(startedLevels)-1] > levels[len(levels)-1] {
		return "", fmt.Errorf("cannot start %d other volumes of %d", startedLevels[len(startedLevels)-1], levels[len(levels)-1])
	}
	if rounds < 1 || sets < 1 {
		return "", errors.New("rounds and sets must be at least 1")
	}
	if binDir, err = filepath.Abs(binDir); err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "bench-volumes-")
	if err != nil {
		return "", err
	}
	keep := keepLogs
	defer func() {
		if !keep {
			os.RemoveAll(dir)
		} else {
			fmt.Fprintf(os.Stderr, "volumes bench: logs and state kept in %s\n", dir)
		}
	}()

	var b strings.Builder
	version, _ := glusterd.Version()
	source := binSource(binDir)
	stockLoad := [2]string{loadavg()}
	var stock *volRuns
	stockNote := ""
	if err := glusterd.Available(); err != nil {
		stockNote = fmt.Sprintf("Stock glusterd not measured: %v.\n\n", err)
	} else {
		stock, err = stockVolumes(ctx, filepath.Join(dir, "gd"), rounds, sets, levels, startedLevels)
		if err != nil {
			keep = true
			return "", fmt.Errorf("stock glusterd: %w (state in %s)", err, filepath.Join(dir, "gd"))
		}
	}
	stockLoad[1] = loadavg()

	ngLoad := [2]string{loadavg()}
	rest, cli, err := ngVolumes(ctx, binDir, filepath.Join(dir, "ng"), rounds, sets, levels, startedLevels)
	if err != nil {
		keep = true
		return "", fmt.Errorf("glusterd-ng: %w (logs in %s)", err, filepath.Join(dir, "ng", "logs"))
	}
	ngLoad[1] = loadavg()

	fmt.Fprintf(&b, "## Volume operations: create, start, set, stop, delete of a replica-3 volume\n\n%s; %s; %sConsul v1.14.11, one server.\n", machine(), version, source)
	fmt.Fprintf(&b, "Load average (1, 5, 15 min) while stock glusterd ran: %s at its start, %s at its end; while glusterd-ng ran: %s and %s. Other engineers' test runs share the 2 CPUs, so single rounds can be slow; medians are robust to that, p90s less so.\n\n", stockLoad[0], stockLoad[1], ngLoad[0], ngLoad[1])
	fmt.Fprintf(&b, "Three nodes on one machine, each on its own loopback address. The issue asks for 127.1.1.1–3, which the end-to-end tests use (127.1.1.1–30, 127.1.1.2xx) and so would collide with a concurrent `make test`; stock glusterd runs on %s1–3 and glusterd-ng on %s1–3 instead. Each round has a volume of its own (`rv1`, `rv2`, …; `cv1`, … for gdctl) with fresh brick directories under /tmp (one per node), so no brick is reused and a round that failed cannot hold up the next. %d complete rounds; median and p90 (nearest rank) reported; a failed round is listed below and replaced. Target: every operation in at most half glusterd's time.\n\n", stockVolPrefix, ngVolPrefix, rounds)
	fmt.Fprintf(&b, "- Stock glusterd: three `glusterd -N`, each with its own working directory and `management.transport.socket.bind-address`, pooled with `gluster peer probe` from the first. Each round, from the first instance, timed one by one: `gluster --mode=script volume create rvK replica 3 h1:/b1 h2:/b2 h3:/b3 force`, `volume start rvK`, `volume set rvK performance.quick-read off`, `volume stop rvK`, `volume delete rvK`. Every timing includes starting the `gluster` CLI (the CLI floor: `gluster --xml peer status`, which does no volume work).\n")
	fmt.Fprintf(&b, "- glusterd-ng: Consul, `stored`, `peerd`, `orchestratord` and `gatewayd`, and on each node `servicemgrd` (running the bricks and the self-heal daemon) and `portmapd`; nodes added with `POST /v1/peers`. The same operations through the REST API (`POST /v1/volumes` with `force`, `POST /v1/volumes/rvK:start`, `PATCH /v1/volumes/rvK/options`, `POST /v1/volumes/rvK:stop`, `DELETE /v1/volumes/rvK?cleanup_bricks=true`) from a Go HTTP client, and through `gdctl --mode=script volume …` with gluster's syntax (gdctl's delete does not clean the bricks, as gluster's does not). REST and gdctl rounds alternate. The gdctl floor is `gdctl pool list`, the REST floor `GET /v1/peers`. Our start returns once every brick is online (signed in to its node's portmap); our stop once every brick process is gone.\n\n")
	b.WriteString(stockNote)
	if stock != nil {
		fmt.Fprintf(&b, "CLI floors (median): gluster %s, gdctl %s; REST floor %s.\n\n", ms(quantile(stock.floor, .5)), ms(quantile(cli.floor, .5)), ms(quantile(rest.floor, .5)))
	} else {
		fmt.Fprintf(&b, "Floors (median): gdctl %s, REST %s.\n\n", ms(quantile(cli.floor, .5)), ms(quantile(rest.floor, .5)))
	}
	bd, bdErr := breakdown(filepath.Join(dir, "ng", "logs"))
	if bdErr != nil {
		fmt.Fprintf(os.Stderr, "volumes bench: no breakdown from the logs: %v\n", bdErr)
	}
	b.WriteString("| operation | glusterd (gluster CLI) median / p90 | glusterd-ng gdctl median / p90 | glusterd-ng REST median / p90 | of which the transaction (median) | gdctl ÷ gluster | REST ÷ (gluster − CLI floor) | target ≤ 0.5× (gdctl vs gluster) |\n|---|---|---|---|---|---|---|---|\n")
	for _, op := range volOps {
		g := "–"
		ratio, restRatio, met := "–", "–", "–"
		c, r := cli.ops[op], rest.ops[op]
		if stock != nil {
			s := stock.ops[op]
			g = pair(s)
			q := float64(quantile(c, .5)) / float64(quantile(s, .5))
			ratio = fmt.Sprintf("%.2f×", q)
			if srv := quantile(s, .5) - quantile(stock.floor, .5); srv > 0 {
				restRatio = fmt.Sprintf("%.2f×", float64(quantile(r, .5))/float64(srv))
			}
			met = map[bool]string{true: "met", false: "**not met**"}[q <= 0.5]
		}
		name := "`volume " + op + "`"
		if op == "delete" {
			name += " (REST: with cleanup_bricks)"
		}
		txn := "–"
		if d := bd.txn[op]; len(d) > 0 {
			txn = ms(quantile(d, .5))
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", name, g, pair(c), pair(r), txn, ratio, restRatio, met)
	}
	b.WriteString("\nThe transaction column is from the orchestrator's log (REST rounds): from \"transaction begun\" (lock and journal record written) to \"transaction succeeded\" (committed, lock released); create's includes preparing the three bricks one after the other, each step journaled before and after, delete's the three after-commit brick cleanups. What the REST time has beyond it is the request's reads before the transaction and, for start and stop, the wait for the bricks.")
	if len(bd.online) > 0 {
		fmt.Fprintf(&b, " In the starts, the last of the three bricks had signed in to its portmap %s (median) after the start transaction began (the portmaps' log), while the request returned after %s.", ms(quantile(bd.online, .5)), ms(quantile(rest.ops["start"], .5)))
	}
	b.WriteString("\n")

	failed := func(who string, fs []string) {
		if len(fs) == 0 {
			fmt.Fprintf(&b, "- %s: none.\n", who)
			return
		}
		fmt.Fprintf(&b, "- %s: %d:\n", who, len(fs))
		for _, f := range fs {
			fmt.Fprintf(&b, "  - %s\n", strings.ReplaceAll(f, "\n", " "))
		}
	}
	b.WriteString("\nFailed operations (in the rounds and in the sets below; a set that failed was retried, its time includes the retries) and leftovers:\n\n")
	if stock != nil {
		failed("glusterd", stock.failures)
	}
	failed("glusterd-ng REST", rest.failures)
	failed("glusterd-ng gdctl", cli.failures)
	fmt.Fprintf(&b, "- glusterd-ng locks still held after the last operation had returned: %s.\n", listOrNone(rest.heldLocks))
	fmt.Fprintf(&b, "- glusterd-ng transactions its one orchestrator, which never stopped, nevertheless took over as left unfinished (\"recovering a transaction its orchestrator left unfinished\" in its log): %s.\n", listOrNone(bd.recoveries))

	fmt.Fprintf(&b, "\n### `volume set` beside other volumes\n\n")
	fmt.Fprintf(&b, "Operators report glusterd taking 81 s for a `volume set` at 151 volumes. One started replica-3 volume `sv`; beside it %s other replica-3 volumes (one brick on each node) are created one after the other, through the CLI for glusterd and through the REST API for glusterd-ng, and left unstarted. Before the sets at each count the bench waits until the cluster's processes (management, bricks and self-heal daemons) together use under 3%% of a CPU in each of three seconds in a row (waited for at most 90 s), so that the work of making or starting the volumes is over. At each count `volume set sv performance.quick-read off|on` runs %d times (for glusterd-ng %d times through REST and %d through gdctl, alternating), each 200 ms after the previous one returned, alternating the value so that every set changes it; median and p90 reported. Management CPU is the CPU time the management processes (the three glusterd; for glusterd-ng Consul and every service) used per set, measured until 1 s after the last set, so it includes work a set causes after it has returned; bricks and self-heal daemons are not counted in it (their CPU per set over the same time is listed apart, after the management processes). Create is the mean time of one `volume create` (CLI for glusterd, REST for glusterd-ng) of the other volumes made to reach the count. The tree column is what glusterd-ng keeps in Consul before the sets (keys by kind; every operation so far left a journal record in `transactions`; tombstones are deletion records, kept in their kind's directory), and the size of the volumes' directory, which the change feed behind the VOLUME watches of every servicemgr and portmap lists after each volume change. Target: set time independent of the number of volumes (here: the median with the most volumes within 1.25× of the one with the fewest). The machine's speed drifts over the minutes a series takes (other engineers' runs come and go), so the fewest is measured twice: first, and again at the very end, once the other volumes beyond it were stopped and deleted (after the started series below); the ratio divides by the mean of the two medians, which cancels a drift linear in time, and the ratio to the first median alone is given beside it. In glusterd-ng the deleted volumes leave deletion records in the volumes' directory (kept an hour), so its state at the end lists about 60 bytes more per deleted volume than at the start; glusterd's leaves nothing.\n\n", joinInts(levels), sets, sets, sets)
	b.WriteString("| other volumes | glusterd set median / p90 | glusterd-ng gdctl set median / p90 | glusterd-ng REST set median / p90 | gdctl ÷ gluster | management CPU per set: glusterd / glusterd-ng | create, each: glusterd CLI / glusterd-ng REST | glusterd-ng tree in Consul |\n|---|---|---|---|---|---|---|---|\n")
	for _, n := range levels {
		g, ratio, gcpu, gcreate := "–", "–", "–", "–"
		if stock != nil {
			g, gcpu, gcreate = pair(stock.scale[n]), ms(stock.setCPU[n].total()), ms(stock.createEach[n])
			ratio = fmt.Sprintf("%.2f×", float64(quantile(cli.scale[n], .5))/float64(quantile(stock.scale[n], .5)))
		}
		fmt.Fprintf(&b, "| %d | %s | %s | %s | %s | %s / %s | %s / %s | %s |\n", n, g, pair(cli.scale[n]), pair(rest.scale[n]), ratio, gcpu, ms(rest.setCPU[n].total()), gcreate, ms(rest.createEach[n]), rest.tree[n].short())
	}
	met := true
	// trend reports how the set time grew from the fewest to the most
	// volumes. With again (the fewest measured a second time, after the
	// most), the baseline is the mean of the two medians of the fewest,
	// which cancels a drift of the machine that is linear in time.
	trend := func(what string, levels []int, pick func(*volRuns) map[int][]time.Duration, again func(*volRuns) []time.Duration) {
		if len(levels) < 2 {
			return
		}
		lo, hi := levels[0], levels[len(levels)-1]
		base := func(r *volRuns) time.Duration {
			m := quantile(pick(r)[lo], .5)
			if again != nil && len(again(r)) > 0 {
				m = (m + quantile(again(r), .5)) / 2
			}
			return m
		}
		slope := func(r *volRuns) string {
			d := quantile(pick(r)[hi], .5) - base(r)
			return fmt.Sprintf("%+.3f ms", float64(d.Microseconds())/1000/float64(hi-lo))
		}
		growth := func(r *volRuns) float64 { return float64(quantile(pick(r)[hi], .5)) / float64(base(r)) }
		before := func(r *volRuns) float64 {
			return float64(quantile(pick(r)[hi], .5)) / float64(quantile(pick(r)[lo], .5))
		}
		baseline := fmt.Sprintf("median at %d", lo)
		if again != nil {
			baseline = fmt.Sprintf("mean of the medians at %d before and again after", lo)
		}
		fmt.Fprintf(&b, "\nSlope (median at %d %s − %s, per volume): glusterd-ng REST %s, gdctl %s", hi, what, baseline, slope(rest), slope(cli))
		if stock != nil {
			fmt.Fprintf(&b, ", glusterd %s", slope(stock))
		}
		fmt.Fprintf(&b, ". Median at %d ÷ %s: glusterd-ng REST %.2f×, gdctl %.2f×", hi, baseline, growth(rest), growth(cli))
		if stock != nil {
			fmt.Fprintf(&b, ", glusterd %.2f×", growth(stock))
		}
		if again != nil {
			fmt.Fprintf(&b, " (÷ the median at %d before alone: glusterd-ng REST %.2f×, gdctl %.2f×", lo, before(rest), before(cli))
			if stock != nil {
				fmt.Fprintf(&b, ", glusterd %.2f×", before(stock))
			}
			b.WriteString(")")
		}
		b.WriteString(".\n")
		met = met && growth(rest) <= 1.25 && growth(cli) <= 1.25
	}
	var createdAgain func(*volRuns) []time.Duration
	if len(rest.scaleAgain) > 0 {
		createdAgain = func(r *volRuns) []time.Duration { return r.scaleAgain }
		g, ratio, gcpu := againCells(stock, cli.scaleAgain, func(r *volRuns) ([]time.Duration, cpuUse) { return r.scaleAgain, r.setCPUAgain })
		fmt.Fprintf(&b, "| %d again, at the end (the others stopped and deleted) | %s | %s | %s | %s | %s / %s | – | %s |\n", levels[0], g, pair(cli.scaleAgain), pair(rest.scaleAgain), ratio, gcpu, ms(rest.setCPUAgain.total()), rest.treeAgain.short())
	}
	trend("other volumes", levels, func(r *volRuns) map[int][]time.Duration { return r.scale }, createdAgain)
	fmt.Fprintf(&b, "glusterd-ng's management CPU per set by process, at %d and at %d other volumes: %s; %s.\n", levels[0], levels[len(levels)-1], rest.setCPU[levels[0]], rest.setCPU[levels[len(levels)-1]])

	if len(startedLevels) > 0 {
		all := levels[len(levels)-1]
		fmt.Fprintf(&b, "\nThen, with all %d other volumes there, %s of them are started one after the other (through `volume start`), and the sets are timed again as above. Every started volume adds three brick processes; the self-heal daemon of each node serves every started replicated volume. A brick works in the background whichever management runs it: every 10 s (`storage.janitor-sleep-duration`) its posix janitor runs as a synctask whose 2 MiB stack is allocated and zeroed afresh, and when that memory had gone back to the system it is faulted in page by page: about 1 ms of CPU per brick on an idle machine, 4–9 ms in this benchmark (perf: page faults under `__gf_calloc`, `synctask_new1`, the janitor's timer callback in posix.so). With 50 volumes started that is 150 bricks, in waves that follow the order they were started, taking CPU from whatever runs meanwhile in either cluster; the bricks' CPU per set is listed after the management processes'. Last, the volumes started beyond the first count are stopped again (newest first) and the sets are timed once more in what is the first count's state again; the target's ratio for this series divides by the mean of the two medians at the first count, before and after, so that a drift of the machine over the series (other engineers' runs come and go) does not pass for growth, and the ratio to the first median alone is given beside it.\n\n", all, joinInts(startedLevels))
		b.WriteString("| other volumes started | glusterd set median / p90 | glusterd-ng gdctl set median / p90 | glusterd-ng REST set median / p90 | gdctl ÷ gluster | management CPU per set: glusterd / glusterd-ng | glusterd-ng tree in Consul |\n|---|---|---|---|---|---|---|\n")
		for _, n := range startedLevels {
			g, ratio, gcpu := "–", "–", "–"
			if stock != nil {
				g, gcpu = pair(stock.scaleStarted[n]), ms(stock.setCPUStarted[n].total())
				ratio = fmt.Sprintf("%.2f×", float64(quantile(cli.scaleStarted[n], .5))/float64(quantile(stock.scaleStarted[n], .5)))
			}
			fmt.Fprintf(&b, "| %d of %d | %s | %s | %s | %s | %s / %s | %s |\n", n, all, g, pair(cli.scaleStarted[n]), pair(rest.scaleStarted[n]), ratio, gcpu, ms(rest.setCPUStarted[n].total()), rest.treeStarted[n].short())
		}
		var again func(*volRuns) []time.Duration
		if len(rest.startedAgain) > 0 {
			again = func(r *volRuns) []time.Duration { return r.startedAgain }
			g, ratio, gcpu := againCells(stock, cli.startedAgain, func(r *volRuns) ([]time.Duration, cpuUse) { return r.startedAgain, r.setCPUStartedAgain })
			fmt.Fprintf(&b, "| %d of %d again (the others stopped) | %s | %s | %s | %s | %s / %s | |\n", startedLevels[0], all, g, pair(cli.startedAgain), pair(rest.startedAgain), ratio, gcpu, ms(rest.setCPUStartedAgain.total()))
		}
		trend("started", startedLevels, func(r *volRuns) map[int][]time.Duration { return r.scaleStarted }, again)
		fmt.Fprintf(&b, "glusterd-ng's management CPU per set by process, with %d and with %d started: %s; %s.\n", startedLevels[0], startedLevels[len(startedLevels)-1], rest.setCPUStarted[startedLevels[0]], rest.setCPUStarted[startedLevels[len(startedLevels)-1]])
	}
	fmt.Fprintf(&b, "\nTarget (glusterd-ng's set time independent of the number of volumes, created and started): %s.", map[bool]string{true: "met", false: "**not met**"}[met])
	if len(levels) > 1 {
		lo, hi := levels[0], levels[len(levels)-1]
		grow := func(r *volRuns) string {
			a, z := r.setCPU[lo].total(), r.setCPU[hi].total()
			return fmt.Sprintf("%s at %d other volumes to %s at %d (%.1f×)", ms(a), lo, ms(z), hi, float64(z)/float64(max(a, time.Millisecond)))
		}
		fmt.Fprintf(&b, " The work behind a set is not: the management CPU per set went from %s with glusterd-ng", grow(rest))
		if stock != nil {
			fmt.Fprintf(&b, ", and from %s with glusterd", grow(stock))
		}
		b.WriteString(". Set times on a shared machine move with its load (see the load averages above), so one run's verdict on time alone is weak; the CPU per set is the steadier measure.")
	}
	b.WriteString("\n\n")
	return b.String(), nil
}

// againCells are glusterd's columns of a row measured again: its set
// median / p90, gdctl ÷ gluster, and its management CPU per set; "–"
// where glusterd was not measured.
func againCells(stock *volRuns, ours []time.Duration, of func(*volRuns) ([]time.Duration, cpuUse)) (g, ratio, cpu string) {
	if stock == nil {
		return "–", "–", "–"
	}
	d, use := of(stock)
	if len(d) == 0 {
		return "–", "–", "–"
	}
	return pair(d), fmt.Sprintf("%.2f×", float64(quantile(ours, .5))/float64(quantile(d, .5))), ms(use.total())
}

// binSource says which commit the binaries were built from, when binDir
// sits in a git checkout (as bin/ does): its HEAD, and whether tracked
// files differed from it.
func binSource(binDir string) string {
	src := filepath.Dir(binDir)
	rev, err := exec.Command("git", "-C", src, "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return ""
	}
	s := "glusterd-ng built from commit " + strings.TrimSpace(string(rev))
	if dirty, err := exec.Command("git", "-C", src, "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(bytes.TrimSpace(dirty)) > 0 {
		s += " with uncommitted changes"
	}
	return s + "; "
}

// ngBreakdown is where glusterd-ng's REST rounds spent their time, from
// the services' logs.
type ngBreakdown struct {
	// txn is, per operation, from "transaction begun" to "transaction
	// succeeded" in the orchestrator's log: the journaled transaction
	// without the reads before it and, for start and stop, without the
	// wait for the bricks after it.
	txn map[string][]time.Duration
	// online is, per start, from its transaction's begin until the last of
	// the volume's bricks signed in to its node's portmap.
	online []time.Duration
	// recoveries are the transactions the orchestrator "recovered" (as
	// left unfinished by a stopped orchestrator), as "operation on target";
	// with one orchestrator that never stopped, every one is spurious.
	recoveries []string
}

// logLine is the part of a service's JSON log line the breakdown reads.
type logLine struct {
	TS        time.Time `json:"ts"`
	Msg       string    `json:"msg"`
	TxnID     string    `json:"txn_id"`
	Operation string    `json:"operation"`
	Target    string    `json:"target"`
	Brick     string    `json:"brick"`
}

func readLog(path string, each func(logLine)) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		var l logLine
		if json.Unmarshal(line, &l) == nil {
			each(l)
		}
	}
	return nil
}

// breakdown reads the logs under logs for the REST rounds' volumes (rvK).
func breakdown(logs string) (ngBreakdown, error) {
	bd := ngBreakdown{txn: map[string][]time.Duration{}}
	type began struct {
		at      time.Time
		op, vol string
	}
	txns := map[string]began{}
	targets := map[string]string{}    // every transaction's operation and target
	startAt := map[string]time.Time{} // volume → its start transaction's begin
	err := readLog(filepath.Join(logs, "orchestratord.log"), func(l logLine) {
		if l.Msg == "transaction begun" {
			targets[l.TxnID] = l.Operation + " on " + l.Target
		}
		if l.Msg == "recovering a transaction its orchestrator left unfinished" {
			bd.recoveries = append(bd.recoveries, targets[l.TxnID])
		}
		vol, ok := strings.CutPrefix(l.Target, "volume/")
		switch {
		case l.Msg == "transaction begun" && ok && strings.HasPrefix(vol, "rv"):
			op := strings.TrimPrefix(l.Operation, "volume.")
			txns[l.TxnID] = began{l.TS, op, vol}
			if op == "start" {
				startAt[vol] = l.TS
			}
		case l.Msg == "transaction succeeded":
			if t, ok := txns[l.TxnID]; ok {
				bd.txn[t.op] = append(bd.txn[t.op], l.TS.Sub(t.at))
			}
		}
	})
	if err != nil {
		return bd, err
	}
	lastSignIn := map[string]time.Time{}
	for k := 1; k <= volNodes; k++ {
		err := readLog(filepath.Join(logs, fmt.Sprintf("portmapd-node%d.log", k)), func(l logLine) {
			if l.Msg != "brick signed in" {
				return
			}
			// Bricks of round volume rvK live under .../bricks/rest-rvK/.
			for _, part := range strings.Split(l.Brick, "/") {
				if vol, ok := strings.CutPrefix(part, "rest-"); ok && l.TS.After(lastSignIn[vol]) {
					lastSignIn[vol] = l.TS
				}
			}
		})
		if err != nil {
			return bd, err
		}
	}
	for vol, at := range startAt {
		if t, ok := lastSignIn[vol]; ok {
			bd.online = append(bd.online, t.Sub(at))
		}
	}
	return bd, nil
}

// pair formats a sample's median and p90.
func pair(d []time.Duration) string {
	if len(d) == 0 {
		return "–"
	}
	return ms(quantile(d, .5)) + " / " + ms(quantile(d, .9))
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return fmt.Sprintf("%d (%s)", len(s), strings.Join(s, "; "))
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = fmt.Sprint(n)
	}
	switch len(s) {
	case 0:
		return ""
	case 1:
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

// stockVolumes runs the operations on three stock glusterd instances
// under dir.
func stockVolumes(ctx context.Context, dir string, rounds, sets int, levels, startedLevels []int) (_ *volRuns, err error) {
	ins := make([]*glusterd.Instance, volNodes)
	for k := range ins {
		if ins[k], err = glusterd.NewInstanceAt(dir, k+1, fmt.Sprintf("%s%d", stockVolPrefix, k+1)); err != nil {
			return nil, err
		}
	}
	defer func() { err = errors.Join(err, glusterd.StopAll(ins), killUnder(dir)) }()
	for _, in := range ins {
		if err := in.Start(ctx); err != nil {
			return nil, err
		}
	}
	for _, in := range ins[1:] {
		if _, err := glusterd.Probe(ctx, ins[0], in.Addr); err != nil {
			return nil, err
		}
	}
	if _, err := glusterd.WaitConverged(ctx, ins); err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "volumes bench: stock glusterd pool of %d on %s1-%d\n", volNodes, stockVolPrefix, volNodes)
	in := ins[0]
	res := newVolRuns()
	for range 5 {
		t := time.Now()
		if _, err := in.Peers(ctx); err != nil {
			return nil, err
		}
		res.floor = append(res.floor, time.Since(t))
	}
	cli := func(args ...string) func() error {
		return func() error {
			cctx, cancel := context.WithTimeout(ctx, volOpTimeout)
			defer cancel()
			_, err := in.CLI(cctx, args...)
			return err
		}
	}
	// glusterd creates a brick's directory, but not its parents.
	bricks := func(group string) []string {
		_ = os.MkdirAll(filepath.Join(dir, "bricks", group), 0o755)
		out := make([]string, volNodes)
		for k := range out {
			out[k] = ins[k].Addr + ":" + filepath.Join(dir, "bricks", group, fmt.Sprintf("b%d", k+1))
		}
		return out
	}
	create := func(name, group string) func() error {
		return cli(append(append([]string{"volume", "create", name, "replica", fmt.Sprint(volNodes)}, bricks(group)...), "force")...)
	}
	for done, k := 0, 0; done < rounds; k++ {
		if k == rounds+maxExtraRounds {
			return nil, fmt.Errorf("%d of %d rounds failed: %s", k-done, k, strings.Join(res.failures, "; "))
		}
		name, group := fmt.Sprintf("rv%d", k+1), fmt.Sprintf("r%d", k+1)
		steps := []volStep{
			{"create", create(name, group)},
			{"start", func() error {
				if err := cli("volume", "start", name)(); err != nil {
					return err
				}
				// What had signed in to glusterd's portmaps when the CLI returned.
				up, err := stockSignedIn(ins, bricks(group))
				fmt.Fprintf(os.Stderr, "volumes bench: glusterd start returned with %d of %d bricks signed in (%v)\n", up, volNodes, err)
				return nil
			}},
			{"set", cli("volume", "set", name, "performance.quick-read", "off")},
			{"stop", cli("volume", "stop", name)},
			{"delete", cli("volume", "delete", name)},
		}
		if runRound(fmt.Sprintf("glusterd round %d (%s)", k+1, name), steps, res.ops, &res.failures) {
			done++
		}
	}

	target, err := newSetTarget(func(name string) error {
		if err := create(name, name)(); err != nil {
			return err
		}
		return cli("volume", "start", name)()
	}, &res.failures)
	if err != nil {
		return nil, err
	}
	pids := map[string][]int{}
	for _, in := range ins {
		pids["glusterd"] = append(pids["glusterd"], in.PID())
	}
	set := func(v string) error {
		return retried("glusterd set "+target.name, &res.failures, cli("volume", "set", target.name, "performance.quick-read", v))
	}
	others := 0
	for _, n := range levels {
		t, made := time.Now(), 0
		for ; others < n; others++ {
			if err := create(fmt.Sprintf("o%d", others+1), fmt.Sprintf("o%d", others+1))(); err != nil {
				return nil, fmt.Errorf("creating other volume %d: %w", others+1, err)
			}
			made++
		}
		if made > 0 {
			res.createEach[n] = time.Since(t) / time.Duration(made)
		}
		waited := settle(pids, dir)
		d, cpu, err := target.measure(fmt.Sprintf("with %d other volumes", n), sets, pids, dir, set)
		if err != nil {
			return nil, fmt.Errorf("set with %d other volumes: %w", n, err)
		}
		res.scale[n], res.setCPU[n] = d[0], cpu
		fmt.Fprintf(os.Stderr, "volumes bench: glusterd: %d other volumes (%s per create, settled in %s); set: %v, CPU per set %s\n", n, res.createEach[n].Round(time.Millisecond), waited.Round(time.Second), roundAll(d[0]), cpu)
	}
	started, next := 0, 0
	var startedNames []string
	for _, n := range startedLevels {
		for ; started < min(n, others); next++ {
			if next == others {
				return nil, fmt.Errorf("only %d of %d other volumes could be started", started, others)
			}
			name := fmt.Sprintf("o%d", next+1)
			if err := cli("volume", "start", name)(); err != nil {
				res.failures = append(res.failures, fmt.Sprintf("start %s: %v; started the next one instead", name, err))
				continue
			}
			startedNames = append(startedNames, name)
			started++
		}
		waited := settle(pids, dir)
		d, cpu, err := target.measure(fmt.Sprintf("with %d other volumes started", n), sets, pids, dir, set)
		if err != nil {
			return nil, fmt.Errorf("set with %d other volumes started: %w", n, err)
		}
		res.scaleStarted[n], res.setCPUStarted[n] = d[0], cpu
		fmt.Fprintf(os.Stderr, "volumes bench: glusterd: %d of %d other volumes started (settled in %s); set: %v, CPU per set %s\n", started, others, waited.Round(time.Second), roundAll(d[0]), cpu)
	}
	// stopNewestFirst stops the named started volumes, the last started first.
	stopNewestFirst := func(names []string) error {
		for i := len(names) - 1; i >= 0; i-- {
			if err := retried("stop "+names[i], &res.failures, cli("volume", "stop", names[i])); err != nil {
				return err
			}
		}
		return nil
	}
	if len(startedLevels) > 1 {
		first := min(startedLevels[0], len(startedNames))
		if err := stopNewestFirst(startedNames[first:]); err != nil {
			return nil, err
		}
		waited := settle(pids, dir)
		d, cpu, err := target.measure(fmt.Sprintf("with %d other volumes started again", first), sets, pids, dir, set)
		if err != nil {
			return nil, fmt.Errorf("set with %d other volumes started again: %w", first, err)
		}
		res.startedAgain, res.setCPUStartedAgain = d[0], cpu
		fmt.Fprintf(os.Stderr, "volumes bench: glusterd: %d of %d other volumes started again (settled in %s); set: %v, CPU per set %s\n", first, others, waited.Round(time.Second), roundAll(d[0]), cpu)
		startedNames = startedNames[:first]
	}
	if len(levels) > 1 {
		if err := stopNewestFirst(startedNames); err != nil {
			return nil, err
		}
		for k := others; k > levels[0]; k-- {
			name := fmt.Sprintf("o%d", k)
			if err := retried("delete "+name, &res.failures, cli("volume", "delete", name)); err != nil {
				return nil, err
			}
		}
		waited := settle(pids, dir)
		d, cpu, err := target.measure(fmt.Sprintf("with %d other volumes again", levels[0]), sets, pids, dir, set)
		if err != nil {
			return nil, fmt.Errorf("set with %d other volumes again: %w", levels[0], err)
		}
		res.scaleAgain, res.setCPUAgain = d[0], cpu
		fmt.Fprintf(os.Stderr, "volumes bench: glusterd: %d other volumes again (settled in %s); set: %v, CPU per set %s\n", levels[0], waited.Round(time.Second), roundAll(d[0]), cpu)
	}
	return res, nil
}

// stockSignedIn counts the bricks (host:path) signed in to their
// instance's portmap.
func stockSignedIn(ins []*glusterd.Instance, bricks []string) (int, error) {
	up := 0
	for k, b := range bricks {
		_, path, _ := strings.Cut(b, ":")
		c, err := dialRPC(net.JoinHostPort(ins[k].Addr, fmt.Sprint(glusterd.MgmtPort)))
		if err != nil {
			return 0, err
		}
		if portByBrick(path)(c) == nil {
			up++
		}
		c.nc.Close()
	}
	return up, nil
}

func lastOps(ops map[string][]time.Duration) string {
	var s []string
	for _, op := range volOps {
		if d := ops[op]; len(d) > 0 {
			s = append(s, fmt.Sprintf("%s %s", op, d[len(d)-1].Round(time.Millisecond)))
		}
	}
	return strings.Join(s, ", ")
}

func roundAll(ds []time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d.Round(time.Millisecond)
	}
	return out
}

// ngCluster is a three-node glusterd-ng on one machine.
type ngCluster struct {
	dir    string
	bin    string
	consul *testutil.Consul
	procs  []*proc
	rest   string // the gateway's base URL
	http   *http.Client
}

func ngAddr(k int) string { return fmt.Sprintf("%s%d", ngVolPrefix, k) }

// startNGCluster runs Consul, the cluster services on node 1's address and
// servicemgrd and portmapd on each node's, and pools the nodes.
func startNGCluster(ctx context.Context, binDir, dir string) (_ *ngCluster, err error) {
	logs := filepath.Join(dir, "logs")
	if err := os.MkdirAll(logs, 0o755); err != nil {
		return nil, err
	}
	consul, err := testutil.StartConsul(filepath.Join(dir, "consul"))
	if err != nil {
		return nil, err
	}
	c := &ngCluster{dir: dir, bin: binDir, consul: consul, rest: "http://" + ngAddr(1) + ":24008",
		http: &http.Client{Timeout: volOpTimeout}}
	defer func() {
		if err != nil {
			err = errors.Join(err, c.stop())
		}
	}()
	host := ngAddr(1)
	storeAddr := host + ":24011"
	common := []string{"--consul-addr=" + consul.HTTPAddr, "--log-level=info", "--check-interval=2s"}
	type svc struct {
		log, bin string
		args     []string
	}
	svcs := []svc{
		{"stored", "stored", []string{"--listen=" + storeAddr}},
		{"peerd", "peerd", []string{"--listen=" + host + ":24010", "--store-target=" + storeAddr}},
		{"orchestratord", "orchestratord", []string{"--listen=" + host + ":24012", "--store-target=" + storeAddr}},
	}
	for k := 1; k <= volNodes; k++ {
		a, nodeDir := ngAddr(k), filepath.Join(dir, fmt.Sprintf("node%d", k))
		svcs = append(svcs,
			svc{fmt.Sprintf("servicemgrd-node%d", k), "servicemgrd", []string{"--listen=" + a + ":24013", "--store-target=" + storeAddr,
				"--state-dir=" + nodeDir, fmt.Sprintf("--name=bench-vol-node%d", k), "--portmap=" + a + ":24014",
				"--run-dir=" + filepath.Join(nodeDir, "run"), "--log-dir=" + filepath.Join(nodeDir, "log"),
				"--brick-bind-address=" + a, "--stop-daemons-on-exit"}},
			svc{fmt.Sprintf("portmapd-node%d", k), "portmapd", []string{"--listen=" + a + ":24014", "--mgmt-listen=" + a + ":24007",
				"--store-target=" + storeAddr, "--state-dir=" + nodeDir, "--workdir=" + filepath.Join(nodeDir, "workdir")}})
	}
	svcs = append(svcs, svc{"gatewayd", "gatewayd", []string{"--listen=" + host + ":24008", "--store-target=" + storeAddr,
		"--peer-target=" + host + ":24010", "--orchestrator-target=" + host + ":24012"}})
	for _, s := range svcs {
		p, err := startProcAs(binDir, logs, s.log, s.bin, append(slices.Clone(common), s.args...)...)
		if err != nil {
			return nil, err
		}
		c.procs = append(c.procs, p)
	}
	// Pool the nodes once every service answers, and measure nothing before
	// the orchestrator answers too (it may have started before the store).
	deadline := time.Now().Add(time.Minute)
	steps := []func() error{}
	for k := 1; k <= volNodes; k++ {
		steps = append(steps, func() error {
			return c.call(ctx, http.MethodPost, "/v1/peers", map[string]any{"address": ngAddr(k)})
		})
	}
	steps = append(steps, func() error { return c.call(ctx, http.MethodGet, "/v1/transactions", nil) })
	for k, step := range steps {
		for {
			err := step()
			if err == nil {
				break
			}
			for _, p := range c.procs {
				if p.exited() {
					return nil, fmt.Errorf("%s exited during start-up; see %s", p.name, p.log)
				}
			}
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("start-up step %d of %d (pool the nodes, then reach the orchestrator): %w", k+1, len(steps), err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	return c, nil
}

// stop ends the services in reverse order (servicemgrd stops its bricks),
// then Consul, then anything left under the cluster's directory.
func (c *ngCluster) stop() error {
	for i := len(c.procs) - 1; i >= 0; i-- {
		c.procs[i].stop()
	}
	c.consul.Stop()
	return killUnder(c.dir)
}

// call sends a REST request with a JSON body (nil: none) and fails unless
// the answer is 2xx.
func (c *ngCluster) call(ctx context.Context, method, path string, body any) error {
	var rd io.Reader
	if body != nil {
		j, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.rest+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(out))
	}
	return nil
}

// gdctl runs bin/gdctl against the gateway.
func (c *ngCluster) gdctl(ctx context.Context, args ...string) error {
	cctx, cancel := context.WithTimeout(ctx, volOpTimeout)
	defer cancel()
	cmd := exec.CommandContext(cctx, filepath.Join(c.bin, "gdctl"), append([]string{"--endpoint", c.rest, "--mode=script"}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("gdctl %s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// brickSpecs are one brick per node for a volume, in the REST form and in
// gluster's host:path form.
func (c *ngCluster) brickSpecs(group string) ([]map[string]string, []string) {
	var rest []map[string]string
	var cli []string
	_ = os.MkdirAll(filepath.Join(c.dir, "bricks", group), 0o755) // as for glusterd
	for k := 1; k <= volNodes; k++ {
		p := filepath.Join(c.dir, "bricks", group, fmt.Sprintf("b%d", k))
		rest = append(rest, map[string]string{"peer": ngAddr(k), "path": p})
		cli = append(cli, ngAddr(k)+":"+p)
	}
	return rest, cli
}

func (c *ngCluster) restCreate(ctx context.Context, name, group string) error {
	bricks, _ := c.brickSpecs(group)
	return c.call(ctx, http.MethodPost, "/v1/volumes", map[string]any{"name": name, "replica_count": volNodes, "bricks": bricks, "force": true})
}

func (c *ngCluster) restSet(ctx context.Context, name, value string) error {
	return c.call(ctx, http.MethodPatch, "/v1/volumes/"+name+"/options", map[string]any{"options": map[string]string{"performance.quick-read": value}})
}

// ngVolumes runs the operations on a three-node glusterd-ng under dir,
// through the REST API and through gdctl.
func ngVolumes(ctx context.Context, binDir, dir string, rounds, sets int, levels, startedLevels []int) (rest, cli *volRuns, err error) {
	c, err := startNGCluster(ctx, binDir, dir)
	if err != nil {
		return nil, nil, err
	}
	defer func() { err = errors.Join(err, c.stop()) }()
	fmt.Fprintf(os.Stderr, "volumes bench: glusterd-ng pool of %d on %s1-%d\n", volNodes, ngVolPrefix, volNodes)
	rest, cli = newVolRuns(), newVolRuns()
	for range 5 {
		if err := timeOp(rest.ops, "floor", func() error { return c.call(ctx, http.MethodGet, "/v1/peers", nil) }); err != nil {
			return nil, nil, err
		}
		if err := timeOp(cli.ops, "floor", func() error { return c.gdctl(ctx, "pool", "list") }); err != nil {
			return nil, nil, err
		}
	}
	rest.floor, cli.floor = rest.ops["floor"], cli.ops["floor"]
	delete(rest.ops, "floor")
	delete(cli.ops, "floor")

	// REST and gdctl rounds alternate; each round has a volume of its own.
	for restDone, cliDone, k := 0, 0, 0; restDone < rounds || cliDone < rounds; k++ {
		if k == rounds+maxExtraRounds {
			return nil, nil, fmt.Errorf("rounds failed: %s", strings.Join(append(rest.failures, cli.failures...), "; "))
		}
		if restDone < rounds {
			name := fmt.Sprintf("rv%d", k+1)
			steps := []volStep{
				{"create", func() error { return c.restCreate(ctx, name, "rest-"+name) }},
				{"start", func() error { return c.call(ctx, http.MethodPost, "/v1/volumes/"+name+":start", map[string]any{}) }},
				{"set", func() error { return c.restSet(ctx, name, "off") }},
				{"stop", func() error { return c.call(ctx, http.MethodPost, "/v1/volumes/"+name+":stop", map[string]any{}) }},
				{"delete", func() error { return c.call(ctx, http.MethodDelete, "/v1/volumes/"+name+"?cleanup_bricks=true", nil) }},
			}
			if runRound(fmt.Sprintf("glusterd-ng REST round %d (%s)", k+1, name), steps, rest.ops, &rest.failures) {
				restDone++
			}
		}
		if cliDone < rounds {
			name := fmt.Sprintf("cv%d", k+1)
			_, bricks := c.brickSpecs("cli-" + name)
			steps := []volStep{
				{"create", func() error {
					return c.gdctl(ctx, append(append([]string{"volume", "create", name, "replica", fmt.Sprint(volNodes)}, bricks...), "force")...)
				}},
				{"start", func() error { return c.gdctl(ctx, "volume", "start", name) }},
				{"set", func() error { return c.gdctl(ctx, "volume", "set", name, "performance.quick-read", "off") }},
				{"stop", func() error { return c.gdctl(ctx, "volume", "stop", name) }},
				{"delete", func() error { return c.gdctl(ctx, "volume", "delete", name) }},
			}
			if runRound(fmt.Sprintf("glusterd-ng gdctl round %d (%s)", k+1, name), steps, cli.ops, &cli.failures) {
				cliDone++
			}
		}
	}

	target, err := newSetTarget(func(name string) error {
		if err := c.restCreate(ctx, name, name); err != nil {
			return err
		}
		return c.call(ctx, http.MethodPost, "/v1/volumes/"+name+":start", map[string]any{})
	}, &rest.failures)
	if err != nil {
		return nil, nil, err
	}
	pids, err := c.pids()
	if err != nil {
		return nil, nil, err
	}
	setters := []func(string) error{
		func(v string) error {
			return retried("glusterd-ng REST set "+target.name, &rest.failures, func() error { return c.restSet(ctx, target.name, v) })
		},
		func(v string) error {
			return retried("glusterd-ng gdctl set "+target.name, &cli.failures, func() error {
				return c.gdctl(ctx, "volume", "set", target.name, "performance.quick-read", v)
			})
		},
	}
	others := 0
	for _, n := range levels {
		t, made := time.Now(), 0
		for ; others < n; others++ {
			name := fmt.Sprintf("o%d", others+1)
			if err := c.restCreate(ctx, name, name); err != nil {
				return nil, nil, fmt.Errorf("creating other volume %d: %w", others+1, err)
			}
			made++
		}
		if made > 0 {
			rest.createEach[n] = time.Since(t) / time.Duration(made)
		}
		waited := settle(pids, dir)
		rest.tree[n] = c.tree()
		fmt.Fprintf(os.Stderr, "volumes bench: glusterd-ng: timing sets beside %d other volumes\n", n)
		d, cpu, err := target.measure(fmt.Sprintf("with %d other volumes", n), sets, pids, dir, setters...)
		if err != nil {
			return nil, nil, fmt.Errorf("set with %d other volumes: %w", n, err)
		}
		rest.scale[n], cli.scale[n], rest.setCPU[n] = d[0], d[1], cpu
		fmt.Fprintf(os.Stderr, "volumes bench: glusterd-ng: %d other volumes (%s per create, settled in %s, Consul tree %s); set: REST %v, gdctl %v, CPU per set %s\n", n, rest.createEach[n].Round(time.Millisecond), waited.Round(time.Second), rest.tree[n], roundAll(d[0]), roundAll(d[1]), cpu)
	}
	started, next := 0, 0
	var startedNames []string
	for _, n := range startedLevels {
		for ; started < min(n, others); next++ {
			if next == others {
				return nil, nil, fmt.Errorf("only %d of %d other volumes could be started", started, others)
			}
			name := fmt.Sprintf("o%d", next+1)
			if err := c.call(ctx, http.MethodPost, "/v1/volumes/"+name+":start", map[string]any{}); err != nil {
				rest.failures = append(rest.failures, fmt.Sprintf("start %s: %v; started the next one instead", name, err))
				continue
			}
			startedNames = append(startedNames, name)
			started++
		}
		waited := settle(pids, dir)
		rest.treeStarted[n] = c.tree()
		fmt.Fprintf(os.Stderr, "volumes bench: glusterd-ng: timing sets with %d other volumes started\n", started)
		d, cpu, err := target.measure(fmt.Sprintf("with %d other volumes started", n), sets, pids, dir, setters...)
		if err != nil {
			return nil, nil, fmt.Errorf("set with %d other volumes started: %w", n, err)
		}
		rest.scaleStarted[n], cli.scaleStarted[n], rest.setCPUStarted[n] = d[0], d[1], cpu
		fmt.Fprintf(os.Stderr, "volumes bench: glusterd-ng: %d of %d other volumes started (settled in %s, Consul tree %s); set: REST %v, gdctl %v, CPU per set %s\n", started, others, waited.Round(time.Second), rest.treeStarted[n], roundAll(d[0]), roundAll(d[1]), cpu)
	}
	// stopNewestFirst stops the named started volumes, the last started first.
	stopNewestFirst := func(names []string) error {
		for i := len(names) - 1; i >= 0; i-- {
			name := names[i]
			if err := retried("stop "+name, &rest.failures, func() error {
				return c.call(ctx, http.MethodPost, "/v1/volumes/"+name+":stop", map[string]any{})
			}); err != nil {
				return err
			}
		}
		return nil
	}
	if len(startedLevels) > 1 {
		first := min(startedLevels[0], len(startedNames))
		if err := stopNewestFirst(startedNames[first:]); err != nil {
			return nil, nil, err
		}
		waited := settle(pids, dir)
		fmt.Fprintf(os.Stderr, "volumes bench: glusterd-ng: timing sets with %d other volumes started again\n", first)
		d, cpu, err := target.measure(fmt.Sprintf("with %d other volumes started again", first), sets, pids, dir, setters...)
		if err != nil {
			return nil, nil, fmt.Errorf("set with %d other volumes started again: %w", first, err)
		}
		rest.startedAgain, cli.startedAgain, rest.setCPUStartedAgain = d[0], d[1], cpu
		fmt.Fprintf(os.Stderr, "volumes bench: glusterd-ng: %d of %d other volumes started again (settled in %s); set: REST %v, gdctl %v, CPU per set %s\n", first, others, waited.Round(time.Second), roundAll(d[0]), roundAll(d[1]), cpu)
		startedNames = startedNames[:first]
	}
	if len(levels) > 1 {
		if err := stopNewestFirst(startedNames); err != nil {
			return nil, nil, err
		}
		for k := others; k > levels[0]; k-- {
			name := fmt.Sprintf("o%d", k)
			if err := retried("delete "+name, &rest.failures, func() error {
				return c.call(ctx, http.MethodDelete, "/v1/volumes/"+name, nil)
			}); err != nil {
				return nil, nil, err
			}
		}
		waited := settle(pids, dir)
		rest.treeAgain = c.tree()
		fmt.Fprintf(os.Stderr, "volumes bench: glusterd-ng: timing sets beside %d other volumes again\n", levels[0])
		d, cpu, err := target.measure(fmt.Sprintf("with %d other volumes again", levels[0]), sets, pids, dir, setters...)
		if err != nil {
			return nil, nil, fmt.Errorf("set with %d other volumes again: %w", levels[0], err)
		}
		rest.scaleAgain, cli.scaleAgain, rest.setCPUAgain = d[0], d[1], cpu
		fmt.Fprintf(os.Stderr, "volumes bench: glusterd-ng: %d other volumes again (settled in %s, Consul tree %s); set: REST %v, gdctl %v, CPU per set %s\n", levels[0], waited.Round(time.Second), rest.treeAgain, roundAll(d[0]), roundAll(d[1]), cpu)
	}
	// No operation runs now: a lock still held was leaked.
	rest.heldLocks = c.heldLocks()
	return rest, cli, nil
}

// heldLocks lists the locks held in Consul (by a session).
func (c *ngCluster) heldLocks() []string {
	pairs, _, err := c.consul.Client.KV().List("glusterd-ng/v1/locks/", nil)
	if err != nil {
		return []string{"cannot list: " + err.Error()}
	}
	var out []string
	for _, p := range pairs {
		if p.Session != "" {
			out = append(out, strings.TrimPrefix(p.Key, "glusterd-ng/v1/locks/"))
		}
	}
	return out
}

// pids are the cluster's management processes: the services and Consul
// (not the bricks or self-heal daemons they run).
func (c *ngCluster) pids() (map[string][]int, error) {
	consul, err := glusterd.Processes(filepath.Join(c.dir, "consul"))
	if err != nil {
		return nil, err
	}
	pids := map[string][]int{"consul": consul}
	for _, p := range c.procs {
		bin := filepath.Base(p.cmd.Path)
		pids[bin] = append(pids[bin], p.cmd.Process.Pid)
	}
	return pids, nil
}
