// Command splitbrain is a Jepsen-style fault-injection harness for raft
// systems. It is thin: it parses flags, builds a harness.Test and calls
// the library.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// exitError carries an exit code out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

// usageErr is exit code 2: bad flags, bad input files, setup failures.
func usageErr(err error) error { return &exitError{code: 2, err: err} }

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRoot()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(os.Stderr, "splitbrain:", ee.err)
		}
		return ee.code
	}
	// cobra's own flag and argument errors.
	fmt.Fprintln(os.Stderr, "splitbrain:", err)
	return 2
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "splitbrain",
		Short: "Jepsen-style fault injection for raft systems",
		Long: `splitbrain runs a raft key-value cluster in a world it controls — a deterministic
simulation (the default) or real processes — injects partitions, crashes, pauses,
clock, disk and membership faults, records every client operation, and checks
that the history is linearizable.

Exit codes of run and check: 0 valid, 1 invalid, 2 usage or setup error, 3 unknown.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newRunCmd(), newCheckCmd())
	for _, c := range commands {
		root.AddCommand(c())
	}
	return root
}

// commands are the further subcommands, each registered by its own file's
// init (node, clean, serve, selftest, campaign, …).
var commands []func() *cobra.Command

// isTerminal reports whether f is a terminal (for colours).
func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// classify turns a library error into an exit code. Every error the
// library returns (rather than a verdict) means the run or check could not
// happen: bad flags (harness.ErrUsage), malformed input (a
// *history.ParseError naming file and line), or a setup failure. All are 2.
func classify(err error) error { return usageErr(err) }
