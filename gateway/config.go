package gateway

import (
	"flag"
	"fmt"
	"time"

	"github.com/glusterd-ng/glusterd-ng/libs/config"
)

// Config is the gateway's configuration.
type Config struct {
	config.Common
	// Listen is the REST listen address.
	Listen string
	// StoreTarget is the gRPC target of the store ("consul:///store" or "host:port").
	StoreTarget string
	// PeerTarget is the gRPC target of the peer service.
	PeerTarget string
	// OrchestratorTarget is the gRPC target of the orchestrator.
	OrchestratorTarget string
	// RequestTimeout bounds each proxied call that has no deadline of its own.
	RequestTimeout time.Duration
}

// RegisterFlags registers every setting on fs (each also read from GDNG_<NAME>).
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	c.RegisterCommon(fs)
	config.String(fs, &c.Listen, "listen", "127.0.0.1:24008", "REST listen address")
	config.String(fs, &c.StoreTarget, "store-target", "consul:///store", "gRPC target of the store service")
	config.String(fs, &c.PeerTarget, "peer-target", "consul:///peer", "gRPC target of the peer service")
	config.String(fs, &c.OrchestratorTarget, "orchestrator-target", "consul:///orchestrator", "gRPC target of the orchestrator")
	config.Duration(fs, &c.RequestTimeout, "request-timeout", 60*time.Second, "deadline of proxied calls")
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	if err := c.Common.Validate(); err != nil {
		return err
	}
	if c.Listen == "" || c.StoreTarget == "" || c.PeerTarget == "" || c.OrchestratorTarget == "" {
		return fmt.Errorf("listen, store-target and peer-target must be set")
	}
	return nil
}

// DefaultConfig returns the configuration with every default applied.
func DefaultConfig() Config {
	var c Config
	c.RegisterFlags(flag.NewFlagSet("gateway", flag.ContinueOnError))
	return c
}
