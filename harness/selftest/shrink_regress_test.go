package selftest

import (
	"context"
	"testing"

	"github.com/splitbrain/splitbrain/harness"
	"github.com/splitbrain/splitbrain/harness/raftkv"
	"github.com/splitbrain/splitbrain/model"
	"github.com/splitbrain/splitbrain/nemesis"
)

// TestShrunkScheduleKeepsTheFailure, in the sim: local-reads fails with or
// without faults, but not always the same way. The test takes the first
// seed whose generated schedule fails one way (say a stale read) while the
// same seed with no fault at all fails another (a lost write) — a shrinker
// that keeps any failing schedule can drift from the one to the other —
// and checks that the shrunk schedule fails as the original did.
func TestShrunkScheduleKeepsTheFailure(t *testing.T) {
	ctx := context.Background()
	r := &runner{o: Options{Duration: DefaultDuration, ShrinkRuns: DefaultShrinkRuns}, root: t.TempDir()}
	bug := raftkv.BugLocalReads
	tt := harness.Test{Name: "shrink", Bugs: []string{string(bug)}, Nemesis: raftkv.Exposers[bug]}
	for seed := uint64(1); seed <= 20; seed++ {
		tt.Seed = seed
		want := Signature(mustRun(t, r, tt, nil))
		empty := Signature(mustRun(t, r, tt, &nemesis.Schedule{}))
		if want == "" || empty == "" || want == empty {
			continue
		}
		orig, shrunk, _, err := r.shrinkRun(ctx, tt, want)
		if err != nil {
			t.Fatal(err)
		}
		if got := Signature(mustRun(t, r, tt, &shrunk)); got != want {
			t.Fatalf("seed %d: the shrunk schedule (%d of %d events) fails as %q, the original as %q (with no fault: %q):\n%s",
				seed, len(shrunk.Events), len(orig.Events), got, want, empty, shrunk.String())
		}
		t.Logf("seed %d fails as %s, with no fault as %s; shrunk %d → %d events, still %s", seed, want, empty, len(orig.Events), len(shrunk.Events), want)
		return
	}
	t.Fatalf("no seed of 1–20 where %s fails one way with its faults and another without: the test needs a new subject", bug)
}

// mustRun runs one selftest run of t with schedule s (nil: the seed's
// generated one).
func mustRun(t *testing.T, r *runner, tt harness.Test, s *nemesis.Schedule) *harness.Results {
	t.Helper()
	if s != nil {
		tt.Schedule, tt.Nemesis = s, nil
	}
	res, err := r.run(context.Background(), tt)
	if err != nil {
		t.Fatal(err)
	}
	if res.Valid == model.Unknown {
		t.Fatalf("seed %d: unknown: %s", tt.Seed, res.Error)
	}
	return res
}
