package command

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/spf13/cobra"

	"github.com/glusterd-ng/glusterd-ng/cli/gdctl/internal/rest"
)

func (a *app) addBrickCommand() *cobra.Command {
	return &cobra.Command{
		Use:               "add-brick NAME [replica COUNT] HOST:/PATH... [force]",
		Short:             "Add bricks to a volume",
		Args:              argCount(2, -1),
		ValidArgsFunction: a.completeVolume(nil, nil),
		RunE: a.action(func(ctx context.Context, cmd *cobra.Command, args []string) error {
			name, req, err := parseAddBrick(args)
			if err != nil {
				return usageErr(cmd, "%v", err)
			}
			req.Async = a.async
			return a.write(ctx, "volume add-brick", "success", rest.Request{
				Method: http.MethodPost, Path: volumePath(name, "/bricks"), Body: req,
			})
		}),
	}
}

func (a *app) removeBrickCommand() *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "remove-brick NAME BRICK [force]",
		Short: "Remove a brick, with its replica or disperse set (asks for confirmation)",
		Long: "Remove a brick and, as the volume type requires, the rest of its replica or\n" +
			"disperse set. BRICK is the brick's id or HOST:/PATH.",
		Args:              argCount(2, 3),
		ValidArgsFunction: a.completeVolume(nil, a.brickNames),
		RunE: a.action(func(ctx context.Context, cmd *cobra.Command, args []string) error {
			name, err := volumeArg(cmd, args)
			if err != nil {
				return err
			}
			force, err := forceArg(cmd, args, 2)
			if err != nil {
				return err
			}
			const what = "volume remove-brick"
			brick, spec, err := brickArg(cmd, args[1])
			if err != nil {
				return err
			}
			if err := a.confirm(what, "Removing brick(s) can result in data loss. Do you want to continue?", yes); err != nil {
				return err
			}
			if spec != nil {
				if brick, err = a.resolveBrick(ctx, what, name, *spec); err != nil {
					return err
				}
			}
			q := url.Values{}
			if force {
				q.Set("force", "true")
			}
			return a.write(ctx, what, "success", rest.Request{
				Method: http.MethodDelete, Path: volumePath(name, "/bricks/"+url.PathEscape(brick)), Query: q,
			})
		}),
	}
	addYesFlag(cmd, &yes)
	return cmd
}

func (a *app) replaceBrickCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "replace-brick NAME BRICK NEWHOST:/NEWPATH commit force",
		Short: "Replace a brick with a new one",
		Long: "Replace a brick with a new one; as in gluster, only `commit force` is\n" +
			"supported. BRICK is the old brick's id or HOST:/PATH.",
		Args:              argCount(5, 5),
		ValidArgsFunction: a.completeVolume(nil, a.brickNames),
		RunE: a.action(func(ctx context.Context, cmd *cobra.Command, args []string) error {
			name, err := volumeArg(cmd, args)
			if err != nil {
				return err
			}
			if args[3] != "commit" || args[4] != "force" {
				return usageErr(cmd, "replace-brick needs `commit force` at the end, the only mode supported")
			}
			const what = "volume replace-brick"
			brick, spec, err := brickArg(cmd, args[1])
			if err != nil {
				return err
			}
			newBrick, err := parseBrick(args[2])
			if err != nil {
				return usageErr(cmd, "new brick: %v", err)
			}
			if spec != nil {
				if brick, err = a.resolveBrick(ctx, what, name, *spec); err != nil {
					return err
				}
			}
			return a.write(ctx, what, "success: replace-brick commit force operation successful", rest.Request{
				Method: http.MethodPost, Path: volumePath(name, "/bricks/"+url.PathEscape(brick)+":replace"),
				Body: rest.ReplaceBrickRequest{NewBrick: newBrick, Async: a.async},
			})
		}),
	}
}

// brickArg reads a brick given as its id or as HOST:/PATH; the latter comes
// back as spec, to be resolved to an id against the volume.
func brickArg(cmd *cobra.Command, arg string) (id string, spec *rest.BrickSpec, err error) {
	if !isBrickSyntax(arg) {
		if arg == "" {
			return "", nil, usageErr(cmd, "the brick is empty")
		}
		return arg, nil, nil
	}
	b, err := parseBrick(arg)
	if err != nil {
		return "", nil, usageErr(cmd, "%v", err)
	}
	return "", &b, nil
}

// resolveBrick finds the id of the brick spec names in volume: the host may
// be the brick's host or its peer's id.
func (a *app) resolveBrick(ctx context.Context, what, volume string, spec rest.BrickSpec) (string, error) {
	resp, err := a.read(ctx, what, volumePath(volume, ""))
	if err != nil {
		return "", err
	}
	var v rest.Volume
	if err := resp.Decode(&v); err != nil {
		return "", fail(what, err)
	}
	for _, b := range v.Bricks() {
		if (b.Host == spec.Peer || b.PeerID == spec.Peer) && cleanPath(b.Path) == spec.Path {
			if b.ID == "" {
				return "", fail(what, fmt.Errorf("the server did not give the id of brick %s:%s", spec.Peer, spec.Path))
			}
			return b.ID, nil
		}
	}
	return "", fail(what, fmt.Errorf("%s:%s is not a brick of volume %s", spec.Peer, spec.Path, volume))
}
