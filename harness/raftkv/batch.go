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
//   - the reads of its clients, and at a leader the read index requests
//     its followers forward (MsgReadIndex), share one ReadIndex: one
//     heartbeat round confirms them all. Its context is the ID of the
//     batch's first read (a follower's context is the ID of its own first
//     read), unique since request IDs are; its read state answers every
//     read of the batch, and the leader answers each follower with the
//     MsgReadIndexResp raft would have sent, along with the messages of
//     the same Ready. The read index is the leader's commit index after
//     the requests arrived, confirmed by a quorum after they arrived: what
//     raft itself gives each.
//
// A batch of one is handed to raft exactly as the single input would have
// been, so a driver that calls Ready after every input (the sim, but for a
// node resuming from a pause) sees the same raft calls, in the same order,
// as without batching.
type batch struct {
	props    []*pb.Entry   // the next MsgProp's entries, in arrival order
	propIDs  []RequestID   // the node's own requests among them
	propMsgs []*pb.Message // the MsgProps from peers folded into it
	reads    []RequestID   // reads waiting for the next ReadIndex
	remote   []*pb.Message // MsgReadIndex from followers, for the next ReadIndex
	// readSets are the ReadIndex contexts (their first read) of batches of
	// more than one read.
	readSets map[RequestID]*readSet
	// readResps answer followers' reads confirmed in the Ready in
	// progress; they go out with its messages (finish).
	readResps []*pb.Message
}

type readSet struct {
	local  []RequestID
	remote []*pb.Message
	since  uint64 // tick count when asked
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

// batchable reports whether m is a follower's read index request that
// can join a batch: forwarded as raft forwards it, with one context of
// the size of a request ID.
func (n *Node) batchable(m *pb.Message) bool {
	return m.GetType() == pb.MsgReadIndex && m.GetTerm() == 0 && m.GetFrom() != 0 && m.GetFrom() != n.cfg.ID &&
		len(m.GetEntries()) == 1 && len(m.GetEntries()[0].GetData()) == 16
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
	local, remote := b.reads, b.remote
	b.reads, b.remote = nil, nil
	if len(remote) > 0 && (len(local) > 0 || len(remote) > 1) && n.rn.BasicStatus().RaftState != raft.StateLeader {
		// No longer the leader: raft forwards (or drops) each request.
		for _, m := range remote {
			n.stepRaft(m)
		}
		remote = nil
	}
	switch {
	case len(local) == 0 && len(remote) == 0:
		return
	case len(local) == 0 && len(remote) == 1:
		n.stepRaft(remote[0]) // a follower's request alone: as it came
		return
	}
	var first RequestID
	if len(local) > 0 {
		first = local[0]
	} else {
		first, _ = bytesID(remote[0].GetEntries()[0].GetData())
	}
	if len(local)+len(remote) > 1 {
		if b.readSets == nil {
			b.readSets = map[RequestID]*readSet{}
		}
		b.readSets[first] = &readSet{local: local, remote: remote, since: n.ticks}
	}
	n.rn.ReadIndex(idBytes(first))
}

// readState records the read index raft confirmed for a context: of one
// read, or of every read of a batch (term is raft's current term, for
// the answers to followers).
func (n *Node) readState(rs raft.ReadState, term uint64) {
	id, ok := bytesID(rs.RequestCtx)
	if !ok {
		return
	}
	set := n.batch.readSets[id]
	if set == nil {
		set = &readSet{local: []RequestID{id}}
	} else {
		delete(n.batch.readSets, id)
	}
	for _, id := range set.local {
		if r := n.reads[id]; r != nil && !r.known {
			r.index, r.known = rs.Index, true
		}
	}
	for _, m := range set.remote {
		n.batch.readResps = append(n.batch.readResps, &pb.Message{Type: pb.MsgReadIndexResp.Enum(), To: m.From,
			From: new(n.cfg.ID), Term: new(term), Index: new(rs.Index), Entries: m.GetEntries()})
	}
}

// forgetReadSets drops the batches none of whose reads still wait: the
// node's own reads answered or expired, its followers' asked more than a
// request timeout ago (they have given up).
func (n *Node) forgetReadSets() {
	for first, set := range n.batch.readSets {
		waiting := len(set.remote) > 0 && n.ticks-set.since <= uint64(n.cfg.RequestTimeoutTicks)
		for _, id := range set.local {
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
