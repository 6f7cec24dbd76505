// Command portmapd runs a storage node's portmap: GlusterFS's management RPC on 24007.
package main

import (
	"runtime"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/glusterd-ng/glusterd-ng/libs/service"
	"github.com/glusterd-ng/glusterd-ng/services/portmap"
)

func main() {
	var cfg portmap.Config
	service.Main("portmap", &cfg, func(logger *zap.Logger) (service.Runner, error) {
		s, err := portmap.New(cfg, logger, prometheus.DefaultRegisterer)
		if err != nil {
			return nil, err
		}
		// Each management connection on a dedicated thread keeps a
		// runtime processor while it waits in read(2) (sunrpc.Threads):
		// one more processor per such thread than the CPUs (or the
		// GOMAXPROCS set in the environment), so a thread that wakes with
		// a call finds one free. The serving path does not allocate, so
		// the garbage collector, which scales its workers with
		// GOMAXPROCS, rarely runs.
		runtime.GOMAXPROCS(runtime.GOMAXPROCS(0) + cfg.RPCThreads)
		return s, nil
	})
}
