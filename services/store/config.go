package store

import (
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/glusterd-ng/glusterd-ng/libs/config"
)

// Config is the store service's configuration.
type Config struct {
	config.Common
	config.Server
	// KVPrefix is the Consul KV prefix the cluster's tree lives under.
	KVPrefix string
	// ClusterName names the cluster record created on first start.
	ClusterName string
	// Retention is how long deletion records are kept so watches can resume across them.
	Retention time.Duration
	// GCInterval is how often expired deletion records are collected.
	GCInterval time.Duration
	// RequestTimeout bounds each Consul request.
	RequestTimeout time.Duration
	// FeedInterval is the least time between two listings of the change
	// feed: writes that land within it are read in one listing.
	FeedInterval time.Duration
	// Procs is how many Go runtime processors (GOMAXPROCS) the store runs
	// with; 0 leaves the runtime's choice (the CPUs, or GOMAXPROCS from
	// the environment).
	Procs int
}

// RegisterFlags registers every setting on fs (each also read from GDNG_<NAME>).
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	c.RegisterCommon(fs)
	c.RegisterServer(fs, "127.0.0.1:24011")
	config.String(fs, &c.KVPrefix, "kv-prefix", "glusterd-ng/", "Consul KV prefix of the cluster's configuration")
	config.String(fs, &c.ClusterName, "cluster-name", "gluster", "name of the cluster record created on first start")
	config.Duration(fs, &c.Retention, "retention", time.Hour, "how long deletion records are kept for resuming watches")
	config.Duration(fs, &c.GCInterval, "gc-interval", time.Minute, "how often expired deletion records are collected")
	config.Duration(fs, &c.RequestTimeout, "request-timeout", 5*time.Second, "bound on each Consul request")
	config.Int(fs, &c.Procs, "procs", 1, "Go runtime processors (GOMAXPROCS) to run with; 0: the runtime's default (all CPUs). One keeps each call's hand-offs between goroutines on one thread instead of waking another CPU for each")
	config.Duration(fs, &c.FeedInterval, "feed-interval", 10*time.Millisecond, "least time between two listings of a change feed (each reads its whole prefix: a kind's directory, or the tree); writes within it are delivered together")
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	if err := c.Common.Validate(); err != nil {
		return err
	}
	if err := c.ValidateServer(); err != nil {
		return err
	}
	if !strings.HasSuffix(c.KVPrefix, "/") {
		return fmt.Errorf("kv-prefix %q must end in /", c.KVPrefix)
	}
	if c.Procs < 0 {
		return fmt.Errorf("procs %d must be 0 (the runtime's default) or more", c.Procs)
	}
	if c.FeedInterval < 0 || c.FeedInterval > time.Second {
		return fmt.Errorf("feed-interval %s must be between 0 and 1s", c.FeedInterval)
	}
	if c.Retention < time.Second || c.GCInterval < 100*time.Millisecond {
		return fmt.Errorf("retention (%s) and gc-interval (%s) are too short", c.Retention, c.GCInterval)
	}
	return nil
}

// DefaultConfig returns the configuration with every default applied.
func DefaultConfig() Config {
	var c Config
	c.RegisterFlags(flag.NewFlagSet("store", flag.ContinueOnError))
	return c
}
