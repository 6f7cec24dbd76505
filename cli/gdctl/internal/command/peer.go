package command

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"

	"github.com/spf13/cobra"

	"github.com/glusterd-ng/glusterd-ng/cli/gdctl/internal/rest"
)

func (a *app) peerCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "peer",
		Short: "Manage the nodes of the trusted storage pool",
		RunE:  groupRunE,
	}
	cmd.AddCommand(a.peerProbeCommand(), a.peerDetachCommand(), a.peerStatusCommand())
	return cmd
}

func (a *app) poolCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pool",
		Short: "Show the trusted storage pool",
		RunE:  groupRunE,
	}
	cmd.AddCommand(&cobra.Command{
		Use:               "list",
		Short:             "List every node of the pool with its UUID and state",
		Args:              argCount(0, 0),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: a.action(func(ctx context.Context, _ *cobra.Command, _ []string) error {
			peers, printed, err := a.listPeers(ctx, "pool list")
			if err != nil || printed {
				return err
			}
			return writeOut("pool list", a.env.Stdout, func(w *outWriter) { writePoolList(w, peers) })
		}),
	})
	return cmd
}

func (a *app) peerProbeCommand() *cobra.Command {
	return &cobra.Command{
		Use:               "probe HOST[:PORT]",
		Short:             "Add a node to the pool",
		Args:              argCount(1, 1),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: a.action(func(ctx context.Context, cmd *cobra.Command, args []string) error {
			if err := checkPeerAddress(args[0]); err != nil {
				return usageErr(cmd, "%v", err)
			}
			return a.write(ctx, "peer probe", "success", rest.Request{
				Method: http.MethodPost, Path: "/v1/peers", Body: rest.AddPeerRequest{Address: args[0]},
			})
		}),
	}
}

func (a *app) peerDetachCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "detach HOST [force]",
		Short: "Remove a node that holds no bricks from the pool",
		Long: "Remove a node that holds no bricks from the pool. HOST is the peer's name,\n" +
			"UUID or one of its addresses; force removes a node that cannot be reached.",
		Args:              argCount(1, 2),
		ValidArgsFunction: a.completePeers,
		RunE: a.action(func(ctx context.Context, cmd *cobra.Command, args []string) error {
			q := url.Values{}
			if len(args) == 2 {
				if args[1] != "force" {
					return usageErr(cmd, "unexpected %q; only force may follow the host", args[1])
				}
				q.Set("force", "true")
			}
			if args[0] == "" {
				return usageErr(cmd, "the host is empty")
			}
			peer := a.resolvePeer(ctx, args[0])
			return a.write(ctx, "peer detach", "success", rest.Request{
				Method: http.MethodDelete, Path: "/v1/peers/" + url.PathEscape(peer), Query: q,
			})
		}),
	}
}

func (a *app) peerStatusCommand() *cobra.Command {
	return &cobra.Command{
		Use:               "status",
		Short:             "Show the nodes of the pool and whether they are connected",
		Args:              argCount(0, 0),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: a.action(func(ctx context.Context, _ *cobra.Command, _ []string) error {
			peers, printed, err := a.listPeers(ctx, "peer status")
			if err != nil || printed {
				return err
			}
			return writeOut("peer status", a.env.Stdout, func(w *outWriter) { writePeerStatus(w, peers) })
		}),
	}
}

// listPeers gets the pool; with --json it prints the answer instead and
// says so with printed.
func (a *app) listPeers(ctx context.Context, what string) (peers []rest.Peer, printed bool, err error) {
	resp, err := a.read(ctx, what, "/v1/peers")
	if err != nil {
		return nil, false, err
	}
	if a.json {
		return nil, true, a.printJSON(what, resp.Body)
	}
	if err := resp.DecodeList("peers", &peers); err != nil {
		return nil, false, fail(what, err)
	}
	return peers, false, nil
}

// resolvePeer turns what an operator types for a peer (as gluster, often the
// address it was probed with) into its id. The API takes an id or a name, so
// when the pool cannot be listed host goes as is and the server judges it.
func (a *app) resolvePeer(ctx context.Context, host string) string {
	peers := a.peersQuietly(ctx)
	for _, p := range peers {
		if p.ID == host || p.Name == host {
			return peerKey(p)
		}
	}
	for _, p := range peers {
		for _, addr := range p.Addresses {
			if addr == host || hostOf(addr) == host {
				return peerKey(p)
			}
		}
	}
	return host
}

// peersQuietly lists the pool for a convenience (names, completion) and
// gives nothing when that fails.
func (a *app) peersQuietly(ctx context.Context) []rest.Peer {
	c, err := a.client()
	if err != nil {
		return nil
	}
	resp, err := c.Do(ctx, rest.Request{Method: http.MethodGet, Path: "/v1/peers"})
	if err != nil {
		return nil
	}
	var peers []rest.Peer
	if resp.DecodeList("peers", &peers) != nil {
		return nil
	}
	return peers
}

// peerKey is how a peer is named in a URL: its id, or its name without one.
func peerKey(p rest.Peer) string {
	if p.ID != "" {
		return p.ID
	}
	return p.Name
}

// hostOf drops the port of "host:port".
func hostOf(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

// argCount checks the number of positional arguments as a usage error.
func argCount(lo, hi int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		n := len(args)
		switch {
		case n < lo:
			return usageErr(cmd, "missing arguments")
		case hi >= 0 && n > hi:
			return usageErr(cmd, "too many arguments (%s)", fmt.Sprint(args[hi:]))
		}
		return nil
	}
}
