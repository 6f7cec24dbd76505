package servicemgr

import (
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
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

	// Daemons turns the reconcile loop on: the node runs the GlusterFS
	// daemons its volumes need. Off, the node only serves its gRPC API.
	Daemons bool
	// Glusterfsd and Glusterfs are the brick and client/daemon programs.
	Glusterfsd, Glusterfs string
	// RunDir keeps the daemons' pid files and sockets (glusterd: /var/run/gluster).
	RunDir string
	// LogDir keeps the daemons' logs (glusterd: /var/log/glusterfs).
	LogDir string
	// VolfileServer is the host:port of this node's portmap, where the
	// daemons fetch their volfiles and bricks sign in.
	VolfileServer string
	// Portmap is the gRPC target of this node's portmap; empty finds it in
	// Consul's catalog by node id.
	Portmap string
	// BrickBindAddress makes bricks listen on this address only (several
	// nodes on one host); empty listens on all, as glusterd does.
	BrickBindAddress string
	// StopDaemonsOnExit stops the daemons when servicemgr stops; by default
	// they keep serving and the next run adopts them.
	StopDaemonsOnExit bool
	// DaemonStopTimeout is how long a daemon gets between SIGTERM and SIGKILL.
	DaemonStopTimeout time.Duration
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
	config.Bool(fs, &c.Daemons, "daemons", true, "run the GlusterFS daemons the node's volumes need")
	config.String(fs, &c.Glusterfsd, "glusterfsd", "/usr/sbin/glusterfsd", "the brick program")
	config.String(fs, &c.Glusterfs, "glusterfs", "/usr/sbin/glusterfs", "the client program, for the self-heal daemon")
	config.String(fs, &c.RunDir, "run-dir", "/var/run/gluster", "directory for daemon pid files and sockets")
	config.String(fs, &c.LogDir, "log-dir", "/var/log/glusterfs", "directory for daemon logs")
	config.String(fs, &c.VolfileServer, "volfile-server", "", "host:port of this node's portmap for the daemons (default: <advertise>:24007)")
	config.String(fs, &c.Portmap, "portmap", "", "gRPC target of this node's portmap (default: found in Consul by node id)")
	config.String(fs, &c.BrickBindAddress, "brick-bind-address", "", "address bricks listen on (default: all)")
	config.Bool(fs, &c.StopDaemonsOnExit, "stop-daemons-on-exit", false, "stop the daemons when servicemgr stops (default: leave them serving)")
	config.Duration(fs, &c.DaemonStopTimeout, "daemon-stop-timeout", 10*time.Second, "time a daemon gets between SIGTERM and SIGKILL")
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
	if c.VolfileServer == "" {
		c.VolfileServer = net.JoinHostPort(c.Advertise, "24007")
	}
	if _, _, err := net.SplitHostPort(c.VolfileServer); err != nil {
		return fmt.Errorf("volfile-server %q: %w", c.VolfileServer, err)
	}
	for name, dir := range map[string]string{"run-dir": c.RunDir, "log-dir": c.LogDir} {
		if c.Daemons && !filepath.IsAbs(dir) {
			return fmt.Errorf("%s %q must be an absolute path", name, dir)
		}
	}
	if c.DaemonStopTimeout <= 0 {
		return fmt.Errorf("daemon-stop-timeout must be positive")
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
