package tutorial_test

import (
	"os"
	"testing"
	"time"

	"github.com/splitbrain/splitbrain/harness"
	"github.com/splitbrain/splitbrain/harness/examples/tutorial"
	"github.com/splitbrain/splitbrain/harness/proc/node"
	"github.com/splitbrain/splitbrain/model"
)

// TestMain makes this test binary a node binary too: the process world
// starts its nodes from this executable with `node …`, and ServeIfNode
// serves the tutorial node then (with the flaws in $TUTORIAL_FLAWS, which
// the node processes inherit), instead of running the tests.
func TestMain(m *testing.M) {
	flaws, err := flawsFromEnv(os.Getenv("TUTORIAL_FLAWS"))
	if err != nil {
		panic(err)
	}
	node.ServeIfNode(tutorial.System(flaws...))
	os.Exit(m.Run())
}

// TestProcess: the same tutorial node, served by node.ServeIfNode, runs
// as real processes — TCP between them, a durable store each, nftables
// partitions, SIGKILL — and the corrected node is valid; with local
// reads it is not. Needs root (nftables).
func TestProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: process-mode runs start real node processes")
	}
	if os.Geteuid() != 0 {
		t.Skip("process mode needs root for nftables (CAP_NET_ADMIN); run as root (CI does)")
	}
	for _, c := range []struct {
		name, flaws string
		want        model.Validity
	}{{"corrected", "", model.Valid}, {"local-reads", "local-reads", model.Invalid}} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("TUTORIAL_FLAWS", c.flaws)
			flaws, _ := flawsFromEnv(c.flaws)
			test := harness.Test{Mode: "process", Seed: 1, Duration: harness.Duration(30 * time.Second),
				LivenessBound: harness.Duration(5 * time.Second), SystemImpl: tutorial.System(flaws...), Results: t.TempDir()}
			if c.want == model.Valid {
				out := harness.RunTest(t, test)
				t.Logf("\n%s", harness.Summary(out.Results, &out.Test, false))
				return
			}
			t.Setenv(harness.EnvShrinkRuns, "0") // shrinking real-time runs is slow; the failure is what is tested
			f := &failures{TB: t}
			out := harness.RunTest(f, test)
			if len(f.msgs) != 1 || out.Results.Valid != c.want {
				t.Fatalf("%d failures, verdict %s, want %s: %q", len(f.msgs), out.Results.Valid, c.want, f.msgs)
			}
			t.Log(f.msgs[0])
		})
	}
}
