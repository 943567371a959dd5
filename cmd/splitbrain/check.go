package main

import (
	"fmt"
	"os"
	"runtime/debug"
	"time"

	"github.com/spf13/cobra"
	"github.com/splitbrain/splitbrain/harness"
	"github.com/splitbrain/splitbrain/harness/history"
)

func newCheckCmd() *cobra.Command {
	var o harness.CheckOptions
	var initial string
	var liveness, timeout time.Duration
	cmd := &cobra.Command{
		Use:   "check PATH",
		Short: "Check a stored run directory or a history file",
		Long: `Check re-checks a run directory (its history.jsonl; the verdict goes to check.json,
results.json is left as the run wrote it) or checks a history file: our JSONL, a
Jepsen EDN history (history.edn, or a vector of op maps), or jepsen.util log
lines. A history file's results land in <results>/check/<UTC time>/.

Jepsen histories are judged by the rules of Jepsen's own linearizability checker
(knossos' cas-register model):
  - an :ok :read whose value is nil read a value nobody recorded: it is legal in
    any state ("nil reads are always legal") and becomes an :info read in our
    history. That is the rule for EDN histories. Jepsen logs (jepsen-log) read
    nil as "absent", as porcupine's model of Jepsen's etcd logs does and its
    verdicts expect. --nil-read unknown|absent overrides either.
  - an :info op (or an invocation never completed) is indeterminate: it may take
    effect at any time after its invocation, or never; an :info read says nothing.
  - a :fail op did not happen.
  - registers start at nil unless --initial says otherwise (knossos' test corpus
    and many Jepsen tests start at 0: --initial 0).
  - liveness is not judged: a Jepsen history carries no fault information we can
    pair into fault windows (what a nemesis :start does depends on the nemesis),
    so there is no final heal to recover from, and Jepsen's checkers do not judge
    liveness either. It is reported as "not judged" and counts as valid. Nemesis
    ops are kept as instant events named by their keyword (":kill", ":start").

A run directory without results.json is a run killed before it finished (or one
still running): what it recorded is checked, but the verdict is at best unknown
(exit 3) and says so; an anomaly found in it still makes it invalid.

Malformed input is reported with file:line and exit code 2, and so is a history
without client operations ("no operations"). A torn final line (a writer killed
mid-line) is dropped with a warning; the rest is checked.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch initial {
			case "nil", "":
			default:
				o.Initial = history.Str(initial)
			}
			o.LivenessBound, o.Timeout = liveness, timeout
			if os.Getenv("GOGC") == "" {
				debug.SetGCPercent(harness.CheckGCPercent)
			}
			out, err := harness.Check(cmd.Context(), args[0], o)
			if err != nil {
				return classify(err)
			}
			fmt.Print(harness.Summary(out.Results, nil, isTerminal(os.Stdout)))
			if code := harness.ExitCode(out.Results.Valid); code != 0 {
				return &exitError{code: code}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Format, "format", "", "history format: jsonl, edn or jepsen-log (default: detect)")
	f.StringVar(&initial, "initial", "nil", "initial register value: nil, or a value such as 0 (Jepsen cas-register tests)")
	f.StringVar(&o.Results, "results", "results", "results directory (for history files)")
	f.DurationVar(&liveness, "liveness-bound", 0, "liveness bound (default: the run's, else 10s)")
	f.DurationVar(&timeout, "check-timeout", 0, "wall-clock bound on the whole check, reading included (0: none); past it the verdict is unknown (\"check timed out\") unless already invalid, and plots not yet drawn are skipped")
	f.StringVar(&o.NilRead, "nil-read", "auto", "what an :ok read of nil means in a Jepsen history: unknown (legal in any state), absent, or auto (unknown in EDN, absent in jepsen-log)")
	return cmd
}
