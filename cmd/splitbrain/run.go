package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
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
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run a test: workload + faults + checker",
		Long: `Run the register workload against a raft cluster under a fault schedule, record
the history, check it, and write the run directory:
  <results>/<name>/<UTC time>/  test.json history.jsonl results.json schedule.txt repro
                                 linearizability.html (when invalid) latency.png rate.png
                                 timeline.html logs/
and point <results>/latest at it. On a terminal a status line shows the run as it
goes (test time, operations so far, faults in effect, then the check).

SIGINT or SIGTERM stops the test early: what was recorded is checked, but the
verdict is at best unknown (exit 3) and says the run was interrupted; a second
signal ends the process at once. Limits: at most ` + harness.MaxDuration.String() + ` of test time and
` + fmt.Sprint(harness.MaxOps) + ` planned operations (rate × time) a run: memory stays bounded, but the history
takes about 250 bytes of disk an operation.

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
			if err := f.build(cmd, &t); err != nil {
				return usageErr(err)
			}
			t.Command = "splitbrain " + strings.Join(os.Args[1:], " ")
			if isTerminal(os.Stdout) && isTerminal(os.Stderr) {
				// A live status line while the test runs; nothing extra
				// when the output goes to a file or a pipe.
				t.Progress = os.Stderr
			}
			// The first SIGINT/SIGTERM stops the test and checks what was
			// recorded (at best unknown); a second one ends the process at
			// once (what a killed run leaves, check and clean handle).
			defer context.AfterFunc(cmd.Context(), func() {
				signal.Reset(os.Interrupt, syscall.SIGTERM)
				fmt.Fprintln(os.Stderr, "splitbrain: interrupted: stopping the test and checking what was recorded (interrupt again to quit at once)")
			})()
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
	f.define(cmd, &t)
	return cmd
}

// runFlags are the flags of run that do not map one to one onto a field
// of harness.Test.
type runFlags struct {
	dur, opTimeout, liveness, checkTimeout, converge time.Duration
	nem, bugs, skipInv                               []string
	mix, schedule                                    string
}

// define declares run's flags, writing into t and f.
func (f *runFlags) define(cmd *cobra.Command, t *harness.Test) {
	fs := cmd.Flags()
	fs.StringVar(&t.Mode, "mode", "sim", "world: sim (deterministic simulation) or process (real node processes; needs root for network faults); process by default for --system other than raftkv")
	fs.StringVar(&t.System, "system", "raftkv", "system under test: raftkv (the reference node), etcd (newest release, built from its Go module once), etcd@vX.Y.Z, etcd@debian (Debian's etcd-server), or a system file (TOML) describing any binary that speaks the KV protocol")
	fs.StringVar(&t.ReadConsistency, "read-consistency", "linearizable", "reads the clients ask for: linearizable, or serializable (etcd; stale reads then show up as anomalies)")
	fs.DurationVar(&f.converge, "converge-bound", 30*time.Second, "after the last operations every member must report the same state (GET /hash) within this")
	fs.BoolVar(&t.ArtefactsOnFailure, "artefacts-on-failure", false, "draw the plots and the timeline only if the verdict is not valid (campaigns pass it)")
	fs.BoolVar(&t.NoNetFaults, "no-net-faults", false, "process mode without root: no partitions or packet loss (nftables needs CAP_NET_ADMIN)")
	fs.StringVar(&t.Name, "name", "register", "test name (the results subdirectory)")
	fs.IntVar(&t.Nodes, "nodes", 5, "cluster size (1 to 99)")
	fs.DurationVar(&f.dur, "time", 60*time.Second, fmt.Sprintf("test length (virtual time in the sim; at most %v)", harness.MaxDuration))
	fs.Uint64Var(&t.Seed, "seed", 0, "seed of the run (0: pick one and print it)")
	fs.IntVar(&t.Workload.Clients, "clients", workloads.DefaultClients, fmt.Sprintf("concurrent client workers (1 to %d)", harness.MaxClients))
	fs.Float64Var(&t.Workload.Rate, "rate", 200, fmt.Sprintf("target operations per second over all clients (rate × time at most %d operations)", harness.MaxOps))
	fs.IntVar(&t.Workload.Keys, "keys", 8, fmt.Sprintf("active register keys (1 to %d)", harness.MaxKeys))
	fs.IntVar(&t.Workload.OpsPerKey, "ops-per-key", 200, "operations before a key is retired for a fresh one")
	fs.StringVar(&f.mix, "mix", "", "read/write/cas/delete weights (default "+workloads.DefaultMix.String()+"; read/write/cas: no deletes)")
	fs.DurationVar(&f.opTimeout, "op-timeout", 5*time.Second, "per-operation client timeout (an operation timing out is recorded as info)")
	fs.StringSliceVar(&f.nem, "nemesis", nil, "fault families for the generated schedule, comma-separated: "+strings.Join(nemesis.Families(), ",")+", all, or partition:<shape> (default all)")
	fs.StringVar(&f.schedule, "schedule", "", "replay this schedule file instead of generating one")
	fs.StringVar(&t.Scenario, "scenario", "", "drive the faults with this Lua scenario instead of a schedule")
	fs.StringSliceVar(&f.bugs, "bug", nil, "enable a known-bug canary in the reference node (repeatable)")
	fs.StringSliceVar(&f.skipInv, "skip-invariant", nil, "sim: do not enforce this raft invariant (repeatable; e.g. the mechanism checks "+strings.Join(sim.MechanismInvariants, ", ")+", to see what the consequence checks alone catch)")
	fs.StringVar(&t.Results, "results", "results", "results directory")
	fs.Uint64Var(&t.SnapshotEvery, "snapshot-every", 100, "nodes snapshot every N applied entries")
	fs.Uint64Var(&t.CompactKeep, "compact-keep", 20, "entries kept behind a snapshot")
	fs.DurationVar(&f.liveness, "liveness-bound", 10*time.Second, "after the final heal, ok reads and writes must resume within this")
	fs.DurationVar(&f.checkTimeout, "check-timeout", 0, "wall-clock bound on the whole check after the run (0: none); past it the verdict is unknown (\"check timed out\") unless already invalid, and plots not yet drawn are skipped")
}

// zeroMeansDefault are the flags whose zero value the library reads as
// "the default": given explicitly on the command line, 0 is refused rather
// than silently replaced.
var zeroMeansDefault = []string{"nodes", "time", "clients", "rate", "keys", "ops-per-key", "op-timeout",
	"snapshot-every", "compact-keep", "liveness-bound", "converge-bound"}

// build fills t from the parsed flags. Errors are usage errors naming the
// flag and the value.
func (f *runFlags) build(cmd *cobra.Command, t *harness.Test) error {
	fs := cmd.Flags()
	for _, name := range zeroMeansDefault {
		if fl := fs.Lookup(name); fl != nil && fl.Changed && isZero(fl.Value.String()) {
			return fmt.Errorf("--%s %s: must be positive (leave the flag out for the default, %s)", name, fl.Value.String(), fl.DefValue)
		}
	}
	if t.Scenario != "" && f.schedule != "" {
		return fmt.Errorf("--scenario %s and --schedule %s: both drive the faults; give one of them", t.Scenario, f.schedule)
	}
	t.Duration = harness.Duration(f.dur)
	t.Workload.Timeout = f.opTimeout
	t.LivenessBound = harness.Duration(f.liveness)
	t.ConvergeBound = harness.Duration(f.converge)
	if !fs.Changed("mode") {
		t.Mode = "" // the system decides: sim for the reference node, else process
	}
	t.CheckTimeout = harness.Duration(f.checkTimeout)
	t.Nemesis = expandAll(splitList(f.nem))
	t.Bugs = splitList(f.bugs)
	t.SkipInvariants = splitList(f.skipInv)
	if f.mix != "" {
		m, err := workloads.ParseMix(f.mix)
		if err != nil {
			return fmt.Errorf("--mix %w", err)
		}
		t.Workload.Mix = m
	}
	if f.schedule != "" {
		s, err := readSchedule(f.schedule, nemesis.Cluster{Nodes: t.Nodes, End: f.dur})
		if err != nil {
			return err
		}
		t.Schedule, t.ScheduleFile = &s, f.schedule
		if !fs.Changed("nemesis") {
			t.Nemesis = nil
		}
	}
	return nil
}

// isZero reports whether a flag's printed value is zero ("0", "0s").
func isZero(v string) bool {
	if d, err := time.ParseDuration(v); err == nil {
		return d == 0
	}
	n, err := strconv.ParseFloat(v, 64)
	return err == nil && n == 0
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

// readSchedule reads a schedule file and checks it against the cluster
// the run will have: errors name file:line.
func readSchedule(path string, c nemesis.Cluster) (nemesis.Schedule, error) {
	f, err := os.Open(path)
	if err != nil {
		return nemesis.Schedule{}, err
	}
	defer f.Close()
	return nemesis.ParseFor(f, path, c)
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
