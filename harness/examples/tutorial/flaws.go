package tutorial

import (
	"fmt"
	"strings"

	"github.com/splitbrain/splitbrain/harness/raftnode"
)

// Flaw names one of the tutorial node's flaws. Each can be switched on by
// itself (System(flaw)), so that a test shows which check catches which.
type Flaw string

// The flaws of a typical tutorial node on etcd raft.
const (
	// AckOnPropose: proposals are bare "key:value" strings, so the node
	// cannot tell when its own proposal is applied, and it acknowledges a
	// write as soon as raft accepts the proposal (etcd's raftexample
	// answers a PUT so). A proposal that never commits — its leader is
	// cut off, or crashes — is a write acknowledged and lost. The fix:
	// the proposal carries the request's ID, the write is acknowledged
	// when that entry is applied, a timeout answers Unknown, and a
	// session's request applies once.
	AckOnPropose Flaw = "ack-on-propose"
	// LocalReads: a read is answered from the local map at once, on any
	// node. A node cut off from the leader, or a follower behind it,
	// serves stale values. The fix: raft's ReadIndex (ReadOnlySafe),
	// answered once the node has applied up to the read index.
	LocalReads Flaw = "local-reads"
	// VolatileLog: the log lives in a raft.MemoryStorage that is not
	// rebuilt from the durable log after a restart. The node writes its
	// entries and hard state (the driver makes them durable) but starts
	// every time from an empty MemoryStorage: it forgets its term, its
	// vote, its log and its commit index, and would vote again in a term
	// it voted in. The fix: load the durable state (raftnode.Durable's
	// Restore) and rebuild the map from the snapshot and the log; refuse
	// to start without durable state unless bootstrapping or joining
	// (raftnode.ErrDataLost).
	VolatileLog Flaw = "volatile-log"
	// NoSnapshots: snapshots are not implemented. The MemoryStorage would
	// grow forever, so the node compacts it every SnapshotEvery entries
	// behind a snapshot, as raftexample does — but the snapshot carries no
	// state, and a snapshot received from the leader loads nothing. A
	// follower that falls behind the compaction catches up by snapshot
	// and loses the map. The fix: the snapshot holds the map (and the
	// sessions), and installing one loads it.
	NoSnapshots Flaw = "no-snapshots"
)

// AllFlaws lists every flaw: the tutorial node as a tutorial writes it.
var AllFlaws = []Flaw{AckOnPropose, LocalReads, VolatileLog, NoSnapshots}

// ParseFlaw reads a flaw's name.
func ParseFlaw(s string) (Flaw, error) {
	for _, f := range AllFlaws {
		if string(f) == s {
			return f, nil
		}
	}
	names := make([]string, len(AllFlaws))
	for i, f := range AllFlaws {
		names[i] = string(f)
	}
	return "", fmt.Errorf("unknown flaw %q (want one of %s)", s, strings.Join(names, ", "))
}

type flaws map[Flaw]bool

// System is the tutorial node with the given flaws as splitbrain runs it:
// System() is the corrected node, System(AllFlaws...) the tutorial as
// written. It reports every entry it applies and the hash of its map, so
// the sim checks every invariant.
func System(fs ...Flaw) raftnode.System {
	on := flaws{}
	names := []string{"tutorial"}
	for _, f := range fs {
		if !on[f] {
			on[f] = true
			names = append(names, string(f))
		}
	}
	return raftnode.System{
		Name:    strings.Join(names, "+"),
		Reports: raftnode.Reports{Applied: true, StateHash: true},
		New: func(cfg raftnode.Config, d *raftnode.Durable, peers []uint64) (raftnode.Node, error) {
			return New(cfg, d, peers, fs...)
		},
	}
}
