package portmap

import (
	"flag"
	"fmt"
	"net"
	"time"

	"github.com/glusterd-ng/glusterd-ng/libs/config"
)

// Config is the portmap service's configuration.
type Config struct {
	config.Common
	config.Server
	config.StoreClient
	// MgmtListen is where GlusterFS processes reach the management RPC (glusterd's 24007).
	MgmtListen string
	// StateDir is the node's state directory (its identity).
	StateDir string
	// NodeID sets the node's UUID the first time (for containers).
	NodeID string
	// BasePort and MaxPort bound the brick ports handed out.
	BasePort, MaxPort int
	// WorkDir is the glusterd-style working directory named inside volfiles.
	WorkDir string
	// SessionTTL is the TTL of the session the port map is kept under in the store.
	SessionTTL time.Duration
	// RPCThreads is how many management connections are each served on a
	// dedicated OS thread (sunrpc.Threads); further ones go through the
	// runtime's network poller. 0 serves every one through the poller.
	RPCThreads int
}

// RegisterFlags registers every setting on fs (each also read from GDNG_<NAME>).
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	c.RegisterCommon(fs)
	c.RegisterServer(fs, "127.0.0.1:24014")
	c.RegisterStoreClient(fs)
	config.String(fs, &c.MgmtListen, "mgmt-listen", "127.0.0.1:24007", "GlusterFS management RPC listen address")
	config.String(fs, &c.StateDir, "state-dir", "/var/lib/glusterd-ng", "the node's state directory")
	config.String(fs, &c.NodeID, "node-id", "", "the node's UUID, set once (default: the one in the state directory)")
	fs.IntVar(&c.BasePort, "base-port", 49152, "lowest brick port (env "+config.EnvName("base-port")+")")
	fs.IntVar(&c.MaxPort, "max-port", 60999, "highest brick port (env "+config.EnvName("max-port")+")")
	config.String(fs, &c.WorkDir, "workdir", "/var/lib/glusterd", "glusterd-style working directory named in volfiles")
	config.Duration(fs, &c.SessionTTL, "session-ttl", 15*time.Second, "TTL of the store session holding the port map")
	fs.IntVar(&c.RPCThreads, "rpc-threads", 16, "management connections served on a dedicated thread each (env "+config.EnvName("rpc-threads")+")")
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	if err := c.Common.Validate(); err != nil {
		return err
	}
	for _, a := range []string{c.Listen, c.MgmtListen} {
		if _, _, err := net.SplitHostPort(a); err != nil {
			return fmt.Errorf("listen address %q: %w", a, err)
		}
	}
	if c.BasePort < 1024 || c.MaxPort > 65535 || c.BasePort > c.MaxPort {
		return fmt.Errorf("brick port range %d-%d is not valid", c.BasePort, c.MaxPort)
	}
	if c.RPCThreads < 0 {
		return fmt.Errorf("rpc-threads %d is negative", c.RPCThreads)
	}
	if c.SessionTTL < 10*time.Second {
		return fmt.Errorf("session-ttl %s is under Consul's minimum of 10s", c.SessionTTL)
	}
	return nil
}

// DefaultConfig returns the configuration with every default applied.
func DefaultConfig() Config {
	var c Config
	c.RegisterFlags(flag.NewFlagSet("portmap", flag.ContinueOnError))
	return c
}
