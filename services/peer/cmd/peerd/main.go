// Command peerd runs the peer service.
package main

import (
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/glusterd-ng/glusterd-ng/libs/service"
	"github.com/glusterd-ng/glusterd-ng/services/peer"
)

func main() {
	var cfg peer.Config
	service.Main("peer", &cfg, func(logger *zap.Logger) (service.Runner, error) {
		return peer.New(cfg, logger, prometheus.DefaultRegisterer)
	})
}
