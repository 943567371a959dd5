package harness

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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
// replays). Shrinking keeps the failure: a smaller case is kept only if
// its run fails with the original's signature (sameFailure). Import
// harness/rapiddefaults in the test file for a fixed rapid seed (the same
// cases on every run, no fail files).
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
	var failure sameFailure
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
		if tt.SystemImpl != nil {
			// splitbrain run cannot run a node written in Go, and RunTest's
			// seed does not draw the property's workload: rapid's seed
			// replays the whole case.
			tt.Replay, tt.replayAsIs = goTestCommand(t)+" -rapid.seed=N  # N: the seed rapid prints with the failure", true
		}
		tt.Defaults()
		s := nemesis.ScheduleGen(nemesis.GenOptions{Duration: dur, FinalHeal: tt.FinalHeal(), Nodes: tt.Nodes}).Draw(rt, "schedule")
		tt.Schedule = &s
		out, err := Run(context.Background(), tt)
		if err != nil {
			failure.check(rt, "run-error", "run: %v", err)
			return
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
			failure.check(rt, propertySignature(r), "verdict %s\n%s\nschedule:\n%s\nreplay: %s", r.Valid, Summary(r, &out.Test, false), indentLines(s.String()), replay)
		}
	})
}

// propertySignature is how a run failed a property that demands VALID:
// its Signature when INVALID, and when UNKNOWN "unknown/" with what left
// it undecided.
func propertySignature(r *Results) string {
	if r.Valid == model.Invalid {
		return r.Signature()
	}
	var why []string
	for _, c := range []struct {
		undecided bool
		name      string
	}{
		{r.Incomplete != "", "incomplete"},
		{r.CheckTimedOut != "", "check-timeout"},
		{r.Linearizability.Valid == model.Unknown, "linearizability"},
		{r.Invariants.Valid == model.Unknown, "invariants"},
		{r.Liveness.Valid == model.Unknown, "liveness"},
	} {
		if c.undecided {
			why = append(why, c.name)
		}
	}
	return "unknown/" + strings.Join(why, "+")
}

// sameFailure keeps a property failing one way while rapid shrinks it.
//
// rapid keeps a smaller case only if it fails from the same call site as
// the original (shrink.go, accept: it compares tracebacks, not messages),
// so a property that reports every failure from one Fatalf lets
// shrinking trade the failure it found for another: a lost write whose
// schedule still fails without the kill that caused it, by liveness,
// would shrink to the liveness failure. sameFailure fails the property
// only with the signature of its first failure; a case that fails another
// way passes, and rapid rejects it as a shrink. Signatures come from an
// open set (anomaly kinds, invariant names of any system), so they are
// compared as values rather than each given a call site of its own.
type sameFailure struct {
	want string // the signature of the first failure; "" before it
}

// check fails rt with the message if sig is the property's failure (the
// first one seen); an empty sig, or another failure, passes.
func (f *sameFailure) check(rt *rapid.T, sig string, format string, args ...any) {
	if sig == "" {
		return
	}
	if f.want == "" {
		f.want = sig
	}
	if sig != f.want {
		rt.Logf("fails as %s, not as %s: not the failure being shrunk", sig, f.want)
		return
	}
	rt.Fatalf("fails as %s: "+format, append([]any{sig}, args...)...)
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
