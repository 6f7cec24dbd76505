package service

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"go.uber.org/zap"

	"github.com/glusterd-ng/glusterd-ng/libs/log"
)

// Config is a service's configuration: it registers its flags and says how to log.
type Config interface {
	RegisterFlags(fs *flag.FlagSet)
	LogConfig() log.Config
}

// Runner is a built service, ready to run until its context ends.
type Runner interface {
	Run(ctx context.Context) error
}

// Main is a command's whole main: parse flags (and GDNG_* environment) into
// cfg, build the logger named name, build the service, run it until SIGINT
// or SIGTERM, and exit non-zero on any error.
func Main(name string, cfg Config, build func(*zap.Logger) (Runner, error)) {
	cfg.RegisterFlags(flag.CommandLine)
	flag.Parse()
	logger, err := log.New(cfg.LogConfig())
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(2)
	}
	logger = logger.Named(name)
	r, err := build(logger)
	if err != nil {
		logger.Error("cannot start", log.Err(err))
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := r.Run(ctx); err != nil && ctx.Err() == nil {
		logger.Error("stopped with error", log.Err(err))
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		stop()
		os.Exit(1)
	}
}
