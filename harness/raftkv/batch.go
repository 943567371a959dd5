package raftkv

import (
	"errors"

	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
)

// Batching. A driver that feeds the node many inputs before it calls Ready
// (the process world does, while it waits for a sync) would otherwise have
// raft send one round of messages per input: an append to every follower
// per proposal, a heartbeat to every follower per read. Instead the node
// collects them and hands them to raft when Ready is called:
//
//   - the proposals of its own clients and the MsgProps its peers forward
//     to it become one MsgProp (raft appends them together and sends one
//     append per follower);
//   - the reads of its clients share one ReadIndex, whose context is the ID
//     of the batch's first read (request IDs are unique, so the context is
//     too); its read state answers every read of the batch.
//
// A batch of one is handed to raft exactly as the single input would have
// been, so a driver that calls Ready after every input (the sim) sees the
// same raft calls, in the same order, as without batching.
type batch struct {
	props    []*pb.Entry               // the next MsgProp's entries, in arrival order
	propIDs  []RequestID               // the node's own requests among them
	propMsgs []*pb.Message             // the MsgProps from peers folded into it
	reads    []RequestID               // reads waiting for the next ReadIndex
	readSets map[RequestID][]RequestID // ReadIndex contexts (first read) of batches of several reads
}

// queueProposal adds a client's write to the next MsgProp.
func (n *Node) queueProposal(id RequestID, data []byte) {
	n.batch.props = append(n.batch.props, &pb.Entry{Data: data})
	n.batch.propIDs = append(n.batch.propIDs, id)
}

// stepProposal folds a MsgProp forwarded by a peer into the next one.
func (n *Node) stepProposal(m *pb.Message) {
	n.batch.props = append(n.batch.props, m.GetEntries()...)
	n.batch.propMsgs = append(n.batch.propMsgs, m)
}

// flushProposals hands the collected proposals to raft as one MsgProp.
func (n *Node) flushProposals() {
	b := &n.batch
	if len(b.props) == 0 {
		return
	}
	m := &pb.Message{Type: pb.MsgProp.Enum(), From: new(n.cfg.ID), Entries: b.props}
	if len(b.propMsgs) == 1 && len(b.propIDs) == 0 {
		m = b.propMsgs[0] // a peer's proposal alone: as it came
	}
	ids := b.propIDs
	b.props, b.propIDs, b.propMsgs = nil, nil, nil
	err := n.rn.Step(m)
	if err != nil && !errors.Is(err, raft.ErrProposalDropped) {
		n.cfg.Logger.Logf("propose %d entries: %v", len(m.GetEntries()), err)
	}
	for _, id := range ids {
		switch {
		case err != nil:
			// Not in any log: it will never take effect.
			delete(n.writes, id)
			n.respond(Response{ID: id, Outcome: Fail, Err: "proposal dropped: " + err.Error()})
		case n.cfg.Bugs.Has(BugAckOnPropose):
			delete(n.writes, id)
			n.respond(Response{ID: id, Outcome: OK})
		}
	}
}

// flushReads asks raft for one read index for the collected reads.
func (n *Node) flushReads() {
	b := &n.batch
	if len(b.reads) == 0 {
		return
	}
	first := b.reads[0]
	if len(b.reads) > 1 {
		if b.readSets == nil {
			b.readSets = map[RequestID][]RequestID{}
		}
		b.readSets[first] = b.reads
	}
	b.reads = nil
	n.rn.ReadIndex(idBytes(first))
}

// readState records the read index raft confirmed for a context: of one
// read, or of every read of a batch.
func (n *Node) readState(rs raft.ReadState) {
	id, ok := bytesID(rs.RequestCtx)
	if !ok {
		return
	}
	ids := []RequestID{id}
	if set, ok := n.batch.readSets[id]; ok {
		ids = set
		delete(n.batch.readSets, id)
	}
	for _, id := range ids {
		if r := n.reads[id]; r != nil && !r.known {
			r.index, r.known = rs.Index, true
		}
	}
}

// forgetReadSets drops the batches none of whose reads still wait.
func (n *Node) forgetReadSets() {
	for first, set := range n.batch.readSets {
		waiting := false
		for _, id := range set {
			if r := n.reads[id]; r != nil && !r.known {
				waiting = true
				break
			}
		}
		if !waiting {
			delete(n.batch.readSets, first)
		}
	}
}
