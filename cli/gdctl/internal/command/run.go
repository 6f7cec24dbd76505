// Package command is gdctl's command tree: gluster's command syntax over the
// glusterd-ng REST API. Commands write to the streams of an Env and Run
// returns the process exit code, so the whole CLI runs in tests.
package command

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/glusterd-ng/glusterd-ng/cli/gdctl/internal/rest"
)

// Exit codes of gdctl.
const (
	// ExitOK is success.
	ExitOK = 0
	// ExitFailure is a command that ran and failed (server error, unreachable server).
	ExitFailure = 1
	// ExitUsage is wrong local usage, found before any request.
	ExitUsage = 2
)

// DefaultEndpoint is the gateway gdctl calls when neither --endpoint nor
// GDCTL_ENDPOINT says otherwise.
const DefaultEndpoint = "http://127.0.0.1:24008"

// EndpointEnv is the environment variable that overrides DefaultEndpoint.
const EndpointEnv = "GDCTL_ENDPOINT"

// completionTimeout bounds the requests shell completion makes.
const completionTimeout = 3 * time.Second

// Env is what an invocation reads and writes besides its arguments.
type Env struct {
	// Stdin is where confirmation answers are read from.
	Stdin io.Reader
	// Stdout receives command output.
	Stdout io.Writer
	// Stderr receives errors, usage and prompts.
	Stderr io.Writer
	// StdinIsTerminal says whether a person can answer confirmation prompts.
	StdinIsTerminal bool
	// Getenv reads the environment; nil reads nothing.
	Getenv func(string) string
	// HTTPClient replaces a plain http.Client when set.
	HTTPClient *http.Client
}

// app is one invocation: the environment, the global flags and the client.
type app struct {
	env       Env
	endpoint  string
	json      bool
	async     bool
	timeout   time.Duration
	mode      string
	requestID string
	rc        *rest.Client
}

// Run executes gdctl with args (the program name excluded) and returns the
// exit code.
func Run(ctx context.Context, args []string, env Env) int {
	if env.Stdin == nil {
		env.Stdin = strings.NewReader("")
	}
	if env.Stdout == nil {
		env.Stdout = io.Discard
	}
	if env.Stderr == nil {
		env.Stderr = io.Discard
	}
	if env.Getenv == nil {
		env.Getenv = func(string) string { return "" }
	}
	a := &app{env: env, requestID: uuid.NewString()}
	root := a.rootCommand()
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	return a.report(cmd, err)
}

func (a *app) rootCommand() *cobra.Command {
	endpoint := DefaultEndpoint
	if v := a.env.Getenv(EndpointEnv); v != "" {
		endpoint = v
	}
	root := &cobra.Command{
		Use:   "gdctl",
		Short: "Manage a glusterd-ng cluster with gluster's commands",
		Long: "gdctl manages a glusterd-ng trusted storage pool and its volumes through the\n" +
			"REST API, with the syntax of the gluster command line.",
		SilenceErrors:     true,
		SilenceUsage:      true,
		PersistentPreRunE: a.checkGlobalFlags,
	}
	f := root.PersistentFlags()
	f.StringVar(&a.endpoint, "endpoint", endpoint, "glusterd-ng REST endpoint (env "+EndpointEnv+")")
	f.BoolVar(&a.json, "json", false, "print the server's JSON answer as is, for scripts")
	f.DurationVar(&a.timeout, "timeout", 2*time.Minute, "give up when the server has not answered in this time")
	f.BoolVar(&a.async, "async", false, "do not wait for write operations; print their transaction id")
	f.StringVar(&a.mode, "mode", "", `"script" answers every confirmation with yes, as gluster's --mode=script`)
	// The streams are set before the completion command is made: cobra
	// binds its output when making it.
	root.SetIn(a.env.Stdin)
	root.SetOut(a.env.Stdout)
	root.SetErr(a.env.Stderr)
	root.SetUsageTemplate(usageTemplate)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageErr(c, "%v", err)
	})
	root.AddCommand(a.peerCommand(), a.poolCommand(), a.volumeCommand())
	// cobra's `completion bash|zsh|fish|powershell`, made to report an
	// unknown shell as a usage error like the other groups.
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() == "completion" {
			c.RunE = groupRunE
		}
	}
	return root
}

// checkGlobalFlags validates the global flags before any command runs.
func (a *app) checkGlobalFlags(cmd *cobra.Command, _ []string) error {
	if _, err := rest.ParseEndpoint(a.endpoint); err != nil {
		return usageErr(cmd, "--endpoint: %v", err)
	}
	if a.timeout <= 0 {
		return usageErr(cmd, "--timeout must be positive, not %s", a.timeout)
	}
	if a.mode != "" && a.mode != "script" {
		return usageErr(cmd, `--mode must be "script", not %q`, a.mode)
	}
	return nil
}

// client returns the invocation's REST client for the endpoint of the
// global flags, made on first use.
func (a *app) client() (*rest.Client, error) {
	if a.rc != nil {
		return a.rc, nil
	}
	c, err := rest.New(rest.Config{Endpoint: a.endpoint, RequestID: a.requestID, HTTPClient: a.env.HTTPClient})
	if err != nil {
		return nil, fmt.Errorf("endpoint: %w", err)
	}
	a.rc = c
	return c, nil
}

// call sends one request under the invocation's timeout.
func (a *app) call(ctx context.Context, req rest.Request) (*rest.Response, error) {
	c, err := a.client()
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", req.Method, req.Path, err)
	}
	return resp, nil
}

// action wraps a command body: it runs under the --timeout deadline.
func (a *app) action(run func(ctx context.Context, cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		ctx, cancel := context.WithTimeout(cmd.Context(), a.timeout)
		defer cancel()
		return run(ctx, cmd, args)
	}
}

// write sends a request that changes something. With --async it asks for an
// answer at once (?async=true; bodies that have an async field carry it
// too). It prints the answer as JSON with --json, the transaction id when the
// server accepted the operation to run in the background, and success
// otherwise.
func (a *app) write(ctx context.Context, what, success string, req rest.Request) error {
	if a.async {
		if req.Query == nil {
			req.Query = map[string][]string{}
		}
		req.Query.Set("async", "true")
	}
	resp, err := a.call(ctx, req)
	if err != nil {
		return fail(what, err)
	}
	if a.json {
		return a.printJSON(what, resp.Body)
	}
	if a.async {
		var op rest.OperationResponse
		_ = json.Unmarshal(resp.Body, &op)
		switch {
		case op.TransactionID != "":
			return a.printf(what, "%s: accepted: transaction %s\n", what, op.TransactionID)
		case resp.Status == http.StatusAccepted:
			return a.printf(what, "%s: accepted\n", what)
		}
	}
	return a.printf(what, "%s: %s\n", what, success)
}

// read sends a GET and returns the answer.
func (a *app) read(ctx context.Context, what, path string) (*rest.Response, error) {
	resp, err := a.call(ctx, rest.Request{Method: http.MethodGet, Path: path})
	if err != nil {
		return nil, fail(what, err)
	}
	return resp, nil
}

// printf writes to stdout; a write error is a failure of the command.
func (a *app) printf(what, format string, args ...any) error {
	if _, err := fmt.Fprintf(a.env.Stdout, format, args...); err != nil {
		return fail(what, fmt.Errorf("write output: %w", err))
	}
	return nil
}

// printJSON writes a server answer indented, or as is when it is not JSON.
func (a *app) printJSON(what string, body []byte) error {
	if _, err := a.env.Stdout.Write(indentJSON(body)); err != nil {
		return fail(what, fmt.Errorf("write output: %w", err))
	}
	return nil
}

// usageError is wrong local usage: reported with the command's usage line,
// exit code 2, found before any request.
type usageError struct {
	cmd *cobra.Command
	msg string
}

func (e *usageError) Error() string { return e.msg }

func usageErr(cmd *cobra.Command, format string, args ...any) error {
	return &usageError{cmd: cmd, msg: fmt.Sprintf(format, args...)}
}

// failure is a command that ran and failed, reported gluster's way as
// "<what>: failed: <why>" with exit code 1.
type failure struct {
	what string
	err  error
}

func (e *failure) Error() string { return e.what + ": failed: " + e.err.Error() }

func (e *failure) Unwrap() error { return e.err }

func fail(what string, err error) error {
	var f *failure
	if errors.As(err, &f) {
		return err
	}
	return &failure{what: what, err: err}
}

// exitError ends the invocation with a message as is and an exit code.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// report prints err the way its kind asks and returns the exit code.
func (a *app) report(cmd *cobra.Command, err error) int {
	if err == nil {
		return ExitOK
	}
	var (
		f  *failure
		ex *exitError
		u  *usageError
	)
	switch {
	case errors.As(err, &f):
		var apiErr *rest.APIError
		var unreachable *rest.UnreachableError
		msg := f.err.Error()
		switch {
		case errors.As(f.err, &apiErr):
			msg = apiErr.Message
			if apiErr.Status == http.StatusInternalServerError && apiErr.RequestID != "" {
				msg += " (request id " + apiErr.RequestID + ")"
			}
			if a.json && len(apiErr.Body) > 0 {
				_, _ = a.env.Stdout.Write(indentJSON(apiErr.Body))
			}
		case errors.As(f.err, &unreachable):
			msg = unreachable.Error()
		}
		fmt.Fprintf(a.env.Stderr, "%s: failed: %s\n", f.what, msg)
		return ExitFailure
	case errors.As(err, &ex):
		fmt.Fprintln(a.env.Stderr, ex.msg)
		return ex.code
	case errors.As(err, &u):
		cmd = u.cmd
	}
	if cmd == nil {
		fmt.Fprintf(a.env.Stderr, "gdctl: %v\n", err)
		return ExitUsage
	}
	fmt.Fprintf(a.env.Stderr, "%s: %s\n", cmd.CommandPath(), strings.TrimSpace(err.Error()))
	if cmd.HasAvailableSubCommands() {
		var names []string
		for _, c := range cmd.Commands() {
			if c.IsAvailableCommand() {
				names = append(names, c.Name())
			}
		}
		fmt.Fprintf(a.env.Stderr, "Commands: %s\n", strings.Join(names, ", "))
	} else {
		fmt.Fprintf(a.env.Stderr, "Usage: %s\n", cmd.UseLine())
	}
	fmt.Fprintf(a.env.Stderr, "Run '%s --help' for more information.\n", cmd.CommandPath())
	return ExitUsage
}

// usageTemplate is cobra's default usage template, except that a command
// holding subcommands shows only "CMD [command]": it runs only to report a
// missing or unknown subcommand (groupRunE).
const usageTemplate = `Usage:{{if and .Runnable (not .HasAvailableSubCommands)}}
  {{.UseLine}}{{end}}{{if .HasAvailableSubCommands}}
  {{.CommandPath}} [command]{{end}}{{if gt (len .Aliases) 0}}

Aliases:
  {{.NameAndAliases}}{{end}}{{if .HasExample}}

Examples:
{{.Example}}{{end}}{{if .HasAvailableSubCommands}}

Available Commands:{{range .Commands}}{{if (or .IsAvailableCommand (eq .Name "help"))}}
  {{rpad .Name .NamePadding }} {{.Short}}{{end}}{{end}}{{end}}{{if .HasAvailableLocalFlags}}

Flags:
{{.LocalFlags.FlagUsages | trimTrailingWhitespaces}}{{end}}{{if .HasAvailableInheritedFlags}}

Global Flags:
{{.InheritedFlags.FlagUsages | trimTrailingWhitespaces}}{{end}}{{if .HasHelpSubCommands}}

Additional help topics:{{range .Commands}}{{if .IsAdditionalHelpTopicCommand}}
  {{rpad .CommandPath .CommandPathPadding}} {{.Short}}{{end}}{{end}}{{end}}{{if .HasAvailableSubCommands}}

Use "{{.CommandPath}} [command] --help" for more information about a command.{{end}}
`

// groupRunE makes a command that only holds subcommands answer a missing or
// unknown subcommand as a usage error instead of printing help with success.
func groupRunE(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return usageErr(cmd, "missing subcommand")
	}
	msg := fmt.Sprintf("unknown command %q", args[0])
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2
	}
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += "; did you mean " + strings.Join(s, " or ") + "?"
	}
	return usageErr(cmd, "%s", msg)
}

// indentJSON indents a JSON document with two spaces and a final newline;
// anything else comes back as is.
func indentJSON(body []byte) []byte {
	var buf bytes.Buffer
	out := body
	if err := json.Indent(&buf, body, "", "  "); err == nil {
		out = buf.Bytes()
	}
	if len(out) > 0 && out[len(out)-1] != '\n' {
		out = append(out[:len(out):len(out)], '\n')
	}
	return out
}
