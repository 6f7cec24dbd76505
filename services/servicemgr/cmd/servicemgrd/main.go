// Command servicemgrd runs a storage node's service manager.
package main

import (
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/glusterd-ng/glusterd-ng/libs/service"
	"github.com/glusterd-ng/glusterd-ng/services/servicemgr"
)

func main() {
	var cfg servicemgr.Config
	service.Main("servicemgr", &cfg, func(logger *zap.Logger) (service.Runner, error) {
		return servicemgr.New(cfg, logger, prometheus.DefaultRegisterer)
	})
}
