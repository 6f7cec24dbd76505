// Command stored runs the store service.
package main

import (
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/glusterd-ng/glusterd-ng/libs/service"
	"github.com/glusterd-ng/glusterd-ng/services/store"
)

func main() {
	var cfg store.Config
	service.Main("store", &cfg, func(logger *zap.Logger) (service.Runner, error) {
		return store.New(cfg, logger, prometheus.DefaultRegisterer)
	})
}
