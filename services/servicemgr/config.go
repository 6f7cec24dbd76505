package servicemgr

import (
	"flag"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/glusterd-ng/glusterd-ng/libs/config"
)

// Config is the service manager's configuration.
type Config struct {
	config.Common
	config.Server
	config.StoreClient
	// StateDir keeps the node's identity and, later, its daemons' state.
	StateDir string
	// NodeID sets the node's UUID the first time (for containers); it can never change.
	NodeID string
	// Name is the node's name; empty uses the host name.
	Name string
	// Addresses are the node's addresses for bricks and clients; empty uses the advertise host.
	Addresses string
	// SessionTTL is the TTL of the node's store session: its runtime state dies this long after the node.
	SessionTTL time.Duration
}

// RegisterFlags registers every setting on fs (each also read from GDNG_<NAME>).
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	c.RegisterCommon(fs)
	c.RegisterServer(fs, "127.0.0.1:24013")
	c.RegisterStoreClient(fs)
	config.String(fs, &c.StateDir, "state-dir", "/var/lib/glusterd-ng", "directory keeping the node's identity")
	config.String(fs, &c.NodeID, "node-id", "", "the node's UUID, set once (default: generated on first start)")
	config.String(fs, &c.Name, "name", "", "the node's name (default: the host name)")
	config.String(fs, &c.Addresses, "addresses", "", "comma-separated addresses of the node (default: the advertise host)")
	config.Duration(fs, &c.SessionTTL, "session-ttl", 15*time.Second, "TTL of the node's store session")
}

// Validate checks the configuration and fills derived defaults.
func (c *Config) Validate() error {
	if err := c.Common.Validate(); err != nil {
		return err
	}
	host, _, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return fmt.Errorf("listen %q: %w", c.Listen, err)
	}
	if c.Advertise == "" {
		c.Advertise = host
	}
	if c.Advertise == "" || c.Advertise == "0.0.0.0" || c.Advertise == "::" {
		return fmt.Errorf("advertise must be set when listening on all addresses")
	}
	if c.Name == "" {
		if c.Name, err = os.Hostname(); err != nil {
			return fmt.Errorf("host name: %w", err)
		}
	}
	if c.StateDir == "" {
		return fmt.Errorf("state-dir must be set")
	}
	if c.SessionTTL < 10*time.Second {
		return fmt.Errorf("session-ttl %s is under Consul's minimum of 10s", c.SessionTTL)
	}
	return nil
}

// AddressList returns the node's addresses, the advertise host first.
func (c *Config) AddressList() []string {
	out := []string{c.Advertise}
	for _, a := range strings.Split(c.Addresses, ",") {
		if a = strings.TrimSpace(a); a != "" && a != c.Advertise {
			out = append(out, a)
		}
	}
	return out
}

// DefaultConfig returns the configuration with every default applied.
func DefaultConfig() Config {
	var c Config
	c.RegisterFlags(flag.NewFlagSet("servicemgr", flag.ContinueOnError))
	return c
}
