package sim

import (
	"errors"
	"testing"
	"time"

	"github.com/splitbrain/splitbrain/harness/raftkv"
	"github.com/splitbrain/splitbrain/harness/raftnode"
	"github.com/splitbrain/splitbrain/harness/world"
)

// TestInvariantsCatchBrokenNodes proves the invariant checks can fail:
// nodes broken on purpose (the canaries that break raft's own rules) are
// caught by the named invariant within a few seeds of the chaos driver.
func TestInvariantsCatchBrokenNodes(t *testing.T) {
	cases := []struct {
		bug  raftkv.Bug
		want []string // any of these invariants
	}{
		{raftkv.BugForgetVote, []string{PersistBeforeSend}},
		{raftkv.BugNoFsync, []string{PersistBeforeSend, DurableCommitted}},
		{raftkv.BugStaleSnapshot, []string{StateMachineSafety}},
		{raftkv.BugApplyUnstable, []string{StateMachineSafety, LeaderCompleteness}},
	}
	for _, c := range cases {
		t.Run(string(c.bug), func(t *testing.T) {
			for seed := uint64(1); seed <= 10; seed++ {
				w, err := New(Config{Seed: seed, System: raftkv.System(raftkv.Bugs{c.bug: true}), Node: raftnode.Config{SnapshotEvery: 50, CompactKeep: 10}})
				if err != nil {
					t.Fatal(err)
				}
				ch := &chaos{clients: 10, rate: 200, duration: 20 * time.Second, faults: true}
				err = ch.run(w)
				var iv *world.InvariantError
				if errors.As(err, &iv) {
					for _, name := range c.want {
						if iv.Invariant == name {
							t.Logf("seed %d: %v", seed, iv)
							return
						}
					}
					t.Fatalf("seed %d: caught by %s, want one of %v: %v", seed, iv.Invariant, c.want, iv)
				}
				if err != nil {
					t.Logf("seed %d: run failed otherwise: %v", seed, err)
				}
			}
			t.Fatalf("%s not caught by the invariants in 10 seeds", c.bug)
		})
	}
}
