package raftnode

import (
	"errors"
	"strings"
	"testing"

	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
)

func ent(i, t uint64) *pb.Entry { return &pb.Entry{Index: new(i), Term: new(t)} }

func ents(from, to, term uint64) []*pb.Entry {
	var es []*pb.Entry
	for i := from; i <= to; i++ {
		es = append(es, ent(i, term))
	}
	return es
}

func snap(index, term uint64) *pb.Snapshot {
	return &pb.Snapshot{Metadata: &pb.SnapshotMetadata{Index: new(index), Term: new(term), ConfState: &pb.ConfState{Voters: []uint64{1}}}}
}

func indexes(es []*pb.Entry) (first, last uint64) {
	if len(es) == 0 {
		return 0, 0
	}
	return es[0].GetIndex(), es[len(es)-1].GetIndex()
}

// TestDurableApply is Write's semantics: a new leader's entries replace a
// tail, a received snapshot replaces the log, a local snapshot is kept
// only if newer and compaction drops the entries up to Compact.
func TestDurableApply(t *testing.T) {
	d := &Durable{}
	d.Apply(&Write{Seq: 1, Entries: ents(1, 50, 1), HardState: &pb.HardState{Term: new(uint64(1)), Commit: new(uint64(40))}})
	d.Apply(&Write{Seq: 2, Entries: ents(40, 60, 2)})
	if f, l := indexes(d.Entries); f != 1 || l != 60 {
		t.Fatalf("after overwriting a tail: entries %d..%d, want 1..60", f, l)
	}
	if term, ok := d.Term(39); !ok || term != 1 {
		t.Errorf("term at 39: %d %v, want 1", term, ok)
	}
	if term, ok := d.Term(40); !ok || term != 2 {
		t.Errorf("term at 40: %d %v, want 2 (overwritten)", term, ok)
	}
	d.Apply(&Write{Seq: 3, LocalSnapshot: snap(50, 2), Compact: 45})
	if f, l := indexes(d.Entries); f != 46 || l != 60 || d.Snapshot.GetMetadata().GetIndex() != 50 {
		t.Fatalf("after a local snapshot at 50 compacted to 45: entries %d..%d, snapshot %d", f, l, d.Snapshot.GetMetadata().GetIndex())
	}
	if got := len(d.RecentEntries()); got != 10 {
		t.Errorf("entries after the snapshot: %d, want 10 (51..60)", got)
	}
	d.Apply(&Write{Seq: 4, LocalSnapshot: snap(30, 1)})
	if d.Snapshot.GetMetadata().GetIndex() != 50 {
		t.Errorf("an older local snapshot replaced a newer one")
	}
	d.Apply(&Write{Seq: 5, Snapshot: snap(100, 3), HardState: &pb.HardState{Term: new(uint64(3)), Commit: new(uint64(100))}})
	if len(d.Entries) != 0 || d.LastIndex() != 100 || d.HardState.GetCommit() != 100 {
		t.Fatalf("after a received snapshot at 100: %d entries, last index %d", len(d.Entries), d.LastIndex())
	}
	if err := d.CheckLog(); err != nil {
		t.Errorf("CheckLog: %v", err)
	}
	if (&Durable{}).Empty() != true || d.Empty() || (*Durable)(nil).Clone().Empty() != true {
		t.Errorf("Empty is wrong")
	}
}

// TestDurableApplyRefusesHole: entries that do not follow the durable log
// are a broken node or driver, and Apply says so loudly.
func TestDurableApplyRefusesHole(t *testing.T) {
	d := &Durable{}
	d.Apply(&Write{Seq: 1, Entries: ents(1, 50, 1)})
	defer func() {
		r := recover()
		if r == nil || !strings.Contains(r.(string), "hole") {
			t.Fatalf("Apply of entries 101..102 after 50: recovered %v, want a panic about a hole", r)
		}
	}()
	d.Apply(&Write{Seq: 2, Entries: ents(101, 102, 3)})
}

// TestRestore: a durable state loads into a MemoryStorage as raft reads
// it back; a log with a hole is refused, entries kept behind a compaction
// are not a hole.
func TestRestore(t *testing.T) {
	hs := &pb.HardState{Term: new(uint64(3)), Vote: new(uint64(2)), Commit: new(uint64(55))}
	d := &Durable{HardState: hs, Snapshot: snap(50, 2), Entries: ents(46, 60, 2)}
	ms := raft.NewMemoryStorage()
	if err := d.Restore(ms); err != nil {
		t.Fatal(err)
	}
	got, _, err := ms.InitialState()
	if err != nil || got.GetTerm() != 3 || got.GetVote() != 2 || got.GetCommit() != 55 {
		t.Errorf("hard state %v, %v", got, err)
	}
	if first, _ := ms.FirstIndex(); first != 51 {
		t.Errorf("first index %d, want 51 (after the snapshot)", first)
	}
	if last, _ := ms.LastIndex(); last != 60 {
		t.Errorf("last index %d, want 60", last)
	}
	for name, bad := range map[string]*Durable{
		"gap between entries":    {HardState: hs, Entries: append(ents(1, 50, 1), ents(101, 102, 3)...)},
		"gap after the snapshot": {HardState: hs, Snapshot: snap(10, 1), Entries: ents(20, 22, 3)},
	} {
		if err := bad.Restore(raft.NewMemoryStorage()); err == nil || !strings.Contains(err.Error(), "hole") {
			t.Errorf("%s: Restore = %v, want an error about a hole", name, err)
		}
	}
}

// TestSystemValidate: a System names itself, has a factory, and does not
// promise state hashes without applied entries.
func TestSystemValidate(t *testing.T) {
	f := func(Config, *Durable, []uint64) (Node, error) { return nil, nil }
	for _, c := range []struct {
		s    System
		want string
	}{
		{System{New: f}, "no Name"},
		{System{Name: "x"}, "no New"},
		{System{Name: "x", New: f, Reports: Reports{StateHash: true}}, "needs Reports.Applied"},
		{System{Name: "x", New: f, Reports: Reports{Applied: true, StateHash: true}}, ""},
		{System{Name: "x", New: f}, ""},
	} {
		err := c.s.Validate()
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, ErrBadSystem)) {
			t.Errorf("%+v: Validate = %v, want %q", c.s.Reports, err, c.want)
		}
	}
}

type lines []string

func (l *lines) Logf(format string, args ...any) { *l = append(*l, format) }

// TestRaftLogger: raft's lines reach the node's logger, debug lines do
// not, and raft's panics panic.
func TestRaftLogger(t *testing.T) {
	var l lines
	rl := RaftLogger(&l)
	rl.Debugf("chatty %d", 1)
	rl.Infof("became leader at term %d", 3)
	rl.Warning("slow")
	if len(l) != 2 {
		t.Fatalf("logged %d lines, want 2 (debug dropped): %q", len(l), l)
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "boom 7") {
			t.Fatalf("Panicf recovered %v", r)
		}
	}()
	rl.Panicf("boom %d", 7)
}
