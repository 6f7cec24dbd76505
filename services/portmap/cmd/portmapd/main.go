// Command portmapd runs a storage node's portmap: GlusterFS's management RPC on 24007.
package main

import (
	"os"
	"runtime"
	"runtime/debug"

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
		// a call finds one free.
		runtime.GOMAXPROCS(runtime.GOMAXPROCS(0) + cfg.RPCThreads)
		// The collector scales its workers with GOMAXPROCS, so a cycle
		// now runs more of them than there are CPUs, beside the
		// connections' threads; with about 1 MB live, portmapd collected
		// every 6-9 s in the rpc benchmark at the default GOGC=100 (a
		// 4 MB goal). GOGC=400 (a 16 MB goal) left it none there, for a
		// few MB more. GOGC in the environment still decides.
		if os.Getenv("GOGC") == "" {
			debug.SetGCPercent(400)
		}
		return s, nil
	})
}
