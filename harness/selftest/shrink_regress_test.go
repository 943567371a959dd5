package selftest

import (
	"context"
	"strings"
	"testing"

	"github.com/splitbrain/splitbrain/harness"
	"github.com/splitbrain/splitbrain/harness/raftkv"
	"github.com/splitbrain/splitbrain/model"
	"github.com/splitbrain/splitbrain/nemesis"
)

// TestShrunkScheduleKeepsTheFailure: local-reads is first caught at seed 1
// by a stale read; deleting every fault from that schedule still fails, but
// as a lost write. The shrunk schedule selftest prints must fail the way
// the original did when it is replayed.
func TestShrunkScheduleKeepsTheFailure(t *testing.T) {
	rep, err := Run(context.Background(), Options{Canaries: []raftkv.Bug{raftkv.BugLocalReads}, Seeds: 1, CleanSeeds: 1, Results: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	row := rep.Rows[0]
	if !row.Detected || row.Seed != 1 || row.How != how(mustReplay(t, row.Canary, row.Seed, nil)) {
		t.Fatalf("row %+v: want detected at seed 1, caught as the generated schedule fails", row)
	}
	sched, err := nemesis.Parse(strings.NewReader(row.Schedule), "shrunk")
	if err != nil {
		t.Fatal(err)
	}
	if got := how(mustReplay(t, row.Canary, row.Seed, &sched)); got != row.How {
		t.Fatalf("the shrunk schedule (%d events) fails as %q, the original as %q:\n%s", len(sched.Events), got, row.How, row.Schedule)
	}
}

// mustReplay runs one selftest run: the canary, the seed, and the given
// schedule (nil: the seed's generated one).
func mustReplay(t *testing.T, bug raftkv.Bug, seed uint64, s *nemesis.Schedule) *harness.Results {
	t.Helper()
	r := &runner{o: Options{Duration: DefaultDuration}, root: t.TempDir()}
	tt := harness.Test{Name: "replay", Seed: seed, Bugs: []string{string(bug)}}
	if s != nil {
		tt.Schedule = s
	} else {
		tt.Nemesis = raftkv.Exposers[bug]
	}
	res, err := r.run(context.Background(), tt)
	if err != nil {
		t.Fatal(err)
	}
	if res.Valid != model.Invalid {
		t.Fatalf("seed %d of %s: %v", seed, bug, res.Valid)
	}
	return res
}
