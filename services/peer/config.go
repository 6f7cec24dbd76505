package peer

import (
	"flag"
	"fmt"
	"time"

	"github.com/glusterd-ng/glusterd-ng/libs/config"
)

// Config is the peer service's configuration.
type Config struct {
	config.Common
	// Listen is the gRPC listen address.
	Listen string
	// Advertise is the host registered in Consul; empty uses the listen host.
	Advertise string
	// StoreTarget is the gRPC target of the store ("consul:///store" or "host:port").
	StoreTarget string
	// NodePort is the servicemgr port used when an added address has none.
	NodePort int
	// DialTimeout bounds talking to a node being added or removed.
	DialTimeout time.Duration
}

// RegisterFlags registers every setting on fs (each also read from GDNG_<NAME>).
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	c.RegisterCommon(fs)
	config.String(fs, &c.Listen, "listen", "127.0.0.1:24010", "gRPC listen address")
	config.String(fs, &c.Advertise, "advertise", "", "host registered in Consul (default: the listen host)")
	config.String(fs, &c.StoreTarget, "store-target", "consul:///store", "gRPC target of the store service")
	fs.IntVar(&c.NodePort, "node-port", 24013, "servicemgr port used when an added address has none (env "+config.EnvName("node-port")+")")
	config.Duration(fs, &c.DialTimeout, "dial-timeout", 5*time.Second, "bound on talking to a node being added or removed")
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	if err := c.Common.Validate(); err != nil {
		return err
	}
	if c.Listen == "" || c.StoreTarget == "" {
		return fmt.Errorf("listen and store-target must be set")
	}
	if c.NodePort < 1 || c.NodePort > 65535 {
		return fmt.Errorf("node-port %d is not a port", c.NodePort)
	}
	return nil
}

// DefaultConfig returns the configuration with every default applied.
func DefaultConfig() Config {
	var c Config
	c.RegisterFlags(flag.NewFlagSet("peer", flag.ContinueOnError))
	return c
}
