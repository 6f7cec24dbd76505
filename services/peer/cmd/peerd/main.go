// Command peerd runs the peer service.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/glusterd-ng/glusterd-ng/libs/log"
	"github.com/glusterd-ng/glusterd-ng/services/peer"
)

func main() {
	var cfg peer.Config
	cfg.RegisterFlags(flag.CommandLine)
	flag.Parse()
	logger, err := log.New(log.Config{Level: cfg.LogLevel, Format: cfg.LogFormat})
	if err != nil {
		fmt.Fprintln(os.Stderr, "peerd:", err)
		os.Exit(2)
	}
	logger = logger.Named("peer")
	s, err := peer.New(cfg, logger, prometheus.DefaultRegisterer)
	if err != nil {
		logger.Error("cannot start", log.Err(err))
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := s.Run(ctx); err != nil && ctx.Err() == nil {
		logger.Error("stopped with error", log.Err(err))
		fmt.Fprintln(os.Stderr, "peerd:", err)
		os.Exit(1)
	}
}
