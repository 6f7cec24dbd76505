// Command portmapd runs a storage node's portmap: GlusterFS's management RPC on 24007.
package main

import (
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/glusterd-ng/glusterd-ng/libs/service"
	"github.com/glusterd-ng/glusterd-ng/services/portmap"
)

func main() {
	var cfg portmap.Config
	service.Main("portmap", &cfg, func(logger *zap.Logger) (service.Runner, error) {
		return portmap.New(cfg, logger, prometheus.DefaultRegisterer)
	})
}
