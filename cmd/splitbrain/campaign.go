package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/splitbrain/splitbrain/harness"
	"github.com/splitbrain/splitbrain/harness/campaign"
	"github.com/splitbrain/splitbrain/harness/raftkv"
	"github.com/splitbrain/splitbrain/harness/scenario" // also installs the Lua runner for run --scenario
	"github.com/splitbrain/splitbrain/nemesis"
)

func init() {
	commands = append(commands, newCampaignCmd)
	servePages = append(servePages, campaign.ServePage)
}

func newCampaignCmd() *cobra.Command {
	def := campaign.DefaultParams()
	var (
		p         campaign.Params
		budget    time.Duration
		runTime   time.Duration
		shard     string
		sets      []string
		scenarios []string
		bugs      []string
		results   string
	)
	cmd := &cobra.Command{
		Use:   "campaign [flags] [-- run flags]",
		Short: "Run a matrix of fault mixes (or scenarios) × seeds across worker processes",
		Long: `Run many tests: every cell of the matrix — a fault mix (--nemesis) or a Lua
scenario (--scenario) — with each seed, --workers at a time, each run a child
process "splitbrain run … --results <campaign>/runs/<cell>-s<seed>" (one
simulation per process). Seeds are --first-seed, --first-seed+1, …; with
--budget the campaign starts runs until the budget is spent.

Fault mixes: sets separated by ';', the families of a set by ',':
  --nemesis 'partition;kill;partition,kill,pause'   (default ` + defaultSets(def) + `)
  families: ` + strings.Join(nemesis.Families(), ", ") + `, all, or a partition
  family narrowed to one shape: partition:one-way.

Sharding: --shard i/n runs the runs whose index in the full list is i-1
modulo n (1 ≤ i ≤ n), so n machines (a CI matrix, a Kubernetes indexed job
with --shard $((JOB_COMPLETION_INDEX+1))/n) cover the list exactly once.
"splitbrain campaign merge DIR…" merges their campaign directories.

Flags after "--" go to every run (e.g. -- --nodes 3 --rate 100).

Writes <results>/campaigns/<UTC time>/: index.json (every run: parameters,
seed, verdict, signature, directory, repro command, git stamp) and
summary.html (failures first, grouped by signature: fault families +
anomaly). Progress goes to stderr: a bar on a terminal, else a line a run.
Ctrl-C kills the runs in flight and writes what is done.

Exit code: 1 if a run failed (invalid), else 3 if a run has no verdict
(unknown, error) or the campaign was interrupted, else 0; 2 for bad flags.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			f := cmd.Flags()
			if dash := cmd.ArgsLenAtDash(); dash >= 0 {
				p.RunArgs = args[dash:]
				args = args[:dash]
			}
			if len(args) > 0 {
				return usageErr(fmt.Errorf("campaign: unexpected arguments %q (run flags go after --)", args))
			}
			if len(p.RunArgs) > 0 {
				probe := newRunCmd()
				probe.SetArgs(nil)
				if err := probe.ParseFlags(p.RunArgs); err != nil {
					return usageErr(fmt.Errorf("campaign: run flags after --: %w", err))
				}
				if rest := probe.Flags().Args(); len(rest) > 0 {
					return usageErr(fmt.Errorf("campaign: run flags after --: unexpected arguments %q", rest))
				}
			}
			p.Budget, p.Time = harness.Duration(budget), harness.Duration(runTime)
			if runTime < 0 {
				return usageErr(fmt.Errorf("--time %v: want a positive duration", runTime))
			}
			if budget > 0 && !f.Changed("seeds") {
				p.Seeds = 0
			}
			if shard != "" {
				s, err := campaign.ParseShard(shard)
				if err != nil {
					return usageErr(err)
				}
				p.Shard = s
			}
			p.Bugs = splitList(bugs)
			if p.System == "raftkv" {
				p.System = ""
			}
			if p.System != "" && !f.Changed("mode") {
				p.Mode = "process" // systems other than the reference node run as processes
			}
			if _, err := raftkv.ParseBugs(strings.Join(p.Bugs, ",")); err != nil {
				return usageErr(fmt.Errorf("--bug: %w", err))
			}
			if len(scenarios) > 0 {
				if len(sets) > 0 {
					return usageErr(fmt.Errorf("--nemesis and --scenario are alternatives: a run follows a generated schedule or a script"))
				}
				paths, err := campaign.ExpandScenarios(scenarios)
				if err != nil {
					return usageErr(err)
				}
				for _, s := range paths {
					if err := scenario.Check(s); err != nil {
						return usageErr(err)
					}
				}
				p.Scenarios = paths
			} else if len(sets) == 0 {
				p.Nemesis = def.Nemesis
			} else {
				parsed, err := campaign.ParseSets(strings.Join(sets, ";"))
				if err != nil {
					return usageErr(err)
				}
				p.Nemesis = parsed
			}
			x, err := campaign.Run(cmd.Context(), p, campaign.Options{
				Results:  results,
				Command:  "splitbrain " + strings.Join(os.Args[1:], " "),
				Progress: os.Stderr,
				Terminal: isTerminal(os.Stderr),
			})
			if err != nil && x == nil {
				return classify(err)
			}
			fmt.Print(campaign.Text(x, isTerminal(os.Stdout)))
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			return campaignExit(x)
		},
	}
	f := cmd.Flags()
	f.IntVar(&p.Seeds, "seeds", def.Seeds, "seeds per cell (with --budget: unbounded unless given)")
	f.Uint64Var(&p.FirstSeed, "first-seed", def.FirstSeed, "the first seed (a nightly job can pass the date, e.g. 20260401000)")
	f.DurationVar(&budget, "budget", 0, "wall-clock budget: keep starting runs until it is spent (which seeds run then depends on the machine's speed; --seeds alone does not)")
	f.IntVar(&p.Workers, "workers", def.Workers, "runs at a time (worker processes)")
	f.BoolVar(&p.AllArtefacts, "all-artefacts", false, "draw every run's plots and timeline (by default only runs that do not pass draw them)")
	f.StringVar(&shard, "shard", "", "run only shard i of n of the run list (i/n, 1 ≤ i ≤ n)")
	f.StringVar(&p.Mode, "mode", def.Mode, "world of every run: sim or process (process by default with --system)")
	f.StringVar(&p.System, "system", "", "system under test of every run (see run --system): raftkv, etcd, etcd@vX.Y.Z, etcd@debian, or a system file")
	f.StringArrayVar(&sets, "nemesis", nil, "fault mixes: sets separated by ';', families by ',' (default "+defaultSets(def)+")")
	f.StringArrayVar(&scenarios, "scenario", nil, "Lua scenario files (glob patterns) to run instead of fault mixes")
	f.StringSliceVar(&bugs, "bug", nil, "enable a known-bug canary in every run (repeatable)")
	f.DurationVar(&runTime, "time", 0, "test length of every run (default: run's, 1m)")
	f.StringVar(&results, "results", "results", "results directory")
	cmd.AddCommand(newCampaignMergeCmd())
	return cmd
}

func newCampaignMergeCmd() *cobra.Command {
	var results string
	cmd := &cobra.Command{
		Use:   "merge DIR...",
		Short: "Merge the campaign directories of shards into one summary",
		Long: `Merge campaign directories that ran shards (--shard i/n) of the same matrix
into <results>/campaigns/<UTC time>-merged/ with one index.json and one
summary.html. Run directories are referenced by relative paths, so gather the
shards' directories side by side first. Exit codes as for campaign.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, dirs []string) error {
			x, err := campaign.Merge(dirs, results, "splitbrain "+strings.Join(os.Args[1:], " "))
			if err != nil {
				return classify(err)
			}
			fmt.Print(campaign.Text(x, isTerminal(os.Stdout)))
			return campaignExit(x)
		},
	}
	cmd.Flags().StringVar(&results, "results", "results", "results directory (the merged campaign goes to <results>/campaigns/)")
	return cmd
}

// campaignExit is the exit code of a finished campaign.
func campaignExit(x *campaign.Index) error {
	code := x.Totals.ExitCode()
	if code == 0 && x.Interrupted {
		code = 3
	}
	if code != 0 {
		return &exitError{code: code}
	}
	return nil
}

// defaultSets spells the default fault mixes as --nemesis takes them.
func defaultSets(p campaign.Params) string {
	sets := make([]string, len(p.Nemesis))
	for i, set := range p.Nemesis {
		sets[i] = strings.Join(set, ",")
	}
	return strings.Join(sets, ";")
}
