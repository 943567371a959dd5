package tutorial_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/splitbrain/splitbrain/harness"
	"github.com/splitbrain/splitbrain/harness/examples/tutorial"
	_ "github.com/splitbrain/splitbrain/harness/rapiddefaults" // the property's cases are the same on every run
	"github.com/splitbrain/splitbrain/nemesis"
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
		{tutorial.VolatileLog, "invariant/rejoin-after-data-loss", "came back under its old ID"},
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

// TestCorrectedAllFaults: the corrected node also passes under every
// fault family (partitions, packet faults, kills, pauses, clock skew,
// disk faults, membership changes, snapshot isolation), seeds 1 to 5.
// Membership changes after a compaction are where a node must snapshot at
// once (see maybeSnapshot): without that, a node added to the cluster
// ignores the leader's older snapshot, which does not include it, and the
// leader resends it without end.
func TestCorrectedAllFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: runs whole tests")
	}
	dir := t.TempDir()
	for seed := uint64(1); seed <= 5; seed++ {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			harness.RunTest(t, harness.Test{Seed: seed, SystemImpl: tutorial.System(), Nemesis: nemesis.Families(), Results: dir, Quick: true})
		})
	}
}

// TestProperty puts the corrected node through splitbrain's central
// property: any generated schedule, any workload, VALID.
func TestProperty(t *testing.T) {
	harness.CheckProperty(t, harness.Test{SystemImpl: tutorial.System()})
}

// property stands in for the test given to harness.CheckProperty: it
// records rapid's verdict instead of failing.
type property struct {
	testing.TB
	failed bool
	out    []string
}

func (p *property) Helper()                           {}
func (p *property) Fail()                             { p.failed = true }
func (p *property) FailNow()                          { p.failed = true }
func (p *property) Failed() bool                      { return p.failed }
func (p *property) Errorf(format string, args ...any) { p.failed = true; p.Logf(format, args...) }
func (p *property) Error(args ...any)                 { p.failed = true; p.Log(args...) }
func (p *property) Fatalf(format string, args ...any) { p.Errorf(format, args...) }
func (p *property) Fatal(args ...any)                 { p.Error(args...) }
func (p *property) Logf(format string, args ...any) {
	p.out = append(p.out, fmt.Sprintf(format, args...))
}
func (p *property) Log(args ...any) { p.out = append(p.out, fmt.Sprint(args...)) }

// TestPropertyFindsAFlaw: the property is not a test that cannot fail —
// the tutorial node with local reads fails it, with a stale read.
func TestPropertyFindsAFlaw(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the property runs whole tests")
	}
	st := flag.Lookup("rapid.shrinktime")
	old := st.Value.String()
	flag.Set("rapid.shrinktime", "5s") // the failure is what is tested here, not how small it shrinks
	defer flag.Set("rapid.shrinktime", old)
	p := &property{TB: t}
	harness.CheckProperty(p, harness.Test{SystemImpl: tutorial.System(tutorial.LocalReads)})
	out := strings.Join(p.out, "\n")
	if !p.failed || !strings.Contains(out, "stale-read") || !strings.Contains(out, "schedule:") {
		t.Fatalf("failed %v; output:\n%s", p.failed, out)
	}
	// The repro is the go test command with rapid's seed: splitbrain run
	// cannot run a node written in Go.
	if !strings.Contains(out, "repro:    go -C ") || !strings.Contains(out, "-rapid.seed=N") || strings.Contains(out, "splitbrain run --system") {
		t.Errorf("the failure's repro is not the go test command with rapid's seed:\n%s", out)
	}
}

// TestDeterminism: the same seed gives a byte-identical history with the
// tutorial node too (it iterates no map into its outputs, and draws no
// randomness of its own).
func TestDeterminism(t *testing.T) {
	var hs [2][]byte
	for i := range hs {
		out := harness.RunTest(t, harness.Test{Seed: 9, Duration: harness.Duration(20 * time.Second), LivenessBound: harness.Duration(5 * time.Second),
			SystemImpl: tutorial.System(), Nemesis: nemesis.Families(), Results: t.TempDir(), Quick: true})
		b, err := os.ReadFile(filepath.Join(out.Dir, harness.HistoryFile))
		if err != nil {
			t.Fatal(err)
		}
		hs[i] = b
	}
	if len(hs[0]) == 0 || !bytes.Equal(hs[0], hs[1]) {
		t.Fatalf("two runs of seed 9 differ (%d and %d bytes)", len(hs[0]), len(hs[1]))
	}
}
