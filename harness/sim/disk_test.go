package sim

import (
	"math/rand/v2"
	"testing"

	"github.com/splitbrain/splitbrain/harness/raftkv"
	"github.com/splitbrain/splitbrain/harness/world"
	pb "go.etcd.io/raft/v3/raftpb"
)

func entries(from, to, term uint64) []*pb.Entry {
	var es []*pb.Entry
	for i := from; i <= to; i++ {
		es = append(es, &pb.Entry{Index: new(i), Term: new(term)})
	}
	return es
}

// TestTornSnapshotWriteLeavesNoHole: a torn write of a Write that carries
// a leader's snapshot plus the entries after it must not keep those
// entries on the old log (entries 1..50, then 101..102: a hole, and a
// panic when the node restarts). Whatever the tear, the durable log stays
// contiguous and the node restarts from it.
func TestTornSnapshotWriteLeavesNoHole(t *testing.T) {
	snap := &pb.Snapshot{Metadata: &pb.SnapshotMetadata{Index: new(uint64(100)), Term: new(uint64(2)),
		ConfState: &pb.ConfState{Voters: []uint64{1, 2, 3}}}}
	for seed := uint64(1); seed <= 50; seed++ {
		d := newDisk()
		d.write(&raftkv.Write{Seq: 1, Sync: true, Entries: entries(1, 50, 1), HardState: &pb.HardState{Term: new(uint64(1)), Commit: new(uint64(40))}})
		d.syncThrough(1)
		d.write(&raftkv.Write{Seq: 2, Sync: true, Snapshot: snap, Entries: entries(101, 110, 2),
			HardState: &pb.HardState{Term: new(uint64(2)), Commit: new(uint64(100))}})
		d.crash(world.TornWrite, rand.New(rand.NewPCG(seed, 0)))
		if last := d.durable.LastIndex(); last != 50 || d.durable.Snapshot != nil {
			t.Fatalf("seed %d: after the torn write the durable log ends at %d (snapshot %v), want the old log, 1..50",
				seed, last, d.durable.Snapshot.GetMetadata())
		}
		if _, err := raftkv.New(raftkv.Config{ID: 1}, d.durable.Clone(), nil); err != nil {
			t.Fatalf("seed %d: restart: %v", seed, err)
		}
	}
}
