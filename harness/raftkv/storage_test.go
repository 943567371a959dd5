package raftkv

import (
	"strings"
	"testing"

	pb "go.etcd.io/raft/v3/raftpb"
)

func ents(from, to, term uint64) []*pb.Entry {
	var es []*pb.Entry
	for i := from; i <= to; i++ {
		es = append(es, ent(i, term))
	}
	return es
}

// TestRestoreRefusesHole: a node does not start from a durable log with a
// hole in it (raft's storage would panic later, far from the cause).
func TestRestoreRefusesHole(t *testing.T) {
	holes := map[string]*Durable{
		"gap between entries": {HardState: &pb.HardState{Term: new(uint64(3)), Commit: new(uint64(10))},
			Entries: append(ents(1, 50, 1), ents(101, 102, 3)...)},
		"gap after the snapshot": {HardState: &pb.HardState{Term: new(uint64(3)), Commit: new(uint64(10))},
			Snapshot: &pb.Snapshot{Metadata: &pb.SnapshotMetadata{Index: new(uint64(10)), Term: new(uint64(1)),
				ConfState: &pb.ConfState{Voters: []uint64{1}}}, Data: NewKV().marshal()},
			Entries: ents(20, 22, 3)},
	}
	for name, d := range holes {
		_, err := New(Config{ID: 1}, d, nil)
		if err == nil || !strings.Contains(err.Error(), "hole") {
			t.Errorf("%s: New = %v, want an error about a hole", name, err)
		}
	}
	// Entries from before the snapshot (kept behind a compaction) are no hole.
	ok := &Durable{HardState: &pb.HardState{Term: new(uint64(1)), Commit: new(uint64(10))},
		Snapshot: &pb.Snapshot{Metadata: &pb.SnapshotMetadata{Index: new(uint64(10)), Term: new(uint64(1)),
			ConfState: &pb.ConfState{Voters: []uint64{1}}}, Data: NewKV().marshal()},
		Entries: ents(8, 12, 1)}
	if _, err := New(Config{ID: 1}, ok, nil); err != nil {
		t.Errorf("compacted log behind a snapshot: %v", err)
	}
}

// bootstrapWrite returns the first write of a node bootstrapping peers.
func bootstrapWrite(t *testing.T, id uint64, peers []uint64) *Write {
	t.Helper()
	n, err := New(Config{ID: id}, nil, peers)
	if err != nil {
		t.Fatal(err)
	}
	out := n.Ready()
	if len(out.Writes) != 1 || !out.Writes[0].Sync {
		t.Fatalf("bootstrap: writes %+v, want one synced write", out.Writes)
	}
	return out.Writes[0]
}

// TestPartialBootstrapIsRedone: a torn bootstrap write leaves some of the
// conf-change entries and no hard state. The node never sent anything, so
// it must bootstrap again (before, it started with no voters and never
// took part in an election).
func TestPartialBootstrapIsRedone(t *testing.T) {
	peers := []uint64{1, 2, 3}
	full := bootstrapWrite(t, 1, peers)
	if len(full.Entries) != 3 || full.HardState.GetCommit() != 3 || full.HardState.GetTerm() != 1 {
		t.Fatalf("bootstrap write: %d entries, hard state %v", len(full.Entries), full.HardState)
	}
	for keep := 1; keep < len(peers); keep++ {
		torn := &Durable{Entries: full.Entries[:keep]}
		n, err := New(Config{ID: 1}, torn, peers)
		if err != nil {
			t.Fatalf("keep %d: %v", keep, err)
		}
		out := n.Ready()
		if len(out.Writes) != 1 || len(out.Writes[0].Entries) != 3 || out.Writes[0].HardState.GetCommit() != 3 {
			t.Fatalf("keep %d: restart wrote %+v, want the whole bootstrap again", keep, out.Writes)
		}
		torn.Apply(out.Writes[0])
		n.WriteDone(out.Writes[0].Seq)
		n.Ready()
		if st := n.Status(); len(st.Voters) != 3 {
			t.Fatalf("keep %d: voters %v after the bootstrap applied, want %v", keep, st.Voters, peers)
		}
	}
	// Not a partial bootstrap: another peer list, a hard state, a
	// different entry. The node restores what it finds.
	others := map[string]*Durable{
		"other peers":  {Entries: full.Entries[:1]},
		"hard state":   {Entries: full.Entries[:2], HardState: &pb.HardState{Term: new(uint64(1))}},
		"normal entry": {Entries: []*pb.Entry{ent(1, 1)}},
	}
	for name, d := range others {
		ps := peers
		if name == "other peers" {
			ps = []uint64{2, 3, 1}
		}
		n, err := New(Config{ID: 1}, d, ps)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if out := n.Ready(); len(out.Writes) != 0 {
			t.Errorf("%s: the node bootstrapped again (wrote %+v)", name, out.Writes)
		}
	}
}
