package raftkv

import (
	"fmt"

	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
)

// sendAhead emits, along with the synced write of rd, the messages of rd
// that do not depend on it, and holds the others until WriteDone. Only
// what votes on the write waits for it: acknowledgements of entries
// (MsgAppResp) and votes (MsgVoteResp, MsgPreVoteResp), as raft itself
// sorts them when it writes asynchronously (raft.go, send). So a leader
// sends its appends to its followers while it writes the same entries
// itself (the Raft thesis, 10.2.1), and counts itself only once they are
// durable (raft steps its own acknowledgement at Advance). Called only
// when the write changes neither term nor vote: every message then
// carries a term already durable.
func (n *Node) sendAhead(rd *raft.Ready) {
	var held []*pb.Message
	for _, m := range rd.Messages {
		switch m.GetType() {
		case pb.MsgAppResp, pb.MsgVoteResp, pb.MsgPreVoteResp:
			held = append(held, m)
		default:
			n.out.Messages = append(n.out.Messages, m)
		}
	}
	rd.Messages = held
	n.out.Messages = append(n.out.Messages, n.batch.readResps...)
	n.batch.readResps = nil
}

// applyAhead applies, while rd's write is synced, the committed entries
// of rd that do not depend on it: those already durable here (below the
// write's first entry, and in the log before it), up to the first conf
// change. They are committed, so their answers can go out at once, and
// already durable, so a crash cannot take back what was applied (the
// sim's committed-entry-kept). Raft allows applying in parallel with the
// write (its Ready contract: only messages wait); finish applies the
// rest, after the write, as before.
func (n *Node) applyAhead(rd *raft.Ready) {
	durable, err := n.ms.LastIndex()
	if err != nil {
		panic(fmt.Sprintf("raftkv: node %x: last index: %v", n.cfg.ID, err))
	}
	if len(rd.Entries) > 0 {
		durable = min(durable, rd.Entries[0].GetIndex()-1)
	}
	k := 0
	for k < len(rd.CommittedEntries) {
		e := rd.CommittedEntries[k]
		if e.GetIndex() > durable || e.GetType() != pb.EntryNormal {
			break
		}
		k++
	}
	n.applyEntries(rd.CommittedEntries[:k])
}
