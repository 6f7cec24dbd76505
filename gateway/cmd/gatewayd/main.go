// Command gatewayd runs the REST gateway.
package main

import (
	"go.uber.org/zap"

	"github.com/glusterd-ng/glusterd-ng/gateway"
	"github.com/glusterd-ng/glusterd-ng/libs/service"
)

func main() {
	var cfg gateway.Config
	service.Main("gateway", &cfg, func(logger *zap.Logger) (service.Runner, error) {
		return gateway.New(cfg, logger)
	})
}
