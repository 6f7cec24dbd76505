package orchestrator

import (
	"flag"
	"fmt"
	"time"

	"github.com/glusterd-ng/glusterd-ng/libs/config"
)

// Config is the orchestrator's configuration.
type Config struct {
	config.Common
	config.Server
	config.StoreClient
	// ID identifies this replica (a UUID); empty generates one per start.
	ID string
	// SessionTTL is the TTL of the store session holding the replica's locks.
	SessionTTL time.Duration
	// TxnTimeout is a transaction's deadline.
	TxnTimeout time.Duration
	// OnlineTimeout bounds how long start waits for every brick to be online
	// (and stop for every brick to be gone).
	OnlineTimeout time.Duration
	// RecoverInterval is how often unfinished transactions of stopped replicas are looked for.
	RecoverInterval time.Duration
	// TxnRetention is how long finished transaction records are kept.
	TxnRetention time.Duration
	// TxnHistory is how many finished transaction records are kept at most.
	TxnHistory int
	// Failpoints crash or fail transactions at named points, for fault tests
	// ("volume.create/after-step-1=crash,..."; see docs/transactions.md).
	Failpoints string
}

// RegisterFlags registers every setting on fs (each also read from GDNG_<NAME>).
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	c.RegisterCommon(fs)
	c.RegisterServer(fs, "127.0.0.1:24012")
	c.RegisterStoreClient(fs)
	config.String(fs, &c.ID, "id", "", "this replica's UUID (default: a new one per start)")
	config.Duration(fs, &c.SessionTTL, "session-ttl", 15*time.Second, "TTL of the session holding this replica's locks")
	config.Duration(fs, &c.TxnTimeout, "txn-timeout", 2*time.Minute, "deadline of a transaction")
	config.Duration(fs, &c.OnlineTimeout, "online-timeout", time.Minute, "how long start waits for every brick to be online")
	config.Duration(fs, &c.RecoverInterval, "recover-interval", 5*time.Second, "how often unfinished transactions of stopped replicas are looked for")
	config.Duration(fs, &c.TxnRetention, "txn-retention", 24*time.Hour, "how long finished transaction records are kept (FAILED ones are kept until deleted by hand)")
	config.Int(fs, &c.TxnHistory, "txn-history", 200, "how many finished transaction records are kept at most, newest first")
	config.String(fs, &c.Failpoints, "failpoints", "", "fault tests only: <operation>/<point>=crash|error,...")
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	if err := c.Common.Validate(); err != nil {
		return err
	}
	if err := c.ValidateServer(); err != nil {
		return err
	}
	if c.SessionTTL < 10*time.Second {
		return fmt.Errorf("session-ttl %s is under Consul's minimum of 10s", c.SessionTTL)
	}
	if c.TxnTimeout <= 0 || c.OnlineTimeout <= 0 || c.RecoverInterval <= 0 || c.TxnRetention <= 0 || c.TxnHistory <= 0 {
		return fmt.Errorf("txn-timeout, online-timeout, recover-interval, txn-retention and txn-history must be positive")
	}
	return nil
}

// DefaultConfig returns the configuration with every default applied.
func DefaultConfig() Config {
	var c Config
	c.RegisterFlags(flag.NewFlagSet("orchestrator", flag.ContinueOnError))
	return c
}
