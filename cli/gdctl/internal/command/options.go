package command

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/spf13/cobra"

	"github.com/glusterd-ng/glusterd-ng/cli/gdctl/internal/rest"
)

func (a *app) volumeSetCommand() *cobra.Command {
	return &cobra.Command{
		Use:               "set NAME KEY VALUE [KEY VALUE]...",
		Short:             "Set volume options",
		Args:              argCount(3, -1),
		ValidArgsFunction: a.completeVolume(nil, a.optionKeys(false, true)),
		RunE: a.action(func(ctx context.Context, cmd *cobra.Command, args []string) error {
			name, err := volumeArg(cmd, args)
			if err != nil {
				return err
			}
			pairs := args[1:]
			if len(pairs)%2 != 0 {
				return usageErr(cmd, "option %q has no value", pairs[len(pairs)-1])
			}
			opts := map[string]string{}
			for i := 0; i < len(pairs); i += 2 {
				if pairs[i] == "" {
					return usageErr(cmd, "an option key is empty")
				}
				opts[pairs[i]] = pairs[i+1]
			}
			return a.write(ctx, "volume set", "success", rest.Request{
				Method: http.MethodPatch, Path: volumePath(name, "/options"),
				Body: rest.SetOptionsRequest{Options: opts, Async: a.async},
			})
		}),
	}
}

func (a *app) volumeGetCommand() *cobra.Command {
	return &cobra.Command{
		Use:               "get NAME KEY|all",
		Short:             "Show volume options with their values",
		Args:              argCount(2, 2),
		ValidArgsFunction: a.completeVolume(nil, a.optionKeys(true, false)),
		RunE: a.action(func(ctx context.Context, cmd *cobra.Command, args []string) error {
			const what = "volume get"
			name, err := volumeArg(cmd, args)
			if err != nil {
				return err
			}
			key := args[1]
			resp, err := a.read(ctx, what, volumePath(name, "/options"))
			if err != nil {
				return err
			}
			if a.json {
				return a.printJSON(what, resp.Body)
			}
			var opts rest.VolumeOptions
			if err := resp.Decode(&opts); err != nil {
				return fail(what, err)
			}
			shown := opts.Options
			if key != "all" {
				shown = nil
				for _, o := range opts.Options {
					if o.Key == key {
						shown = append(shown, o)
					}
				}
				if len(shown) == 0 {
					return fail(what, fmt.Errorf("%q is not an option of volume %s", key, name))
				}
			}
			return writeOut(what, a.env.Stdout, func(w *outWriter) { writeOptions(w, shown) })
		}),
	}
}

func (a *app) volumeResetCommand() *cobra.Command {
	return &cobra.Command{
		Use:               "reset NAME KEY",
		Short:             "Reset a volume option to its default",
		Args:              argCount(2, 2),
		ValidArgsFunction: a.completeVolume(nil, a.optionKeys(false, false)),
		RunE: a.action(func(ctx context.Context, cmd *cobra.Command, args []string) error {
			name, err := volumeArg(cmd, args)
			if err != nil {
				return err
			}
			if args[1] == "" {
				return usageErr(cmd, "the option key is empty")
			}
			return a.write(ctx, "volume reset", "success: reset volume successful", rest.Request{
				Method: http.MethodDelete, Path: volumePath(name, "/options/"+url.PathEscape(args[1])),
			})
		}),
	}
}
