package command

import (
	"bufio"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// addYesFlag gives a command that asks for confirmation its --yes flag.
func addYesFlag(cmd *cobra.Command, yes *bool) {
	cmd.Flags().BoolVarP(yes, "yes", "y", false, "do not ask for confirmation")
}

// confirm asks question as gluster does before a destructive operation.
// --yes or --mode=script answer yes; without them a stdin that is not a
// terminal is refused, so a script never hangs on or skips a question.
func (a *app) confirm(what, question string, yes bool) error {
	if yes || a.mode == "script" {
		return nil
	}
	if !a.env.StdinIsTerminal {
		return &exitError{code: ExitUsage, msg: what + ": needs confirmation but stdin is not a terminal; pass --yes (or --mode=script)"}
	}
	fmt.Fprintf(a.env.Stderr, "%s (y/n) ", question)
	line, _ := bufio.NewReader(a.env.Stdin).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return nil
	}
	return &exitError{code: ExitFailure, msg: what + ": cancelled"}
}
