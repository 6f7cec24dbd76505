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
	config.Server
	config.StoreClient
	// NodePort is the servicemgr port used when an added address has none.
	NodePort int
	// DialTimeout bounds talking to a node being added or removed.
	DialTimeout time.Duration
}

// RegisterFlags registers every setting on fs (each also read from GDNG_<NAME>).
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	c.RegisterCommon(fs)
	c.RegisterServer(fs, "127.0.0.1:24010")
	c.RegisterStoreClient(fs)
	fs.IntVar(&c.NodePort, "node-port", 24013, "servicemgr port used when an added address has none (env "+config.EnvName("node-port")+")")
	config.Duration(fs, &c.DialTimeout, "dial-timeout", 5*time.Second, "bound on talking to a node being added or removed")
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	if err := c.Common.Validate(); err != nil {
		return err
	}
	if err := c.ValidateServer(); err != nil {
		return err
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
