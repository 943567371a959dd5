package raftkv

import (
	"fmt"

	pb "go.etcd.io/raft/v3/raftpb"
)

// Write is a batch of raft state the node asks its driver to persist. The
// driver applies writes in the order the node emits them, each as follows:
//
//   - Snapshot, if set, is a snapshot received from the leader: it replaces
//     the persisted snapshot and the whole persisted log;
//   - Entries are appended, first discarding every persisted entry at an
//     index ≥ Entries[0].Index (a new leader may overwrite an uncommitted
//     tail);
//   - HardState, if set, replaces the persisted one;
//   - LocalSnapshot, if set, is a snapshot the node made of its own state
//     machine: it replaces the persisted snapshot if newer, and the log is
//     kept; then entries ≤ Compact are discarded (Compact never exceeds the
//     newest snapshot's index).
//
// If Sync is set the node waits: it sends no messages and acknowledges
// nothing that depends on this write until the driver calls
// Node.WriteDone(Seq), which it must do only once the write (and every
// earlier one) is durable — survives a crash. A write without Sync need
// not be durable before the node goes on; it becomes durable with the next
// synced write or whenever the driver's storage gets to it.
//
// The node keeps references to Entries and snapshots; neither side may
// mutate them.
type Write struct {
	Seq           uint64
	Sync          bool
	Snapshot      *pb.Snapshot
	Entries       []*pb.Entry
	HardState     *pb.HardState
	LocalSnapshot *pb.Snapshot
	Compact       uint64
}

// Durable is what a node finds in its storage when it starts: the state
// every write made durable before the crash, and nothing else.
type Durable struct {
	HardState *pb.HardState
	Snapshot  *pb.Snapshot
	Entries   []*pb.Entry // after the snapshot, consecutive
}

// Empty reports whether there is no durable state at all (a fresh node).
func (d *Durable) Empty() bool {
	return d == nil || (isEmptyHardState(d.HardState) && isEmptySnap(d.Snapshot) && len(d.Entries) == 0)
}

func isEmptyHardState(hs *pb.HardState) bool {
	return hs == nil || hs.GetTerm() == 0 && hs.GetVote() == 0 && hs.GetCommit() == 0
}

func isEmptySnap(s *pb.Snapshot) bool {
	return s == nil || s.GetMetadata().GetIndex() == 0
}

// Apply folds w into d, as a storage driver does when w becomes durable.
// It is the reference semantics of Write, shared by the sim's disk and the
// process world's store. Entries that would leave a hole in the log (their
// first index beyond the last durable one plus one) are a broken storage
// driver: Apply panics rather than store a log raft cannot read back.
func (d *Durable) Apply(w *Write) {
	if !isEmptySnap(w.Snapshot) {
		d.Snapshot, d.Entries = w.Snapshot, nil
	}
	if len(w.Entries) > 0 {
		first := w.Entries[0].GetIndex()
		if last := d.LastIndex(); first > last+1 {
			panic(fmt.Sprintf("raftkv: write %d of entries %d..%d after durable index %d would leave a hole in the log",
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
	if !isEmptySnap(w.LocalSnapshot) && w.LocalSnapshot.GetMetadata().GetIndex() > d.Snapshot.GetMetadata().GetIndex() {
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
// snapshot but not the slices.
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

// checkContiguous returns an error if d's log has a hole: its first entry
// after the snapshot's index plus one, or a gap between entries.
func (d *Durable) checkContiguous() error {
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
