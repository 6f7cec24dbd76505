package consulkv

import (
	"context"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/glusterd-ng/glusterd-ng/libs/errs"
)

// SessionConfig describes a Consul session.
type SessionConfig struct {
	// Name is shown in Consul's UI and API.
	Name string
	// TTL ends the session when it is not renewed in time (10 s to 24 h).
	TTL time.Duration
	// Delete deletes the session's keys when it ends; otherwise they are released.
	Delete bool
	// LockDelay stops another session taking a released lock for this long.
	LockDelay time.Duration
	// ServiceChecks ties the session to these health checks of the local agent (by check id).
	ServiceChecks []string
}

// CreateSession opens a session and returns its id.
func (c *Client) CreateSession(ctx context.Context, cfg SessionConfig) (string, error) {
	if cfg.TTL < 10*time.Second || cfg.TTL > 24*time.Hour {
		return "", errs.InvalidField("ttl_seconds", "must be between 10 and 86400 seconds, got %s", cfg.TTL)
	}
	behavior := api.SessionBehaviorRelease
	if cfg.Delete {
		behavior = api.SessionBehaviorDelete
	}
	delay := cfg.LockDelay
	if delay == 0 {
		delay = time.Millisecond // 0 would mean Consul's default of 15 s
	}
	if err := c.CheckQuorum(ctx); err != nil {
		return "", err
	}
	se := &api.SessionEntry{Name: cfg.Name, TTL: cfg.TTL.String(), Behavior: behavior, LockDelay: delay}
	for _, id := range cfg.ServiceChecks {
		se.ServiceChecks = append(se.ServiceChecks, api.ServiceCheck{ID: id})
	}
	ctx, cancel := c.reqCtx(ctx)
	defer cancel()
	id, _, err := c.api.Session().Create(se, (&api.WriteOptions{}).WithContext(ctx))
	if err != nil {
		return "", c.Classify(err, "create session")
	}
	return id, nil
}

// RenewSession extends a session's TTL; NotFound when it has already ended.
func (c *Client) RenewSession(ctx context.Context, id string) error {
	ctx, cancel := c.reqCtx(ctx)
	defer cancel()
	se, _, err := c.api.Session().Renew(id, (&api.WriteOptions{}).WithContext(ctx))
	if err != nil {
		return c.Classify(err, "renew session")
	}
	if se == nil {
		return errs.New(errs.NotFound, "session %s has ended", id)
	}
	return nil
}

// DestroySession ends a session now, releasing or deleting its keys.
func (c *Client) DestroySession(ctx context.Context, id string) error {
	ctx, cancel := c.reqCtx(ctx)
	defer cancel()
	if _, err := c.api.Session().Destroy(id, (&api.WriteOptions{}).WithContext(ctx)); err != nil {
		return c.Classify(err, "destroy session")
	}
	return nil
}

// SessionAlive reports whether a session still exists.
func (c *Client) SessionAlive(ctx context.Context, id string) (bool, error) {
	ctx, cancel := c.reqCtx(ctx)
	defer cancel()
	se, _, err := c.api.Session().Info(id, (&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return false, c.Classify(err, "read session")
	}
	return se != nil, nil
}
