package command

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"github.com/spf13/cobra"

	"github.com/glusterd-ng/glusterd-ng/cli/gdctl/internal/rest"
)

func (a *app) volumeCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "volume",
		Short: "Create, start, stop, inspect and change volumes",
		RunE:  groupRunE,
	}
	cmd.AddCommand(
		a.volumeCreateCommand(),
		a.volumeStartCommand(),
		a.volumeStopCommand(),
		a.volumeDeleteCommand(),
		a.volumeInfoCommand(),
		a.volumeListCommand(),
		a.volumeStatusCommand(),
		a.volumeSetCommand(),
		a.volumeGetCommand(),
		a.volumeResetCommand(),
		a.addBrickCommand(),
		a.removeBrickCommand(),
		a.replaceBrickCommand(),
	)
	return cmd
}

// volumePath is the URL path of a volume, plus suffix (":start", "/options").
func volumePath(name, suffix string) string {
	return "/v1/volumes/" + url.PathEscape(name) + suffix
}

// volumeArg checks the volume name of args[0].
func volumeArg(cmd *cobra.Command, args []string) (string, error) {
	if err := checkVolumeName(args[0]); err != nil {
		return "", usageErr(cmd, "%v", err)
	}
	return args[0], nil
}

// forceArg reads gluster's optional trailing force at args[i].
func forceArg(cmd *cobra.Command, args []string, i int) (bool, error) {
	if len(args) <= i {
		return false, nil
	}
	if args[i] != "force" {
		return false, usageErr(cmd, "unexpected %q; only force may follow", args[i])
	}
	return true, nil
}

func (a *app) volumeCreateCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "create NAME [replica COUNT [arbiter 1]] [disperse [COUNT]] [disperse-data COUNT] [redundancy COUNT] [transport tcp] HOST:/PATH... [force]",
		Short: "Create a volume",
		Long: "Create a volume, with gluster's syntax. The bricks are HOST:/absolute/path,\n" +
			"set after set: `replica 3` makes sets of three consecutive bricks, and in\n" +
			"`replica 3 arbiter 1` the third brick of each set is the arbiter. A disperse\n" +
			"volume takes `disperse COUNT redundancy COUNT`.",
		Example: "  gdctl volume create gv0 replica 3 node1:/bricks/b1 node2:/bricks/b1 node3:/bricks/b1\n" +
			"  gdctl volume create gv1 replica 3 arbiter 1 node1:/b/1 node2:/b/1 node3:/b/arb\n" +
			"  gdctl volume create gv2 disperse 3 redundancy 1 node1:/b/2 node2:/b/2 node3:/b/2 force",
		Args:              argCount(1, -1),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: a.action(func(ctx context.Context, cmd *cobra.Command, args []string) error {
			req, err := parseCreate(args)
			if err != nil {
				return usageErr(cmd, "%v", err)
			}
			req.Async = a.async
			return a.write(ctx, "volume create: "+req.Name, "success: please start the volume to access data",
				rest.Request{Method: http.MethodPost, Path: "/v1/volumes", Body: req})
		}),
	}
}

func (a *app) volumeStartCommand() *cobra.Command {
	return &cobra.Command{
		Use:               "start NAME [force]",
		Short:             "Start a volume's bricks and daemons",
		Args:              argCount(1, 2),
		ValidArgsFunction: a.completeVolume(nil, word("force")),
		RunE: a.action(func(ctx context.Context, cmd *cobra.Command, args []string) error {
			name, err := volumeArg(cmd, args)
			if err != nil {
				return err
			}
			force, err := forceArg(cmd, args, 1)
			if err != nil {
				return err
			}
			return a.write(ctx, "volume start: "+name, "success", rest.Request{
				Method: http.MethodPost, Path: volumePath(name, ":start"), Body: rest.ForceRequest{Force: force, Async: a.async},
			})
		}),
	}
}

func (a *app) volumeStopCommand() *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:               "stop NAME [force]",
		Short:             "Stop a volume (asks for confirmation)",
		Args:              argCount(1, 2),
		ValidArgsFunction: a.completeVolume(nil, word("force")),
		RunE: a.action(func(ctx context.Context, cmd *cobra.Command, args []string) error {
			name, err := volumeArg(cmd, args)
			if err != nil {
				return err
			}
			force, err := forceArg(cmd, args, 1)
			if err != nil {
				return err
			}
			what := "volume stop: " + name
			if err := a.confirm(what, "Stopping volume will make its data inaccessible. Do you want to continue?", yes); err != nil {
				return err
			}
			return a.write(ctx, what, "success", rest.Request{
				Method: http.MethodPost, Path: volumePath(name, ":stop"), Body: rest.ForceRequest{Force: force, Async: a.async},
			})
		}),
	}
	addYesFlag(cmd, &yes)
	return cmd
}

func (a *app) volumeDeleteCommand() *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:               "delete NAME",
		Short:             "Delete a stopped volume (asks for confirmation)",
		Args:              argCount(1, 1),
		ValidArgsFunction: a.completeVolume(nil, nil),
		RunE: a.action(func(ctx context.Context, cmd *cobra.Command, args []string) error {
			name, err := volumeArg(cmd, args)
			if err != nil {
				return err
			}
			what := "volume delete: " + name
			if err := a.confirm(what, "Deleting volume will erase all information about the volume. Do you want to continue?", yes); err != nil {
				return err
			}
			return a.write(ctx, what, "success", rest.Request{Method: http.MethodDelete, Path: volumePath(name, "")})
		}),
	}
	addYesFlag(cmd, &yes)
	return cmd
}

func (a *app) volumeInfoCommand() *cobra.Command {
	return &cobra.Command{
		Use:               "info [NAME|all]",
		Short:             "Show the layout, bricks and options of volumes",
		Args:              argCount(0, 1),
		ValidArgsFunction: a.completeVolume([]string{"all"}, nil),
		RunE: a.action(func(ctx context.Context, cmd *cobra.Command, args []string) error {
			const what = "volume info"
			if len(args) == 1 && args[0] != "all" {
				name, err := volumeArg(cmd, args)
				if err != nil {
					return err
				}
				resp, err := a.read(ctx, what, volumePath(name, ""))
				if err != nil {
					return err
				}
				if a.json {
					return a.printJSON(what, resp.Body)
				}
				var v rest.Volume
				if err := resp.Decode(&v); err != nil {
					return fail(what, err)
				}
				return writeOut(what, a.env.Stdout, func(w *outWriter) { writeVolumeInfo(w, []rest.Volume{v}) })
			}
			vols, printed, err := a.listVolumes(ctx, what)
			if err != nil || printed {
				return err
			}
			if len(vols) == 0 {
				return a.printf(what, "No volumes present\n")
			}
			return writeOut(what, a.env.Stdout, func(w *outWriter) { writeVolumeInfo(w, vols) })
		}),
	}
}

func (a *app) volumeListCommand() *cobra.Command {
	return &cobra.Command{
		Use:               "list",
		Short:             "List the volume names",
		Args:              argCount(0, 0),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: a.action(func(ctx context.Context, _ *cobra.Command, _ []string) error {
			const what = "volume list"
			vols, printed, err := a.listVolumes(ctx, what)
			if err != nil || printed {
				return err
			}
			if len(vols) == 0 {
				return a.printf(what, "No volumes present in cluster\n")
			}
			return writeOut(what, a.env.Stdout, func(w *outWriter) {
				for _, v := range vols {
					w.printf("%s\n", v.Name)
				}
			})
		}),
	}
}

func (a *app) volumeStatusCommand() *cobra.Command {
	return &cobra.Command{
		Use:               "status [NAME|all]",
		Short:             "Show the ports, pids and state of a volume's bricks and self-heal daemons",
		Args:              argCount(0, 1),
		ValidArgsFunction: a.completeVolume([]string{"all"}, nil),
		RunE: a.action(func(ctx context.Context, cmd *cobra.Command, args []string) error {
			const what = "volume status"
			var names []string
			if len(args) == 1 && args[0] != "all" {
				name, err := volumeArg(cmd, args)
				if err != nil {
					return err
				}
				names = []string{name}
			} else {
				vols, err := a.volumesOf(ctx, what)
				if err != nil {
					return err
				}
				if len(vols) == 0 {
					if a.json {
						return a.printf(what, "[]\n")
					}
					return a.printf(what, "No volumes present\n")
				}
				for _, v := range vols {
					names = append(names, v.Name)
				}
			}
			return a.printStatuses(ctx, what, names, len(args) == 1 && args[0] != "all")
		}),
	}
}

// printStatuses gets and prints the status of each volume; with --json one
// volume's answer is printed as is and several as a JSON array.
func (a *app) printStatuses(ctx context.Context, what string, names []string, single bool) error {
	var raw []json.RawMessage
	var hosts map[string]string
	for _, name := range names {
		resp, err := a.read(ctx, what, volumePath(name, "/status"))
		if err != nil {
			return err
		}
		if a.json {
			if single {
				return a.printJSON(what, resp.Body)
			}
			raw = append(raw, json.RawMessage(resp.Body))
			continue
		}
		var st rest.VolumeStatus
		if err := resp.Decode(&st); err != nil {
			return fail(what, err)
		}
		if st.Volume == "" {
			st.Volume = name
		}
		hosts = a.daemonHosts(ctx, st, hosts)
		if err := writeOut(what, a.env.Stdout, func(w *outWriter) { writeVolumeStatus(w, st, hosts) }); err != nil {
			return err
		}
	}
	if a.json {
		buf, err := json.Marshal(raw)
		if err != nil {
			return fail(what, fmt.Errorf("encode the answers: %w", err))
		}
		return a.printJSON(what, buf)
	}
	return nil
}

// daemonHosts names the peers of st's self-heal daemons: from the volume's
// bricks, else from the pool; hosts carries the names from volume to volume
// so the pool is asked at most once.
func (a *app) daemonHosts(ctx context.Context, st rest.VolumeStatus, hosts map[string]string) map[string]string {
	if hosts == nil {
		hosts = map[string]string{}
	}
	for _, b := range st.Bricks {
		if _, ok := hosts[b.PeerID]; !ok && b.Host != "" {
			hosts[b.PeerID] = b.Host
		}
	}
	missing := false
	for _, d := range st.SelfHealDaemons {
		if _, ok := hosts[d.PeerID]; !ok {
			missing = true
		}
	}
	if !missing {
		return hosts
	}
	for _, p := range a.peersQuietly(ctx) {
		if _, ok := hosts[p.ID]; !ok {
			hosts[p.ID] = peerHostname(p)
		}
	}
	for _, d := range st.SelfHealDaemons {
		if _, ok := hosts[d.PeerID]; !ok {
			hosts[d.PeerID] = d.PeerID
		}
	}
	return hosts
}

// listVolumes gets every volume; with --json it prints the answer instead
// and says so with printed.
func (a *app) listVolumes(ctx context.Context, what string) (vols []rest.Volume, printed bool, err error) {
	resp, err := a.read(ctx, what, "/v1/volumes")
	if err != nil {
		return nil, false, err
	}
	if a.json {
		return nil, true, a.printJSON(what, resp.Body)
	}
	if err := resp.DecodeList("volumes", &vols); err != nil {
		return nil, false, fail(what, err)
	}
	return vols, false, nil
}

// volumesOf gets every volume, whatever --json says.
func (a *app) volumesOf(ctx context.Context, what string) ([]rest.Volume, error) {
	resp, err := a.read(ctx, what, "/v1/volumes")
	if err != nil {
		return nil, err
	}
	var vols []rest.Volume
	if err := resp.DecodeList("volumes", &vols); err != nil {
		return nil, fail(what, err)
	}
	return vols, nil
}
