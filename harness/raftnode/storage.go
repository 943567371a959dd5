package raftnode

import (
	"fmt"

	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
)

// Write is a batch of raft state the node asks its driver to persist. The
// driver applies writes in the order the node emits them, each as
// Durable.Apply does (the reference semantics):
//
//   - Snapshot, if set, is a snapshot received from the leader: it replaces
//     the persisted snapshot and the whole persisted log;
//   - Entries are appended, first discarding every persisted entry at an
//     index ≥ Entries[0].Index (a new leader may overwrite an uncommitted
//     tail); they must follow the persisted log without a hole;
//   - HardState, if set, replaces the persisted one;
//   - LocalSnapshot, if set, is a snapshot the node made of its own state
//     machine: it replaces the persisted snapshot if newer, and the log is
//     kept; then entries ≤ Compact are discarded (Compact never exceeds
//     the newest snapshot's index).
//
// Seq numbers the node's writes: 1, 2, 3, … from each start (New).
//
// If Sync is set the node waits: it sends no message and answers no
// request that depends on this write until the driver calls
// Node.WriteDone(Seq), which the driver does only once the write (and
// every earlier one) is durable — survives a crash. A node has at most one
// synced write outstanding, and emits no write after it until WriteDone.
// A write without Sync need not be durable before the node goes on; it
// becomes durable with the next synced write, or whenever the driver's
// storage gets to it (a crash may lose it).
//
// The driver keeps references to Entries and snapshots; neither side may
// mutate them after the write is emitted.
type Write struct {
	Seq           uint64
	Sync          bool
	Snapshot      *pb.Snapshot
	Entries       []*pb.Entry
	HardState     *pb.HardState
	LocalSnapshot *pb.Snapshot
	Compact       uint64
}

// Durable is what a node finds in its storage when it starts: what its
// writes made durable before it stopped, and nothing else. The driver
// builds it by folding every durable write into it with Apply.
type Durable struct {
	HardState *pb.HardState
	Snapshot  *pb.Snapshot
	Entries   []*pb.Entry // consecutive; they may start at or before the snapshot's index
}

// Empty reports whether there is no durable state at all: a node that
// never completed a write, or whose disk was wiped.
func (d *Durable) Empty() bool {
	return d == nil || (IsEmptyHardState(d.HardState) && IsEmptySnap(d.Snapshot) && len(d.Entries) == 0)
}

// IsEmptyHardState reports whether hs is nil or all zero.
func IsEmptyHardState(hs *pb.HardState) bool {
	return hs == nil || hs.GetTerm() == 0 && hs.GetVote() == 0 && hs.GetCommit() == 0
}

// IsEmptySnap reports whether s is nil or at index 0 (no snapshot).
func IsEmptySnap(s *pb.Snapshot) bool {
	return s == nil || s.GetMetadata().GetIndex() == 0
}

// Apply folds w into d, as a storage driver does when w becomes durable.
// It is the reference semantics of Write, shared by the sim's disk and the
// process world's store. Entries that would leave a hole in the log (their
// first index beyond the last durable one plus one) are a broken node or
// driver: Apply panics rather than store a log raft cannot read back.
func (d *Durable) Apply(w *Write) {
	if !IsEmptySnap(w.Snapshot) {
		d.Snapshot, d.Entries = w.Snapshot, nil
	}
	if len(w.Entries) > 0 {
		first := w.Entries[0].GetIndex()
		if last := d.LastIndex(); first > last+1 {
			panic(fmt.Sprintf("raftnode: write %d of entries %d..%d after durable index %d would leave a hole in the log",
				w.Seq, first, w.Entries[len(w.Entries)-1].GetIndex(), last))
		}
		n := 0
		for n < len(d.Entries) && d.Entries[n].GetIndex() < first {
			n++
		}
		// In place: only d refers to its slice's array (Clone copies).
		d.Entries = append(d.Entries[:n], w.Entries...)
	}
	if w.HardState != nil {
		d.HardState = w.HardState
	}
	if !IsEmptySnap(w.LocalSnapshot) && w.LocalSnapshot.GetMetadata().GetIndex() > d.Snapshot.GetMetadata().GetIndex() {
		d.Snapshot = w.LocalSnapshot
	}
	if w.Compact > 0 {
		n := 0
		for n < len(d.Entries) && d.Entries[n].GetIndex() <= w.Compact {
			n++
		}
		d.Entries = d.Entries[n:]
	}
}

// Clone returns a copy of d that shares the (immutable) entries and
// snapshot but not the slices. Clone of nil is an empty Durable.
func (d *Durable) Clone() *Durable {
	if d == nil {
		return &Durable{}
	}
	return &Durable{HardState: d.HardState, Snapshot: d.Snapshot, Entries: append([]*pb.Entry(nil), d.Entries...)}
}

// LastIndex is the index of the last durable entry (or of the snapshot).
func (d *Durable) LastIndex() uint64 {
	if n := len(d.Entries); n > 0 {
		return d.Entries[n-1].GetIndex()
	}
	return d.Snapshot.GetMetadata().GetIndex()
}

// Term returns the term of the entry at index i, and whether it is known
// (in the log, or the snapshot's own index).
func (d *Durable) Term(i uint64) (uint64, bool) {
	if s := d.Snapshot.GetMetadata(); s.GetIndex() == i && i > 0 {
		return s.GetTerm(), true
	}
	if len(d.Entries) == 0 {
		return 0, false
	}
	first := d.Entries[0].GetIndex()
	if i < first || i > d.LastIndex() {
		return 0, false
	}
	return d.Entries[i-first].GetTerm(), true
}

// CheckLog returns an error if d's log has a hole: its first entry after
// the snapshot's index plus one, or a gap between entries. A node should
// refuse to start from such a log (raft's storage would fail far from the
// cause).
func (d *Durable) CheckLog() error {
	next := d.Snapshot.GetMetadata().GetIndex() + 1
	for i, e := range d.Entries {
		idx := e.GetIndex()
		if i == 0 && idx <= next || idx == next {
			next = idx + 1
			continue
		}
		return fmt.Errorf("durable log has a hole: entry %d follows index %d (snapshot at %d)",
			idx, next-1, d.Snapshot.GetMetadata().GetIndex())
	}
	return nil
}

// RecentEntries returns the durable entries after the snapshot: those a
// restarted node hands back to raft's storage (entries kept behind a
// compaction are older than the snapshot and already in it).
func (d *Durable) RecentEntries() []*pb.Entry {
	si := d.Snapshot.GetMetadata().GetIndex()
	for i, e := range d.Entries {
		if e.GetIndex() > si {
			return d.Entries[i:]
		}
	}
	return nil
}

// Restore loads d into ms, a fresh raft.MemoryStorage, as a restarting
// node does before it creates its raft.RawNode on ms: the snapshot, the
// hard state, then the entries after the snapshot. raft then hands the
// committed entries after the snapshot back as CommittedEntries, to be
// applied again (the node's state machine starts from the snapshot's
// data). It refuses a log with a hole (CheckLog).
func (d *Durable) Restore(ms *raft.MemoryStorage) error {
	if err := d.CheckLog(); err != nil {
		return err
	}
	if !IsEmptySnap(d.Snapshot) {
		if err := ms.ApplySnapshot(d.Snapshot); err != nil {
			return fmt.Errorf("restore snapshot at index %d: %w", d.Snapshot.GetMetadata().GetIndex(), err)
		}
	}
	if d.HardState != nil {
		if err := ms.SetHardState(d.HardState); err != nil {
			return fmt.Errorf("restore hard state: %w", err)
		}
	}
	if err := ms.Append(d.RecentEntries()); err != nil {
		return fmt.Errorf("restore log: %w", err)
	}
	return nil
}
