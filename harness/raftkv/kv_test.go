package raftkv

import (
	"testing"

	pb "go.etcd.io/raft/v3/raftpb"
	"pgregory.net/rapid"
)

func strp(s string) *string { return &s }

func TestKVSemantics(t *testing.T) {
	kv := NewKV()
	apply := func(c command) (bool, bool) { return kv.apply(&c) }
	if ok, _ := apply(command{ID: RequestID{Client: 1, Seq: 1}, Op: OpPut, Key: "k", Value: "1"}); !ok {
		t.Fatal("put failed")
	}
	if ok, _ := apply(command{ID: RequestID{Client: 1, Seq: 2}, Op: OpCAS, Key: "k", Value: "2", Expected: strp("9")}); ok {
		t.Fatal("cas with a wrong expectation succeeded")
	}
	if ok, _ := apply(command{ID: RequestID{Client: 1, Seq: 3}, Op: OpCAS, Key: "k", Value: "2", Expected: strp("1")}); !ok {
		t.Fatal("cas with the right expectation failed")
	}
	if ok, _ := apply(command{ID: RequestID{Client: 1, Seq: 4}, Op: OpCAS, Key: "new", Value: "x", Expected: nil}); !ok {
		t.Fatal("cas expecting absence failed on an absent key")
	}
	if _, dup := apply(command{ID: RequestID{Client: 1, Seq: 3}, Op: OpPut, Key: "k", Value: "dup"}); !dup {
		t.Fatal("a replayed request was applied again")
	}
	if v := kv.Get("k"); v == nil || *v != "2" {
		t.Fatalf("k = %v, want 2", v)
	}
	apply(command{ID: RequestID{Client: 1, Seq: 5}, Op: OpDelete, Key: "k"})
	if kv.Get("k") != nil {
		t.Fatal("delete left the key")
	}
}

// The state hash depends on the state only, not on how it was reached;
// a snapshot restores the same state and hash.
func TestKVHashAndSnapshot(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		kv := NewKV()
		n := rapid.IntRange(0, 50).Draw(t, "n")
		for i := 0; i < n; i++ {
			c := command{ID: RequestID{Client: uint64(rapid.IntRange(1, 3).Draw(t, "client")), Seq: uint64(i + 1)},
				Op:  Op(rapid.IntRange(int(OpPut), int(OpDelete)).Draw(t, "op")),
				Key: rapid.SampledFrom([]string{"a", "b", "c"}).Draw(t, "key"), Value: rapid.StringN(0, 3, 3).Draw(t, "v")}
			if c.Op == OpCAS && rapid.Bool().Draw(t, "expect") {
				c.Expected = strp(rapid.StringN(0, 3, 3).Draw(t, "exp"))
			}
			kv.apply(&c)
		}
		back, err := unmarshalKV(kv.marshal())
		if err != nil {
			t.Fatal(err)
		}
		if back.Hash() != kv.Hash() {
			t.Fatalf("snapshot changed the hash: %x vs %x", back.Hash(), kv.Hash())
		}
		// Rebuild the same data in another order: same hash.
		other := NewKV()
		keys := []string{"c", "b", "a"}
		for _, k := range keys {
			if v := kv.Get(k); v != nil {
				other.set(k, *v)
			}
		}
		for c, s := range kv.sessions {
			other.setSession(c, s)
		}
		if other.Hash() != kv.Hash() {
			t.Fatal("hash depends on insertion order")
		}
	})
}

func TestCommandRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := command{ID: RequestID{Client: rapid.Uint64().Draw(t, "c"), Seq: rapid.Uint64().Draw(t, "s")},
			Op: Op(rapid.IntRange(int(OpPut), int(OpDelete)).Draw(t, "op")), Key: rapid.String().Draw(t, "k"), Value: rapid.String().Draw(t, "v")}
		if rapid.Bool().Draw(t, "exp") {
			c.Expected = strp(rapid.String().Draw(t, "e"))
		}
		var back command
		if err := back.unmarshal(c.marshal()); err != nil {
			t.Fatal(err)
		}
		if back.ID != c.ID || back.Op != c.Op || back.Key != c.Key || back.Value != c.Value ||
			(back.Expected == nil) != (c.Expected == nil) || c.Expected != nil && *back.Expected != *c.Expected {
			t.Fatalf("round trip: %+v -> %+v", c, back)
		}
	})
}

func FuzzCommandUnmarshal(f *testing.F) {
	f.Add((&command{ID: RequestID{Client: 1, Seq: 2}, Op: OpCAS, Key: "k", Value: "v", Expected: strp("e")}).marshal())
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		var c command
		if c.unmarshal(b) == nil {
			var again command
			if err := again.unmarshal(c.marshal()); err != nil {
				t.Fatal(err)
			}
		}
		unmarshalKV(b) // must not panic
	})
}

func ent(i, term uint64) *pb.Entry { return &pb.Entry{Index: new(i), Term: new(term)} }

func TestDurableApply(t *testing.T) {
	d := &Durable{}
	d.Apply(&Write{Entries: []*pb.Entry{ent(1, 1), ent(2, 1), ent(3, 1)}, HardState: &pb.HardState{Term: new(uint64(1)), Commit: new(uint64(1))}})
	// A new leader overwrites the uncommitted tail from index 2.
	d.Apply(&Write{Entries: []*pb.Entry{ent(2, 2)}})
	if d.LastIndex() != 2 {
		t.Fatalf("entries ≥ 2 not discarded: last %d", d.LastIndex())
	}
	if term, _ := d.Term(2); term != 2 {
		t.Fatalf("entry 2 has term %d, want 2", term)
	}
	// A local snapshot at 2 with compaction to 1 keeps entry 2.
	snap := &pb.Snapshot{Metadata: &pb.SnapshotMetadata{Index: new(uint64(2)), Term: new(uint64(2))}}
	d.Apply(&Write{LocalSnapshot: snap, Compact: 1})
	if len(d.Entries) != 1 || d.Entries[0].GetIndex() != 2 || d.Snapshot != snap {
		t.Fatalf("after local snapshot: %d entries, snapshot %v", len(d.Entries), d.Snapshot)
	}
	// A snapshot from the leader replaces the log.
	snap2 := &pb.Snapshot{Metadata: &pb.SnapshotMetadata{Index: new(uint64(10)), Term: new(uint64(3))}}
	d.Apply(&Write{Snapshot: snap2})
	if len(d.Entries) != 0 || d.LastIndex() != 10 {
		t.Fatalf("installed snapshot did not replace the log: %d entries, last %d", len(d.Entries), d.LastIndex())
	}
	if term, ok := d.Term(10); !ok || term != 3 {
		t.Fatalf("term at the snapshot index: %d %v", term, ok)
	}
}
