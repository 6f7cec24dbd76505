// Command orchestratord runs the orchestrator: every volume operation, as a
// journaled transaction across the nodes.
package main

import (
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/glusterd-ng/glusterd-ng/libs/service"
	"github.com/glusterd-ng/glusterd-ng/services/orchestrator"
)

func main() {
	var cfg orchestrator.Config
	service.Main("orchestrator", &cfg, func(logger *zap.Logger) (service.Runner, error) {
		return orchestrator.New(cfg, logger, prometheus.DefaultRegisterer)
	})
}
