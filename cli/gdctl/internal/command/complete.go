package command

import (
	"context"
	"net/http"
	"strings"

	"github.com/spf13/cobra"

	"github.com/glusterd-ng/glusterd-ng/cli/gdctl/internal/rest"
)

// argCompleter proposes words for the argument after args (args[0] is the
// volume name); it asks the server and gives nothing when that fails.
type argCompleter func(ctx context.Context, args []string) []string

// completionContext bounds the requests of one completion.
func (a *app) completionContext(cmd *cobra.Command) (context.Context, context.CancelFunc) {
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	return context.WithTimeout(ctx, completionTimeout)
}

// completeVolume completes a volume command: the first argument with the
// volume names and first, the later ones with later.
func (a *app) completeVolume(first []string, later argCompleter) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		ctx, cancel := a.completionContext(cmd)
		defer cancel()
		var words []string
		switch {
		case len(args) == 0:
			words = append(a.volumeNames(ctx), first...)
		case later != nil:
			words = later(ctx, args)
		}
		return withPrefix(words, toComplete), cobra.ShellCompDirectiveNoFileComp
	}
}

// completePeers completes peer detach: a peer name, then force.
func (a *app) completePeers(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	ctx, cancel := a.completionContext(cmd)
	defer cancel()
	var words []string
	switch len(args) {
	case 0:
		for _, p := range a.peersQuietly(ctx) {
			words = append(words, peerHostname(p))
		}
	case 1:
		words = []string{"force"}
	}
	return withPrefix(words, toComplete), cobra.ShellCompDirectiveNoFileComp
}

// word proposes w for the argument right after the volume name.
func word(w string) argCompleter {
	return func(_ context.Context, args []string) []string {
		if len(args) == 1 {
			return []string{w}
		}
		return nil
	}
}

// optionKeys proposes option keys: right after the volume name, or with
// pairs at every key position of KEY VALUE pairs; withAll adds "all".
func (a *app) optionKeys(withAll, pairs bool) argCompleter {
	return func(ctx context.Context, args []string) []string {
		if len(args) != 1 && !(pairs && len(args)%2 == 1) {
			return nil
		}
		var words []string
		if withAll {
			words = append(words, "all")
		}
		resp, err := a.quietGet(ctx, volumePath(args[0], "/options"))
		if err != nil {
			return words
		}
		var opts rest.VolumeOptions
		if resp.Decode(&opts) != nil {
			return words
		}
		for _, o := range opts.Options {
			words = append(words, o.Key)
		}
		return words
	}
}

// brickNames proposes the bricks of the volume as HOST:/PATH.
func (a *app) brickNames(ctx context.Context, args []string) []string {
	if len(args) != 1 {
		return nil
	}
	resp, err := a.quietGet(ctx, volumePath(args[0], ""))
	if err != nil {
		return nil
	}
	var v rest.Volume
	if resp.Decode(&v) != nil {
		return nil
	}
	var words []string
	for _, b := range v.Bricks() {
		words = append(words, b.Host+":"+b.Path)
	}
	return words
}

// volumeNames lists the volume names, or nothing when the server cannot.
func (a *app) volumeNames(ctx context.Context) []string {
	resp, err := a.quietGet(ctx, "/v1/volumes")
	if err != nil {
		return nil
	}
	var vols []rest.Volume
	if resp.DecodeList("volumes", &vols) != nil {
		return nil
	}
	names := make([]string, 0, len(vols))
	for _, v := range vols {
		names = append(names, v.Name)
	}
	return names
}

// quietGet is a GET for completion and conveniences, whose errors nobody sees.
func (a *app) quietGet(ctx context.Context, path string) (*rest.Response, error) {
	c, err := a.client()
	if err != nil {
		return nil, err
	}
	return c.Do(ctx, rest.Request{Method: http.MethodGet, Path: path})
}

// withPrefix keeps the words that start with prefix.
func withPrefix(words []string, prefix string) []string {
	var out []string
	for _, w := range words {
		if strings.HasPrefix(w, prefix) {
			out = append(out, w)
		}
	}
	return out
}
