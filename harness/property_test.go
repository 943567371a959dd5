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

// TestPropertyLinearizableUnderAnyFaults is the harness's central
// property: the reference node stays linearizable, live and safe (raft
// invariants) under any generated fault schedule and workload. The
// schedule and the workload are drawn inside the test, so rapid shrinks a
// failure to a minimal schedule, which is printed as a splitbrain run
// command. RAPID_CHECKS raises the number of cases (CI default: 30).
func TestPropertyLinearizableUnderAnyFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the property runs whole tests")
	}
	modestChecks(30)
	dir := t.TempDir()
	rapid.Check(t, func(rt *rapid.T) {
		dur := time.Duration(rapid.IntRange(10, 30).Draw(rt, "seconds")) * time.Second
		tt := Test{
			Seed:          rapid.Uint64Range(1, 1<<40).Draw(rt, "seed"),
			Nodes:         rapid.SampledFrom([]int{3, 5}).Draw(rt, "nodes"),
			Duration:      Duration(dur),
			LivenessBound: Duration(5 * time.Second),
			Results:       dir,
			Quick:         true,
			Workload: workloads.RegisterOptions{
				Clients: rapid.IntRange(1, 20).Draw(rt, "clients"),
				Keys:    rapid.IntRange(1, 8).Draw(rt, "keys"),
				Rate:    float64(rapid.IntRange(20, 400).Draw(rt, "rate")),
				Timeout: time.Duration(rapid.IntRange(1, 5).Draw(rt, "timeout_s")) * time.Second,
			},
		}
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
			rt.Fatalf("verdict %s\n%s\nreplay: splitbrain run --seed %d --time %v --nodes %d --clients %d --keys %d --rate %g --op-timeout %v --liveness-bound 5s --schedule %s",
				r.Valid, Summary(r, &out.Test, false), tt.Seed, dur, tt.Nodes, tt.Workload.Clients, tt.Workload.Keys, tt.Workload.Rate, tt.Workload.Timeout, file)
		}
	})
}

// modestChecks sets rapid's number of checks to n unless the user chose
// one (RAPID_CHECKS or -rapid.checks): whole-test properties are costly,
// so CI runs a modest count and nightly runs raise it.
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
