// Command gdctl is the operator's command line for glusterd-ng: gluster's
// peer, pool and volume commands over the REST API.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/glusterd-ng/glusterd-ng/cli/gdctl/internal/command"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := command.Run(ctx, os.Args[1:], command.Env{
		Stdin:           os.Stdin,
		Stdout:          os.Stdout,
		Stderr:          os.Stderr,
		StdinIsTerminal: isTerminal(os.Stdin),
		Getenv:          os.Getenv,
	})
	stop()
	os.Exit(code)
}
