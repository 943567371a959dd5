package tutorial_test

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/splitbrain/splitbrain/harness"
	"github.com/splitbrain/splitbrain/harness/examples/tutorial"
)

// TestTutorial is the walkthrough's test (README-own-node.md): the
// corrected tutorial node, with splitbrain's default settings, seed 1. Set
// TUTORIAL_FLAWS to a comma-separated list of flaws (or "all") to run the
// tutorial node with them, and see `go test` fail: the check that caught
// the flaw, its explanation, the shrunk schedule and the command that
// replays it.
func TestTutorial(t *testing.T) {
	flaws, err := flawsFromEnv(os.Getenv("TUTORIAL_FLAWS"))
	if err != nil {
		t.Fatal(err)
	}
	harness.RunTest(t, harness.Test{Seed: 1, SystemImpl: tutorial.System(flaws...)})
}

func flawsFromEnv(s string) ([]tutorial.Flaw, error) {
	if s == "all" {
		return tutorial.AllFlaws, nil
	}
	var out []tutorial.Flaw
	for _, name := range strings.Split(s, ",") {
		if name = strings.TrimSpace(name); name == "" {
			continue
		}
		f, err := tutorial.ParseFlaw(name)
		if err != nil {
			return nil, fmt.Errorf("TUTORIAL_FLAWS: %w", err)
		}
		out = append(out, f)
	}
	return out, nil
}

// failures stands in for the test given to harness.RunTest: it records
// the failure RunTest reports instead of failing, so that a test can
// assert that splitbrain finds a flaw.
type failures struct {
	testing.TB
	msgs []string
}

func (f *failures) Helper() {}

func (f *failures) Fatalf(format string, args ...any) {
	f.msgs = append(f.msgs, fmt.Sprintf(format, args...))
}

// TestFlawsFound: with splitbrain's default settings (nemesis, workload,
// test length) and seed 1, each flaw of the tutorial node, switched on by
// itself, fails the test through the check named, and the failure
// printed (go test -v shows it) names the check and the anomaly, the
// shrunk schedule (fewer events, failing the same way) and the command
// that replays it.
func TestFlawsFound(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: runs whole tests and shrinks them")
	}
	t.Setenv(harness.EnvShrinkRuns, "20") // CI's budget; go test users get harness.DefaultShrinkRuns
	for _, c := range []struct {
		flaw  tutorial.Flaw
		check string // the run's signature: the first check that failed
		says  string // what the explanation says
	}{
		{tutorial.AckOnPropose, "linearizability/lost-write", "anomaly:  lost-write"},
		{tutorial.LocalReads, "linearizability/stale-read", "anomaly:  stale-read"},
		{tutorial.VolatileLog, "invariant/hard-state-kept", "did not start raft from its durable state"},
		{tutorial.NoSnapshots, "invariant/state-machine-safety", "differs from"},
	} {
		t.Run(string(c.flaw), func(t *testing.T) {
			f := &failures{TB: t}
			out := harness.RunTest(f, harness.Test{Seed: 1, SystemImpl: tutorial.System(c.flaw), Results: t.TempDir()})
			if len(f.msgs) != 1 {
				t.Fatalf("%s: RunTest reported %d failures, want 1: %q", c.flaw, len(f.msgs), f.msgs)
			}
			msg := f.msgs[0]
			t.Log(msg)
			for _, want := range []string{
				"verdict INVALID",
				"failed:   " + c.check,
				"shrunk:   to ",
				"failing the same way (" + c.check + ")",
				c.says,
				"schedule:\n",
				"repro:    " + harness.EnvSeed + "=1 " + harness.EnvSchedule + "=",
				"-run '^TestFlawsFound$/^" + string(c.flaw) + "$'",
			} {
				if !strings.Contains(msg, want) {
					t.Errorf("%s: the failure lacks %q", c.flaw, want)
				}
			}
			if got := out.Results.Signature(); got != c.check {
				t.Errorf("%s: the shrunk run failed with %s, want %s", c.flaw, got, c.check)
			}
		})
	}
}

// TestCorrected: the corrected tutorial node passes with splitbrain's
// default settings, seeds 1 to $TUTORIAL_SEEDS (default 20; the
// walkthrough's claim is 200).
func TestCorrected(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: runs whole tests")
	}
	seeds := 20
	if s := os.Getenv("TUTORIAL_SEEDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("TUTORIAL_SEEDS=%q: want a positive number", s)
		}
		seeds = n
	}
	dir := t.TempDir()
	for seed := uint64(1); seed <= uint64(seeds); seed++ {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			harness.RunTest(t, harness.Test{Seed: seed, SystemImpl: tutorial.System(), Results: dir, Quick: true})
		})
	}
}
