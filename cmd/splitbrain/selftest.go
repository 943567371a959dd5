package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/splitbrain/splitbrain/harness/campaign"
	"github.com/splitbrain/splitbrain/harness/raftkv"
	"github.com/splitbrain/splitbrain/harness/selftest"
	"github.com/splitbrain/splitbrain/harness/sim"
)

func init() { commands = append(commands, newSelftestCmd) }

func newSelftestCmd() *cobra.Command {
	var (
		o        selftest.Options
		canaries []string
		quiet    bool
		defaults bool
		workers  int
		goal     bool
	)
	cmd := &cobra.Command{
		Use:   "selftest",
		Short: "Prove the harness catches every known-bug canary, and counts false positives",
		Long: `For each known-bug canary of the reference node, selftest runs generated fault
schedules (sim; seeds 1, 2, …; the generator restricted to the fault families the
canary's doc names) until the harness reports the bug, then shrinks the failing
schedule by deleting events while it still fails the same way (the same check and
anomaly: linearizability/stale-read, invariant/election-safety, liveness). It
searches each canary a second time with the consequence checks alone, skipping
the mechanism invariants that watch a node's defect rather than its effect
(` + strings.Join(sim.MechanismInvariants, ", ") + `): linearizability, liveness and the
invariants that watch outcomes (election-safety and the like) remain. Process
mode, where no invariant can be watched, has the first two; a consequence caught
by an invariant is one only the sim sees.

It prints a table — canary, detected, seeds tried, simulated time, shrunk
schedule length, the checks that caught it; the same for the consequence checks
alone; wall time — and the shrunk schedules, then runs clean seeds without any
bug and counts false positives. The last line reads

  selftest: D/T canaries detected (C by the consequence checks alone) in up to S seeds each, F false positives in N clean runs

Budgets are seeds and runs, never wall time: the same command prints the same
table on any machine, apart from the wall column and the wall line. Exit 0 only
if every canary is detected (with every check) and there are no false positives.

--defaults measures bug-finding power with the defaults a user gets instead: for
each canary it runs exactly "splitbrain campaign --seeds N --bug CANARY" (child
processes, default fault mix, no per-canary parameter) and prints per canary the
seeds that detected it out of N, the runs without a verdict, the median simulated
time to detection (the failing run's first anomaly; the end of the test for
liveness) and the checks that caught it. With --goal it exits 1 unless every
canary is detected in at least 75% of the seeds and the read-path canaries
(leader-unverified-reads, lease-reads, read-before-apply, definite-on-unknown) in
at least 90% (15/20 and 18/20 with --seeds 20); without, it exits 0 (3 if
interrupted).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := cmd.Flags()
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
			var progress io.Writer
			if !quiet {
				progress = os.Stderr
			}
			if o.Seeds < 0 {
				return usageErr(fmt.Errorf("--seeds %d: want a positive number", o.Seeds))
			}
			if defaults {
				for _, name := range []string{"shrink-runs", "clean-seeds", "time"} {
					if f.Changed(name) {
						return usageErr(fmt.Errorf("--%s does not go with --defaults: the defaults mode runs what a campaign runs, with no parameter of its own", name))
					}
				}
				if workers < 0 {
					return usageErr(fmt.Errorf("--workers %d: want at least 1", workers))
				}
				return selftestDefaults(cmd, selftest.DefaultsOptions{Seeds: o.Seeds, Canaries: o.Canaries, Workers: workers,
					Results: o.Results, Keep: o.Results != "", Progress: progress}, goal)
			}
			for _, name := range []string{"workers", "goal"} {
				if f.Changed(name) {
					return usageErr(fmt.Errorf("--%s goes with --defaults only", name))
				}
			}
			if o.CleanSeeds < 0 || o.ShrinkRuns < 0 {
				return usageErr(fmt.Errorf("--clean-seeds and --shrink-runs must not be negative"))
			}
			if o.Duration < 0 {
				return usageErr(fmt.Errorf("--time %v: want a positive duration", o.Duration))
			}
			o.Progress = progress
			rep, err := selftest.Run(cmd.Context(), o)
			if err != nil {
				return classify(err)
			}
			fmt.Print(rep.Table())
			for _, row := range rep.Rows {
				if row.Detected {
					fmt.Printf("\n# %s: seed %d, %d events (from %d, %d shrinking runs), failing as %s; replay: save as FILE, then\n#   %s\n%s",
						row.Canary, row.Seed, row.Shrunk, row.Original, row.ShrinkRuns, row.Signature, row.ShrunkRepro, indentLines(row.Schedule))
				}
				if c := row.Consequences; c.Detected {
					fmt.Printf("# %s, consequence checks alone: seed %d, %s\n#   %s\n", row.Canary, c.Seed, c.Signature, c.Repro)
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
	f.IntVar(&o.Seeds, "seeds", 0, fmt.Sprintf("seeds each search of a canary may try (default %d; with --defaults: seeds per canary, default %d as for campaign)",
		selftest.DefaultSeeds, campaign.DefaultParams().Seeds))
	f.IntVar(&o.ShrinkRuns, "shrink-runs", selftest.DefaultShrinkRuns, "runs that shrinking each failing schedule may spend")
	f.IntVar(&o.CleanSeeds, "clean-seeds", selftest.DefaultCleanSeeds, "bug-free runs (all fault families) to count false positives")
	f.DurationVar(&o.Duration, "time", selftest.DefaultDuration, "length of each run (virtual)")
	f.StringSliceVar(&canaries, "canary", nil, "test only these canaries (default all)")
	f.StringVar(&o.Results, "results", "", "keep the runs here (default: a temporary directory, removed)")
	f.BoolVar(&quiet, "quiet", false, "no progress lines")
	f.BoolVar(&defaults, "defaults", false, "measure each canary with the defaults a user gets: splitbrain campaign --seeds N --bug CANARY")
	f.IntVar(&workers, "workers", 0, "with --defaults: runs at a time (default: the campaign's, one per CPU)")
	f.BoolVar(&goal, "goal", false, "with --defaults: exit 1 unless the detection goals are met")
	return cmd
}

// selftestDefaults is selftest --defaults.
func selftestDefaults(cmd *cobra.Command, o selftest.DefaultsOptions, goal bool) error {
	rep, err := selftest.RunDefaults(cmd.Context(), o)
	if err != nil {
		return classify(err)
	}
	fmt.Print(rep.Table())
	fmt.Println()
	fmt.Println(rep.Summary())
	if goal {
		if unmet := selftest.DefaultsGoal.Unmet(rep); len(unmet) > 0 {
			fmt.Printf("goal not met:\n  %s\n", strings.Join(unmet, "\n  "))
			return &exitError{code: 1}
		}
		fmt.Println("goal met")
	}
	if rep.Interrupted {
		return &exitError{code: 3}
	}
	return nil
}

func indentLines(s string) string {
	if strings.TrimSpace(s) == "" {
		return "  (no events: it fails without any fault)\n"
	}
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		b.WriteString("  " + l + "\n")
	}
	return b.String()
}
