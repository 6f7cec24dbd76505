// Command gatewayd runs the REST gateway.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/glusterd-ng/glusterd-ng/gateway"
	"github.com/glusterd-ng/glusterd-ng/libs/log"
)

func main() {
	var cfg gateway.Config
	cfg.RegisterFlags(flag.CommandLine)
	flag.Parse()
	logger, err := log.New(log.Config{Level: cfg.LogLevel, Format: cfg.LogFormat})
	if err != nil {
		fmt.Fprintln(os.Stderr, "gatewayd:", err)
		os.Exit(2)
	}
	logger = logger.Named("gateway")
	g, err := gateway.New(cfg, logger)
	if err != nil {
		logger.Error("cannot start", log.Err(err))
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := g.Run(ctx); err != nil {
		logger.Error("stopped with error", log.Err(err))
		os.Exit(1)
	}
}
