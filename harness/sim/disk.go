package sim

import (
	"math/rand/v2"

	"github.com/splitbrain/splitbrain/harness/raftnode"
	"github.com/splitbrain/splitbrain/harness/world"
	pb "go.etcd.io/raft/v3/raftpb"
)

// disk is a node's simulated storage. Written data sits in a page cache
// until an fsync (or the background writeback) makes it durable; what a
// crash keeps depends on its DiskFate.
type disk struct {
	durable *raftnode.Durable // survives any crash but a wipe
	written *raftnode.Durable // durable + pending: what the node sees
	pending []*raftnode.Write // written, not yet durable, in order
}

func newDisk() *disk { return &disk{durable: &raftnode.Durable{}, written: &raftnode.Durable{}} }

// write accepts w into the page cache.
func (d *disk) write(w *raftnode.Write) {
	d.pending = append(d.pending, w)
	d.written.Apply(w)
}

// syncThrough makes every pending write with Seq ≤ seq durable.
func (d *disk) syncThrough(seq uint64) {
	n := 0
	for n < len(d.pending) && d.pending[n].Seq <= seq {
		d.durable.Apply(d.pending[n])
		n++
	}
	d.pending = d.pending[n:]
}

// crash applies fate to the disk and returns what it now holds.
func (d *disk) crash(fate world.DiskFate, rng *rand.Rand) (lost int) {
	switch fate {
	case world.KeepWritten:
		for _, w := range d.pending {
			d.durable.Apply(w)
		}
	case world.LoseUnsynced:
		lost = len(d.pending)
	case world.TornWrite:
		// Writes before the torn one made it; the torn one left a prefix of
		// its entries and nothing else (no hard state, no snapshot). Only
		// entries contiguous with the durable log can survive: those of a
		// write that carries a snapshot come after the snapshot, which was
		// lost (kept on the old log they would leave a hole in it, or
		// follow entries that conflict with the snapshot).
		if len(d.pending) > 0 {
			k := rng.IntN(len(d.pending))
			for _, w := range d.pending[:k] {
				d.durable.Apply(w)
			}
			torn := d.pending[k]
			if len(torn.Entries) > 0 && isEmptySnapWrite(torn) && torn.Entries[0].GetIndex() <= d.durable.LastIndex()+1 {
				keep := rng.IntN(len(torn.Entries))
				if keep > 0 {
					d.durable.Apply(&raftnode.Write{Entries: append([]*pb.Entry(nil), torn.Entries[:keep]...)})
				}
			}
			lost = len(d.pending) - k
		}
	case world.Wipe:
		lost = len(d.pending)
		d.durable = &raftnode.Durable{}
	}
	d.pending = nil
	d.written = d.durable.Clone()
	return lost
}
