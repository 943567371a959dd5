package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/splitbrain/splitbrain/harness/raftkv"
	"github.com/splitbrain/splitbrain/harness/selftest"
)

func init() { commands = append(commands, newSelftestCmd) }

func newSelftestCmd() *cobra.Command {
	var o selftest.Options
	var canaries []string
	var quiet bool
	cmd := &cobra.Command{
		Use:   "selftest",
		Short: "Prove the harness catches every known-bug canary, and counts false positives",
		Long: `For each known-bug canary of the reference node, selftest runs generated fault
schedules (seeded, sim; the generator restricted to the fault families the canary's
doc names) until the harness reports the bug, then shrinks the failing schedule by
deleting events while it still fails. It prints a table — canary, detected, seeds
tried, simulated time, wall time, shrunk schedule length, the check that caught it —
and the shrunk schedules, then runs clean seeds without any bug and counts false
positives. The last line reads

  selftest: D/T canaries detected, F false positives in N clean runs

Exit 0 only if every canary is detected and there are no false positives.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, c := range splitList(canaries) {
				bs, err := raftkv.ParseBugs(c)
				if err != nil {
					return usageErr(err)
				}
				for _, b := range raftkv.AllBugs {
					if bs.Has(b) {
						o.Canaries = append(o.Canaries, b)
					}
				}
			}
			if o.CleanSeeds < 0 {
				return usageErr(fmt.Errorf("--clean-seeds must not be negative"))
			}
			if !quiet {
				o.Progress = os.Stderr
			}
			rep, err := selftest.Run(cmd.Context(), o)
			if err != nil {
				return usageErr(err)
			}
			fmt.Print(rep.Table())
			for _, row := range rep.Rows {
				if row.Detected {
					fmt.Printf("\n# %s: seed %d, %d events (from %d, %d shrinking runs); replay: save as FILE, then\n#   %s\n%s",
						row.Canary, row.Seed, row.Shrunk, row.Original, row.ShrinkRuns, row.Repro, indentLines(row.Schedule))
				}
			}
			fmt.Println()
			fmt.Println(rep.Summary())
			if !rep.OK() {
				return &exitError{code: 1}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.DurationVar(&o.Budget, "budget", 30*time.Second, "wall time each canary may take to be detected")
	f.DurationVar(&o.ShrinkBudget, "shrink-budget", 20*time.Second, "wall time for shrinking each failing schedule")
	f.IntVar(&o.CleanSeeds, "clean-seeds", 20, "bug-free runs (all fault families) to count false positives")
	f.DurationVar(&o.Duration, "time", 20*time.Second, "length of each run (virtual)")
	f.StringSliceVar(&canaries, "canary", nil, "test only these canaries (default all)")
	f.StringVar(&o.Results, "results", "", "keep the runs here (default: a temporary directory, removed)")
	f.BoolVar(&quiet, "quiet", false, "no progress lines")
	return cmd
}

func indentLines(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		b.WriteString("  " + l + "\n")
	}
	return b.String()
}
