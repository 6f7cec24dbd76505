// Command stored runs the store service.
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
	"github.com/glusterd-ng/glusterd-ng/services/store"
)

func main() {
	var cfg store.Config
	cfg.RegisterFlags(flag.CommandLine)
	flag.Parse()
	logger, err := log.New(log.Config{Level: cfg.LogLevel, Format: cfg.LogFormat})
	if err != nil {
		fmt.Fprintln(os.Stderr, "stored:", err)
		os.Exit(2)
	}
	logger = logger.Named("store")
	s, err := store.New(cfg, logger, prometheus.DefaultRegisterer)
	if err != nil {
		logger.Error("cannot start", log.Err(err))
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := s.Run(ctx); err != nil {
		logger.Error("stopped with error", log.Err(err))
		os.Exit(1)
	}
}
