// Command stored runs the store service.
package main

import (
	"runtime"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/glusterd-ng/glusterd-ng/libs/service"
	"github.com/glusterd-ng/glusterd-ng/services/store"
)

func main() {
	var cfg store.Config
	service.Main("store", &cfg, func(logger *zap.Logger) (service.Runner, error) {
		// The store's calls are short and mostly wait on Consul: on one
		// processor a call's hand-offs (gRPC's reader, handler and writer
		// goroutines) run in turn on one thread, where with more the
		// runtime wakes an idle CPU for each and puts it back to sleep,
		// which on the 2-CPU machines of docs/benchmarks.md cost more
		// than the calls' own work (store bench: write overhead against
		// raw Consul 1.35× instead of 1.38-1.52× at 1 client, 1.05-1.15×
		// instead of 1.20-1.27× at 8).
		if cfg.Procs > 0 {
			runtime.GOMAXPROCS(cfg.Procs)
		}
		return store.New(cfg, logger, prometheus.DefaultRegisterer)
	})
}
