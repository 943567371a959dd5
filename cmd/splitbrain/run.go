package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/splitbrain/splitbrain/harness"
	"github.com/splitbrain/splitbrain/harness/raftkv"
	"github.com/splitbrain/splitbrain/harness/sim"
	"github.com/splitbrain/splitbrain/model"
	"github.com/splitbrain/splitbrain/nemesis"
	"github.com/splitbrain/splitbrain/workloads"
)

func newRunCmd() *cobra.Command {
	var t harness.Test
	var dur, opTimeout, liveness, checkTimeout time.Duration
	var nem, bugs, skipInv []string
	var mix, schedule string
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run a test: workload + faults + checker",
		Long: `Run the register workload against a raft cluster under a fault schedule, record
the history, check it, and write the run directory:
  <results>/<name>/<UTC time>/  test.json history.jsonl results.json schedule.txt repro
                                 linearizability.html (when invalid) latency.png rate.png
                                 timeline.html logs/
and point <results>/latest at it.

The schedule is generated from the seed (swarm-style: each seed picks a random
subset of the --nemesis families and random parameters; the last phase heals
everything and checks liveness), or replayed from --schedule FILE.

Fault vocabulary (families for --nemesis, lines for --schedule files):

` + nemesis.Help() + `
In process mode (--mode process): kill is SIGKILL (the page cache survives); wipe
deletes the node's data directory (the node is then replaced under a new ID); pause
is SIGSTOP; clock skew changes the node's tick rate; partitions (one-way included)
and packet loss are nftables rules in a table owned by the run; delay, jitter,
duplication and reordering are done by the nodes' transport (this kernel has no
netem). lose-unsynced and torn-write need a filesystem layer that can drop unsynced
writes: they are sim-only, and process mode records them as unsupported. Network
faults need root (CAP_NET_ADMIN), or pass --no-net-faults. "splitbrain clean"
removes what a killed run left behind.

Known-bug canaries for --bug (off by default; each re-creates a real bug class):
` + bugHelp(),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			t.Duration = harness.Duration(dur)
			t.Workload.Timeout = opTimeout
			t.LivenessBound = harness.Duration(liveness)
			t.CheckTimeout = harness.Duration(checkTimeout)
			t.Nemesis = expandAll(splitList(nem))
			t.Bugs = splitList(bugs)
			t.SkipInvariants = splitList(skipInv)
			if mix != "" {
				m, err := workloads.ParseMix(mix)
				if err != nil {
					return usageErr(fmt.Errorf("--mix %w", err))
				}
				t.Workload.Mix = m
			}
			if schedule != "" {
				s, err := readSchedule(schedule)
				if err != nil {
					return usageErr(err)
				}
				t.Schedule, t.ScheduleFile = &s, schedule
				if !cmd.Flags().Changed("nemesis") {
					t.Nemesis = nil
				}
			}
			t.Command = "splitbrain " + strings.Join(os.Args[1:], " ")
			out, err := harness.Run(cmd.Context(), t)
			if err != nil {
				return classify(err)
			}
			fmt.Print(harness.Summary(out.Results, &out.Test, isTerminal(os.Stdout)))
			if out.Results.ScriptError != "" && out.Results.Valid != model.Invalid {
				// A broken script is bad input: exit 2 (the history was
				// still checked and kept).
				return usageErr(fmt.Errorf("scenario: %s", out.Results.ScriptError))
			}
			if code := harness.ExitCode(out.Results.Valid); code != 0 {
				return &exitError{code: code}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&t.Mode, "mode", "sim", "world: sim (deterministic simulation) or process (real node processes; needs root for network faults)")
	f.BoolVar(&t.NoNetFaults, "no-net-faults", false, "process mode without root: no partitions or packet loss (nftables needs CAP_NET_ADMIN)")
	f.StringVar(&t.Name, "name", "register", "test name (the results subdirectory)")
	f.IntVar(&t.Nodes, "nodes", 5, "cluster size")
	f.DurationVar(&dur, "time", 60*time.Second, "test length (virtual time in the sim)")
	f.Uint64Var(&t.Seed, "seed", 0, "seed of the run (0: pick one and print it)")
	f.IntVar(&t.Workload.Clients, "clients", workloads.DefaultClients, "concurrent client workers")
	f.Float64Var(&t.Workload.Rate, "rate", 200, "target operations per second over all clients")
	f.IntVar(&t.Workload.Keys, "keys", 8, "active register keys")
	f.IntVar(&t.Workload.OpsPerKey, "ops-per-key", 200, "operations before a key is retired for a fresh one")
	f.StringVar(&mix, "mix", "", "read/write/cas/delete weights (default "+workloads.DefaultMix.String()+"; read/write/cas: no deletes)")
	f.DurationVar(&opTimeout, "op-timeout", 5*time.Second, "per-operation client timeout (an operation timing out is recorded as info)")
	f.StringSliceVar(&nem, "nemesis", nil, "fault families for the generated schedule, comma-separated: "+strings.Join(nemesis.Families(), ",")+", all, or partition:<shape> (default all)")
	f.StringVar(&schedule, "schedule", "", "replay this schedule file instead of generating one")
	f.StringVar(&t.Scenario, "scenario", "", "drive the faults with this Lua scenario instead of a schedule")
	f.StringSliceVar(&bugs, "bug", nil, "enable a known-bug canary in the reference node (repeatable)")
	f.StringSliceVar(&skipInv, "skip-invariant", nil, "sim: do not enforce this raft invariant (repeatable; e.g. the mechanism checks "+strings.Join(sim.MechanismInvariants, ", ")+", to see what the consequence checks alone catch)")
	f.StringVar(&t.Results, "results", "results", "results directory")
	f.Uint64Var(&t.SnapshotEvery, "snapshot-every", 100, "nodes snapshot every N applied entries")
	f.Uint64Var(&t.CompactKeep, "compact-keep", 20, "entries kept behind a snapshot")
	f.DurationVar(&liveness, "liveness-bound", 10*time.Second, "after the final heal, ok reads and writes must resume within this")
	f.DurationVar(&checkTimeout, "check-timeout", 0, "bound on the linearizability check (0: none; on timeout the verdict is unknown)")
	return cmd
}

func splitList(xs []string) []string {
	var out []string
	for _, x := range xs {
		for _, y := range strings.Split(x, ",") {
			if y = strings.TrimSpace(y); y != "" {
				out = append(out, y)
			}
		}
	}
	return out
}

func readSchedule(path string) (nemesis.Schedule, error) {
	f, err := os.Open(path)
	if err != nil {
		return nemesis.Schedule{}, err
	}
	defer f.Close()
	return nemesis.Parse(f, path)
}

func bugHelp() string {
	var b strings.Builder
	for _, bug := range raftkv.AllBugs {
		fmt.Fprintf(&b, "  %s\n", bug)
	}
	return b.String()
}

// expandAll turns "all" into every fault family.
func expandAll(kinds []string) []string {
	var out []string
	for _, k := range kinds {
		if k == "all" {
			out = append(out, nemesis.Families()...)
		} else {
			out = append(out, k)
		}
	}
	return out
}
