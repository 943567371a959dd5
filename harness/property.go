package harness

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/splitbrain/splitbrain/model"
	"github.com/splitbrain/splitbrain/nemesis"
	"github.com/splitbrain/splitbrain/workloads"
	"pgregory.net/rapid"
)

// PropertyChecks is how many cases CheckProperty runs unless the person
// running the tests chose (RAPID_CHECKS or -rapid.checks): whole-test
// properties are costly, so CI runs a modest count and nightly runs raise
// it.
const PropertyChecks = 30

// CheckProperty checks splitbrain's central property with rapid: under
// any generated fault schedule and workload, the cluster stays
// linearizable, live and safe (raft invariants). rapid draws the seed,
// the cluster size (3 or 5), the test's length (10–30s), the workload
// (clients, keys, rate, timeout) and the fault schedule (every family);
// template gives the rest — SystemImpl for a node of your own, nothing for
// the reference node:
//
//	func TestMyNodeProperty(t *testing.T) {
//		harness.CheckProperty(t, harness.Test{SystemImpl: mynode.System()})
//	}
//
// It demands VALID of every schedule: the nemesis carries out only what a
// correct cluster survives (package nemesis, "Schedules a correct cluster
// cannot survive"). Because everything is drawn inside the property, rapid
// shrinks a failure to a small schedule and workload, and the failure
// prints the run's summary and the shrunk schedule (saved to a file that
// `splitbrain run --schedule`, or RunTest with $SPLITBRAIN_SCHEDULE,
// replays). Import harness/rapiddefaults in the test file for a fixed
// rapid seed (the same cases on every run, no fail files).
func CheckProperty(t testing.TB, template Test) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: the property runs whole tests")
	}
	modestChecks(PropertyChecks)
	dir := template.Results
	if dir == "" {
		dir = t.TempDir()
	}
	rapid.Check(t, func(rt *rapid.T) {
		dur := time.Duration(rapid.IntRange(10, 30).Draw(rt, "seconds")) * time.Second
		tt := template
		tt.Seed = rapid.Uint64Range(1, 1<<40).Draw(rt, "seed")
		tt.Nodes = rapid.SampledFrom([]int{3, 5}).Draw(rt, "nodes")
		tt.Duration = Duration(dur)
		tt.LivenessBound = Duration(5 * time.Second)
		tt.Results, tt.Quick = dir, true
		tt.Workload = workloads.RegisterOptions{
			Clients: rapid.IntRange(1, 20).Draw(rt, "clients"),
			Keys:    rapid.IntRange(1, 8).Draw(rt, "keys"),
			Rate:    float64(rapid.IntRange(20, 400).Draw(rt, "rate")),
			Timeout: time.Duration(rapid.IntRange(1, 5).Draw(rt, "timeout_s")) * time.Second,
		}
		tt.Nemesis, tt.Scenario = nil, ""
		tt.Defaults()
		s := nemesis.ScheduleGen(nemesis.GenOptions{Duration: dur, FinalHeal: tt.FinalHeal(), Nodes: tt.Nodes}).Draw(rt, "schedule")
		tt.Schedule = &s
		out, err := Run(context.Background(), tt)
		if err != nil {
			rt.Fatalf("run: %v", err)
		}
		if r := out.Results; r.Valid != model.Valid {
			file := filepath.Join(os.TempDir(), fmt.Sprintf("splitbrain-shrunk-%d.txt", tt.Seed))
			os.WriteFile(file, []byte(s.String()), 0o644)
			replay := fmt.Sprintf("splitbrain run --seed %d --time %v --nodes %d --clients %d --keys %d --rate %g --op-timeout %v --liveness-bound 5s --schedule %s",
				tt.Seed, dur, tt.Nodes, tt.Workload.Clients, tt.Workload.Keys, tt.Workload.Rate, tt.Workload.Timeout, file)
			if tt.SystemImpl != nil {
				replay = fmt.Sprintf("harness.RunTest with Seed %d, Nodes %d, Duration %v, LivenessBound 5s, Workload %+v, and %s=%s",
					tt.Seed, tt.Nodes, dur, tt.Workload, EnvSchedule, file)
			}
			rt.Fatalf("verdict %s\n%s\nschedule:\n%s\nreplay: %s", r.Valid, Summary(r, &out.Test, false), indentLines(s.String()), replay)
		}
	})
}

// modestChecks sets rapid's number of checks to n unless the user chose
// one (RAPID_CHECKS or -rapid.checks).
func modestChecks(n int) {
	if os.Getenv("RAPID_CHECKS") != "" {
		return
	}
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "rapid.checks" })
	if !set {
		flag.Set("rapid.checks", fmt.Sprint(n))
	}
}
