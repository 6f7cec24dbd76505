// Package config registers service settings as flags that can also be set
// from the environment, one documented name each: flag --consul-addr is
// GDNG_CONSUL_ADDR.
package config

import (
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/glusterd-ng/glusterd-ng/libs/log"
)

// EnvName returns the environment variable for a flag name.
func EnvName(flagName string) string {
	return "GDNG_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func envOr(name, def string) string {
	if v, ok := os.LookupEnv(EnvName(name)); ok {
		return v
	}
	return def
}

func usage(name, u string) string { return fmt.Sprintf("%s (env %s)", u, EnvName(name)) }

// String registers a string setting.
func String(fs *flag.FlagSet, p *string, name, def, u string) {
	fs.StringVar(p, name, envOr(name, def), usage(name, u))
}

// Bool registers a boolean setting.
func Bool(fs *flag.FlagSet, p *bool, name string, def bool, u string) {
	v := def
	if s, ok := os.LookupEnv(EnvName(name)); ok {
		if b, err := strconv.ParseBool(s); err == nil {
			v = b
		}
	}
	fs.BoolVar(p, name, v, usage(name, u))
}

// Int registers an integer setting.
func Int(fs *flag.FlagSet, p *int, name string, def int, u string) {
	v := def
	if s, ok := os.LookupEnv(EnvName(name)); ok {
		if n, err := strconv.Atoi(s); err == nil {
			v = n
		}
	}
	fs.IntVar(p, name, v, usage(name, u))
}

// Duration registers a duration setting.
func Duration(fs *flag.FlagSet, p *time.Duration, name string, def time.Duration, u string) {
	v := def
	if s, ok := os.LookupEnv(EnvName(name)); ok {
		if d, err := time.ParseDuration(s); err == nil {
			v = d
		}
	}
	fs.DurationVar(p, name, v, usage(name, u))
}

// Common is the settings every service shares.
type Common struct {
	// ConsulAddr is Consul's HTTP API address.
	ConsulAddr string
	// ConsulToken is the Consul ACL token; never logged.
	ConsulToken string
	// LogLevel is debug, info, warn or error.
	LogLevel string
	// LogFormat is json or console.
	LogFormat string
	// Register makes the service register itself in Consul's catalog.
	Register bool
	// CheckInterval is how often Consul checks the service's gRPC health.
	CheckInterval time.Duration
}

// RegisterCommon registers the shared settings on fs.
func (c *Common) RegisterCommon(fs *flag.FlagSet) {
	String(fs, &c.ConsulAddr, "consul-addr", "127.0.0.1:8500", "Consul HTTP API address")
	String(fs, &c.ConsulToken, "consul-token", "", "Consul ACL token")
	String(fs, &c.LogLevel, "log-level", "info", "log level: debug, info, warn, error")
	String(fs, &c.LogFormat, "log-format", "json", "log format: json or console")
	Bool(fs, &c.Register, "register", true, "register the service in Consul's catalog")
	Duration(fs, &c.CheckInterval, "check-interval", 5*time.Second, "interval of Consul's gRPC health check")
}

// LogConfig is the logging part of the settings.
func (c *Common) LogConfig() log.Config { return log.Config{Level: c.LogLevel, Format: c.LogFormat} }

// Validate checks the shared settings.
func (c *Common) Validate() error {
	if c.ConsulAddr == "" {
		return fmt.Errorf("consul-addr must be set")
	}
	if c.CheckInterval < 100*time.Millisecond {
		return fmt.Errorf("check-interval %s is too short", c.CheckInterval)
	}
	return nil
}

// Server is where a gRPC service listens and what it registers in Consul.
type Server struct {
	// Listen is the gRPC listen address.
	Listen string
	// Advertise is the host registered in Consul; empty uses the listen host.
	Advertise string
}

// RegisterServer registers --listen (default def) and --advertise.
func (s *Server) RegisterServer(fs *flag.FlagSet, def string) {
	String(fs, &s.Listen, "listen", def, "gRPC listen address")
	String(fs, &s.Advertise, "advertise", "", "host registered in Consul (default: the listen host)")
}

// ValidateServer checks the listen address.
func (s *Server) ValidateServer() error {
	if _, _, err := net.SplitHostPort(s.Listen); err != nil {
		return fmt.Errorf("listen %q: %w", s.Listen, err)
	}
	return nil
}

// StoreClient is how a service reaches the store.
type StoreClient struct {
	// StoreTarget is the gRPC target of the store ("consul:///store" or "host:port").
	StoreTarget string
}

// RegisterStoreClient registers --store-target.
func (s *StoreClient) RegisterStoreClient(fs *flag.FlagSet) {
	String(fs, &s.StoreTarget, "store-target", "consul:///store", "gRPC target of the store service")
}
