// Command bench measures glusterd-ng against baselines in the same run and
// writes the results into docs/benchmarks.md (`make bench`).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"
)

func main() {
	out := flag.String("out", "docs/benchmarks.md", "markdown file to write the results into")
	n := flag.Int("n", 2000, "operations per measurement")
	writes := flag.Int("watch-writes", 200, "writes per watch fan-out measurement")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the bench process (client and store) here")
	only := flag.String("only", "store,peer,rpc,daemons,volumes", "comma-separated sections to run: store, peer, rpc, daemons, volumes")
	rpcWorkers := flag.Int("rpc-workers", 8, "connections for the management RPC benchmark")
	rpcDur := flag.Duration("rpc-duration", 5*time.Second, "duration of each management RPC measurement")
	binDir := flag.String("bin", "bin", "directory with the built service binaries")
	peerNs := flag.String("peer-n", "3,10,30,100", "pool sizes for the peer benchmark")
	glusterdNs := flag.String("glusterd-n", "3,10,30,100", "pool sizes for stock glusterd's peer probe (empty: skip)")
	daemonsNs := flag.String("daemons-n", "1,10,100", "volume counts for the daemons benchmark (volumes started on one node)")
	daemonsAllowance := flag.Duration("daemons-timeout", 3*time.Second, "daemons benchmark: time allowed per volume (plus 30s) for every brick to come online")
	volRounds := flag.Int("volumes-rounds", 7, "volumes benchmark: rounds of create, start, set, stop, delete")
	volSets := flag.Int("volumes-sets", 31, "volumes benchmark: volume sets timed at each count of other volumes")
	volOthers := flag.String("volumes-others", "1,50,150", "volumes benchmark: counts of other volumes beside the one set")
	volStarted := flag.String("volumes-started", "1,50", "volumes benchmark: counts of the other volumes to start, one after the other, for a second series of sets (empty: skip)")
	volKeep := flag.Bool("volumes-keep", false, "volumes benchmark: keep the clusters' logs and state (their directory is printed)")
	relay := flag.String(relayFlag, "", "internal: run as the store bench's relay process (listen,target) instead")
	flag.Parse()
	if *relay != "" {
		fail(serveRelay(*relay))
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil && pprof.StartCPUProfile(f) == nil {
			defer pprof.StopCPUProfile()
		}
	}
	// Ctrl-C ends the running section through its context, so that it
	// stops what it started (stock glusterd's bricks outlive glusterd).
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	sections := map[string]func() (string, error){
		"store":   func() (string, error) { return storeBench(ctx, *binDir, *n, *writes) },
		"peer":    func() (string, error) { return peerSection(ctx, *binDir, *peerNs, *glusterdNs) },
		"rpc":     func() (string, error) { return rpcSection(ctx, *binDir, *rpcWorkers, *rpcDur) },
		"daemons": func() (string, error) { return daemonsSection(ctx, *binDir, *daemonsNs, *daemonsAllowance) },
		"volumes": func() (string, error) {
			return volumesSection(ctx, *binDir, *volRounds, *volSets, *volOthers, *volStarted, *volKeep)
		},
	}
	for _, name := range strings.Split(*only, ",") {
		run, ok := sections[strings.TrimSpace(name)]
		if !ok {
			fail(fmt.Errorf("unknown section %q", name))
		}
		section, err := run()
		if err != nil {
			fail(fmt.Errorf("%s: %w", name, err))
		}
		fmt.Print(section)
		if err := writeSection(*out, strings.TrimSpace(name), section); err != nil {
			fail(err)
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	pprof.StopCPUProfile()
	os.Exit(1)
}

// machine describes where the numbers come from.
func machine() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s, %s, %d CPUs, %s/%s, host %s", time.Now().UTC().Format("2006-01-02"), runtime.Version(), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, host)
}

// writeSection replaces (or appends) the named section of the results file,
// delimited by marker comments, leaving the other sections as they are.
func writeSection(path, name, body string) error {
	begin, end := "<!-- bench:"+name+":begin -->", "<!-- bench:"+name+":end -->"
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	doc := string(old)
	if doc == "" {
		doc = "# Benchmarks\n\nWritten by `make bench`; each section is replaced when its benchmark runs again.\n"
	}
	block := begin + "\n" + body + end
	if i, j := strings.Index(doc, begin), strings.Index(doc, end); i >= 0 && j > i {
		doc = doc[:i] + block + doc[j+len(end):]
	} else {
		doc = strings.TrimRight(doc, "\n") + "\n\n" + block + "\n"
	}
	return os.WriteFile(path, []byte(doc), 0o644)
}
