package sim

import (
	"testing"
	"time"

	"github.com/splitbrain/splitbrain/harness/raftkv"
	"github.com/splitbrain/splitbrain/harness/raftnode"
	"github.com/splitbrain/splitbrain/harness/world"
)

// The package's tests prune the invariant checker's records at every
// write and apply: a record pruned and then needed panics (see prune), so
// every test of the package is also a test of pruning.
func init() { pruneEvery = 1 }

// TestInvariantRecordsStayBounded: over a long run with crashes, the
// checker's records of entries and applies stay bounded by what the nodes
// could still write or apply, not by the length of the run.
func TestInvariantRecordsStayBounded(t *testing.T) {
	w, err := New(Config{Seed: 5, System: raftkv.System(nil), Node: raftnode.Config{SnapshotEvery: 50, CompactKeep: 10}})
	if err != nil {
		t.Fatal(err)
	}
	maxEntries, maxApplies := 0, 0
	err = w.Run(func() {
		c := w.Client()
		for i := 0; i < 3000; i++ {
			c.Do(world.NodeID(1+i%5), world.Op{Kind: world.Put, Key: "k", Value: "v"}, 5*time.Second)
			if i%500 == 250 {
				w.Crash(world.NodeID(1+i/500%5), world.KeepWritten)
				w.Sleep(time.Second)
				w.Restart(world.NodeID(1 + i/500%5))
			}
			maxEntries, maxApplies = max(maxEntries, len(w.inv.entries)), max(maxApplies, len(w.inv.applies))
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if w.inv.entriesFrom == 0 || w.inv.appliesFrom == 0 {
		t.Fatalf("nothing pruned (entries from %d, applies from %d)", w.inv.entriesFrom, w.inv.appliesFrom)
	}
	if maxEntries > 1000 || maxApplies > 1000 {
		t.Errorf("records grew to %d entries and %d applies over 3,000 writes", maxEntries, maxApplies)
	}
}
