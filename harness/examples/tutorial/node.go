package tutorial

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/splitbrain/splitbrain/harness/raftnode"
	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// Node is the tutorial node: a key-value map replicated by etcd raft's
// RawNode, written to the raftnode contract. It is not safe for
// concurrent use (its driver calls it from one goroutine).
type Node struct {
	cfg   raftnode.Config
	flaws flaws
	rn    *raft.RawNode
	ms    *raft.MemoryStorage
	st    *store

	applied   uint64 // the last index applied to st
	snapIndex uint64 // the index of the newest snapshot
	confState *pb.ConfState
	removed   bool
	// snapNow asks for a snapshot at once: a conf change applied after the
	// log was compacted. raft sends a node it adds only a snapshot whose
	// ConfState includes it (it ignores any other), so until a newer
	// snapshot exists the leader would send the new node the old one
	// again and again.
	snapNow   bool
	replaying uint64 // the commit index found at start

	// A Ready whose synced write is on its way to disk: nothing that
	// depends on it happens before WriteDone.
	inflight    *raft.Ready
	inflightSeq uint64
	writeSeq    uint64

	ticks uint64
	term  uint64 // as of the last Ready with a hard state
	lead  uint64
	state raft.StateType

	writes map[raftnode.RequestID]uint64 // pending writes: the tick they came
	reads  map[raftnode.RequestID]*read
	confs  map[raftnode.RequestID]uint64

	out raftnode.Output
}

// read is a read waiting for raft's read index, then for the node to
// apply up to it.
type read struct {
	key   string
	since uint64
	index uint64
	known bool
}

var _ raftnode.Node = (*Node)(nil)

// New starts a tutorial node with the given flaws (none: the corrected
// node), as raftnode.Factory asks: from its durable state, bootstrapping
// peers when it is an initial member that never completed its first
// write, joining when told to, and refusing with raftnode.ErrDataLost a
// member whose data is gone.
func New(cfg raftnode.Config, d *raftnode.Durable, peers []uint64, fs ...Flaw) (*Node, error) {
	if cfg.ID == 0 {
		return nil, errors.New("tutorial: node ID must not be 0")
	}
	cfg.ElectionTick = cmp.Or(cfg.ElectionTick, 10)
	cfg.HeartbeatTick = cmp.Or(cfg.HeartbeatTick, 1)
	cfg.RequestTimeoutTicks = cmp.Or(cfg.RequestTimeoutTicks, 5*cfg.ElectionTick)
	cfg.SnapshotEvery = cmp.Or(cfg.SnapshotEvery, 1000)
	cfg.CompactKeep = cmp.Or(cfg.CompactKeep, 100)
	n := &Node{cfg: cfg, flaws: flaws{}, ms: raft.NewMemoryStorage(), st: newStore(), confState: &pb.ConfState{},
		writes: map[raftnode.RequestID]uint64{}, reads: map[raftnode.RequestID]*read{}, confs: map[raftnode.RequestID]uint64{}}
	for _, f := range fs {
		n.flaws[f] = true
	}
	if d == nil || n.flaws[VolatileLog] {
		// The volatile-log flaw: whatever the disk holds, raft starts from
		// an empty MemoryStorage.
		d = &raftnode.Durable{}
	}
	bootstrap := false
	switch {
	case len(peers) > 0 && raftnode.IsEmptyHardState(d.HardState) && raftnode.IsEmptySnap(d.Snapshot):
		// An initial member whose first write (the bootstrap) never
		// completed: it acted on nothing, so it bootstraps again, over
		// whatever part of that write a torn disk kept.
		bootstrap = true
	case d.Empty() && !cfg.Join && !n.flaws[VolatileLog]:
		return nil, raftnode.ErrDataLost
	case !d.Empty():
		if err := d.Restore(n.ms); err != nil {
			return nil, fmt.Errorf("tutorial: %w", err)
		}
		if s := d.Snapshot; !raftnode.IsEmptySnap(s) {
			st, err := unmarshalStore(s.GetData())
			if err != nil {
				return nil, fmt.Errorf("tutorial: snapshot at %d: %w", s.GetMetadata().GetIndex(), err)
			}
			n.st, n.applied, n.snapIndex = st, s.GetMetadata().GetIndex(), s.GetMetadata().GetIndex()
			n.confState = s.GetMetadata().GetConfState()
		}
		n.replaying = d.HardState.GetCommit()
	}
	rn, err := raft.NewRawNode(&raft.Config{
		ID:                        cfg.ID,
		ElectionTick:              cfg.ElectionTick,
		HeartbeatTick:             cfg.HeartbeatTick,
		Storage:                   n.ms,
		Applied:                   n.applied,
		MaxSizePerMsg:             1 << 20,
		MaxInflightMsgs:           256,
		MaxUncommittedEntriesSize: 1 << 30,
		CheckQuorum:               true,
		PreVote:                   true,
		StepDownOnRemoval:         true,
		ReadOnlyOption:            raft.ReadOnlySafe,
		Logger:                    raftnode.RaftLogger(cfg.Logger),
	})
	if err != nil {
		return nil, fmt.Errorf("tutorial: %w", err)
	}
	n.rn = rn
	if bootstrap {
		ps := make([]raft.Peer, len(peers))
		for i, id := range peers {
			ps[i] = raft.Peer{ID: id}
		}
		if err := rn.Bootstrap(ps); err != nil {
			return nil, fmt.Errorf("tutorial: bootstrap: %w", err)
		}
	}
	return n, nil
}

// Tick implements raftnode.Node.
func (n *Node) Tick() {
	n.ticks++
	n.rn.Tick()
	n.expire()
}

// Step implements raftnode.Node.
func (n *Node) Step(m *pb.Message) {
	if err := n.rn.Step(m); err != nil && !errors.Is(err, raft.ErrStepPeerNotFound) && !errors.Is(err, raft.ErrProposalDropped) {
		n.cfg.Logger.Logf("step %s from %x: %v", m.GetType(), m.GetFrom(), err)
	}
}

// ReportSnapshot implements raftnode.Node.
func (n *Node) ReportSnapshot(to uint64, ok bool) {
	n.rn.ReportSnapshot(to, map[bool]raft.SnapshotStatus{true: raft.SnapshotFinish, false: raft.SnapshotFailure}[ok])
}

// ReportUnreachable implements raftnode.Node.
func (n *Node) ReportUnreachable(to uint64) { n.rn.ReportUnreachable(to) }

func (n *Node) respond(r raftnode.Response) { n.out.Responses = append(n.out.Responses, r) }

func (n *Node) fail(id raftnode.RequestID, why string) {
	n.respond(raftnode.Response{ID: id, Outcome: raftnode.Fail, Err: why})
}

// Request implements raftnode.Node: gets and puts; cas and delete are
// not supported (answered Fail: they did not happen).
func (n *Node) Request(req raftnode.Request) {
	switch {
	case n.removed:
		n.fail(req.ID, "node removed from the cluster")
	case req.Op == raftnode.OpGet:
		n.read(req)
	case req.Op == raftnode.OpPut:
		n.put(req)
	default:
		n.fail(req.ID, fmt.Sprintf("%s is not supported by the tutorial node", req.Op))
	}
}

func (n *Node) read(req raftnode.Request) {
	if n.flaws[LocalReads] {
		n.respond(raftnode.Response{ID: req.ID, Outcome: raftnode.OK, Value: n.st.get(req.Key)})
		return
	}
	if _, dup := n.reads[req.ID]; dup {
		n.fail(req.ID, "duplicate request id")
		return
	}
	n.reads[req.ID] = &read{key: req.Key, since: n.ticks}
	n.rn.ReadIndex(idBytes(req.ID))
}

func (n *Node) put(req raftnode.Request) {
	if !validKey(req.Key) {
		n.fail(req.ID, fmt.Sprintf("key %q: keys must not contain ':' or begin with '#'", req.Key))
		return
	}
	p := proposal{key: req.Key, val: req.Value}
	if n.flaws[AckOnPropose] {
		if err := n.rn.Propose(p.encode()); err != nil {
			n.fail(req.ID, "proposal dropped: "+err.Error())
			return
		}
		n.respond(raftnode.Response{ID: req.ID, Outcome: raftnode.OK}) // the flaw: not yet committed
		return
	}
	if _, dup := n.writes[req.ID]; dup {
		n.fail(req.ID, "duplicate request id")
		return
	}
	p.id, p.hasID = req.ID, true
	if err := n.rn.Propose(p.encode()); err != nil {
		n.fail(req.ID, "proposal dropped: "+err.Error()) // in no log: it never takes effect
		return
	}
	n.writes[req.ID] = n.ticks
}

// ProposeConfChange implements raftnode.Node.
func (n *Node) ProposeConfChange(id raftnode.RequestID, cc *pb.ConfChangeV2) {
	cc = proto.Clone(cc).(*pb.ConfChangeV2)
	cc.Context = idBytes(id)
	if err := n.rn.ProposeConfChange(cc); err != nil {
		n.fail(id, "conf change dropped: "+err.Error())
		return
	}
	n.confs[id] = n.ticks
}

func idBytes(id raftnode.RequestID) []byte {
	return binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, id.Client), id.Seq)
}

func bytesID(b []byte) (raftnode.RequestID, bool) {
	if len(b) != 16 {
		return raftnode.RequestID{}, false
	}
	return raftnode.RequestID{Client: binary.BigEndian.Uint64(b), Seq: binary.BigEndian.Uint64(b[8:])}, true
}

func sortedIDs[V any](m map[raftnode.RequestID]V) []raftnode.RequestID {
	return slices.SortedFunc(maps.Keys(m), func(a, b raftnode.RequestID) int {
		return cmp.Or(cmp.Compare(a.Client, b.Client), cmp.Compare(a.Seq, b.Seq))
	})
}

// expire answers requests pending longer than RequestTimeoutTicks: a
// write or a conf change may still commit (Unknown), a read has no effect
// (Fail). In order of ID, so that runs repeat exactly.
func (n *Node) expire() {
	limit := uint64(n.cfg.RequestTimeoutTicks)
	if n.ticks < limit || len(n.writes)+len(n.reads)+len(n.confs) == 0 {
		return
	}
	old := n.ticks - limit
	for _, id := range sortedIDs(n.writes) {
		if n.writes[id] <= old {
			delete(n.writes, id)
			n.respond(raftnode.Response{ID: id, Outcome: raftnode.Unknown, Err: "timed out waiting for commit"})
		}
	}
	for _, id := range sortedIDs(n.reads) {
		if n.reads[id].since <= old {
			delete(n.reads, id)
			n.fail(id, "read timed out")
		}
	}
	for _, id := range sortedIDs(n.confs) {
		if n.confs[id] <= old {
			delete(n.confs, id)
			n.respond(raftnode.Response{ID: id, Outcome: raftnode.Unknown, Err: "timed out waiting for the conf change"})
		}
	}
}

// Ready implements raftnode.Node: raft's Ready loop, in the order raft
// documents — persist, then send, then apply, then Advance — with the
// driver doing the persisting: a Ready that must be synced waits in
// n.inflight for WriteDone.
func (n *Node) Ready() raftnode.Output {
	for n.inflight == nil && n.rn.HasReady() {
		rd := n.rn.Ready()
		n.observe(rd.SoftState)
		if rd.HardState != nil {
			n.term = rd.HardState.GetTerm()
		}
		for _, rs := range rd.ReadStates {
			if id, ok := bytesID(rs.RequestCtx); ok {
				if r := n.reads[id]; r != nil {
					r.index, r.known = rs.Index, true
				}
			}
		}
		if rd.HardState == nil && len(rd.Entries) == 0 && raft.IsEmptySnap(rd.Snapshot) {
			n.finish(&rd) // nothing to persist
			continue
		}
		n.writeSeq++
		w := &raftnode.Write{Seq: n.writeSeq, Sync: rd.MustSync, HardState: rd.HardState, Entries: rd.Entries}
		if !raft.IsEmptySnap(rd.Snapshot) {
			w.Snapshot, w.Sync = rd.Snapshot, true
		}
		n.out.Writes = append(n.out.Writes, w)
		if w.Sync {
			n.inflight, n.inflightSeq = &rd, w.Seq
			break
		}
		n.finish(&rd)
	}
	n.answerReads()
	out := n.out
	n.out = raftnode.Output{}
	return out
}

// WriteDone implements raftnode.Node.
func (n *Node) WriteDone(seq uint64) {
	if n.inflight == nil || seq != n.inflightSeq {
		panic(fmt.Sprintf("tutorial: node %x: WriteDone(%d), but the write in flight is %d", n.cfg.ID, seq, n.inflightSeq))
	}
	rd := n.inflight
	n.inflight = nil
	n.finish(rd)
}

// finish completes a Ready whose write is durable: raft's storage catches
// up, messages go out, committed entries are applied, raft advances.
func (n *Node) finish(rd *raft.Ready) {
	if s := rd.Snapshot; !raft.IsEmptySnap(s) {
		if err := n.ms.ApplySnapshot(s); err != nil {
			panic(fmt.Sprintf("tutorial: node %x: snapshot %d: %v", n.cfg.ID, s.GetMetadata().GetIndex(), err))
		}
		n.install(s)
	}
	if rd.HardState != nil {
		if err := n.ms.SetHardState(rd.HardState); err != nil {
			panic(fmt.Sprintf("tutorial: node %x: hard state: %v", n.cfg.ID, err))
		}
	}
	if err := n.ms.Append(rd.Entries); err != nil {
		panic(fmt.Sprintf("tutorial: node %x: append: %v", n.cfg.ID, err))
	}
	n.out.Messages = append(n.out.Messages, rd.Messages...)
	n.apply(rd.CommittedEntries)
	n.rn.Advance(*rd)
	n.maybeSnapshot()
}

// install loads a snapshot received from the leader into the map.
func (n *Node) install(s *pb.Snapshot) {
	md := s.GetMetadata()
	if !n.flaws[NoSnapshots] {
		st, err := unmarshalStore(s.GetData())
		if err != nil {
			panic(fmt.Sprintf("tutorial: node %x: snapshot %d: %v", n.cfg.ID, md.GetIndex(), err))
		}
		n.st = st
	} // the flaw: snapshots are not implemented; the map stays as it was
	n.applied, n.snapIndex, n.confState = md.GetIndex(), md.GetIndex(), md.GetConfState()
	n.cfg.Logger.Logf("installed snapshot at index %d term %d", md.GetIndex(), md.GetTerm())
	n.out.Applied = append(n.out.Applied, raftnode.Applied{Index: md.GetIndex(), Term: md.GetTerm(), Snapshot: true, StateHash: n.st.hash})
}

func (n *Node) apply(ents []*pb.Entry) {
	for _, e := range ents {
		if e.GetIndex() <= n.applied {
			continue
		}
		if e.GetIndex() != n.applied+1 {
			panic(fmt.Sprintf("tutorial: node %x: entry %d after %d", n.cfg.ID, e.GetIndex(), n.applied))
		}
		switch e.GetType() {
		case pb.EntryNormal:
			if len(e.GetData()) > 0 { // a new leader's entry is empty
				n.applyProposal(e)
			}
		case pb.EntryConfChange, pb.EntryConfChangeV2:
			n.applyConfChange(e)
		}
		n.applied = e.GetIndex()
		n.out.Applied = append(n.out.Applied, raftnode.Applied{Index: e.GetIndex(), Term: e.GetTerm(), StateHash: n.st.hash})
	}
}

func (n *Node) applyProposal(e *pb.Entry) {
	p, err := parseProposal(e.GetData())
	if err != nil {
		panic(fmt.Sprintf("tutorial: node %x: entry %d: %v", n.cfg.ID, e.GetIndex(), err))
	}
	if p.hasID {
		if last, ok := n.st.Sessions[p.id.Client]; ok && p.id.Seq <= last {
			return // applied before: raft delivered the proposal twice
		}
		n.st.session(p.id.Client, p.id.Seq)
	}
	n.st.put(p.key, p.val)
	if _, pending := n.writes[p.id]; pending && p.hasID {
		delete(n.writes, p.id)
		n.respond(raftnode.Response{ID: p.id, Outcome: raftnode.OK})
	}
}

func (n *Node) applyConfChange(e *pb.Entry) {
	var cc pb.ConfChangeI
	if e.GetType() == pb.EntryConfChange {
		var c1 pb.ConfChange
		if err := proto.Unmarshal(e.GetData(), &c1); err != nil {
			panic(fmt.Sprintf("tutorial: node %x: conf change %d: %v", n.cfg.ID, e.GetIndex(), err))
		}
		cc = &c1
	} else {
		var c2 pb.ConfChangeV2
		if err := proto.Unmarshal(e.GetData(), &c2); err != nil {
			panic(fmt.Sprintf("tutorial: node %x: conf change %d: %v", n.cfg.ID, e.GetIndex(), err))
		}
		cc = &c2
	}
	n.confState = n.rn.ApplyConfChange(cc)
	n.snapNow = n.snapIndex > 0
	me := n.cfg.ID
	n.removed = !slices.Contains(n.confState.GetVoters(), me) && !slices.Contains(n.confState.GetLearners(), me) &&
		!slices.Contains(n.confState.GetVotersOutgoing(), me)
	n.cfg.Logger.Logf("applied conf change at %d: voters %v learners %v", e.GetIndex(), n.confState.GetVoters(), n.confState.GetLearners())
	if id, ok := bytesID(cc.AsV2().GetContext()); ok {
		if _, pending := n.confs[id]; pending {
			delete(n.confs, id)
			n.respond(raftnode.Response{ID: id, Outcome: raftnode.OK})
		}
	}
}

// answerReads answers the reads whose read index the node has applied.
func (n *Node) answerReads() {
	if len(n.reads) == 0 {
		return
	}
	for _, id := range sortedIDs(n.reads) {
		if r := n.reads[id]; r.known && r.index <= n.applied {
			delete(n.reads, id)
			n.respond(raftnode.Response{ID: id, Outcome: raftnode.OK, Value: n.st.get(r.key)})
		}
	}
}

// observe follows raft's soft state. When the leader changes, reads still
// waiting for their read index will never get one: they fail (a read has
// no effect, so that is safe).
func (n *Node) observe(ss *raft.SoftState) {
	if ss == nil {
		return
	}
	changed := ss.Lead != n.lead
	n.lead, n.state = ss.Lead, ss.RaftState
	if !changed {
		return
	}
	for _, id := range sortedIDs(n.reads) {
		if !n.reads[id].known {
			delete(n.reads, id)
			n.fail(id, "leader changed before the read was confirmed")
		}
	}
}

// maybeSnapshot snapshots every SnapshotEvery applied entries (and right
// after a conf change, once the log was compacted) and compacts the
// MemoryStorage behind it, keeping CompactKeep entries.
func (n *Node) maybeSnapshot() {
	if n.applied < n.snapIndex+n.cfg.SnapshotEvery && !(n.snapNow && n.applied > n.snapIndex) {
		return
	}
	n.snapNow = false
	var data []byte // the no-snapshots flaw: a snapshot with no state
	if !n.flaws[NoSnapshots] {
		data = n.st.marshal()
	}
	snap, err := n.ms.CreateSnapshot(n.applied, n.confState, data)
	if errors.Is(err, raft.ErrSnapOutOfDate) {
		return
	} else if err != nil {
		panic(fmt.Sprintf("tutorial: node %x: snapshot at %d: %v", n.cfg.ID, n.applied, err))
	}
	n.snapIndex = n.applied
	var compact uint64
	if n.applied > n.cfg.CompactKeep {
		compact = n.applied - n.cfg.CompactKeep
		if err := n.ms.Compact(compact); err != nil && !errors.Is(err, raft.ErrCompacted) {
			panic(fmt.Sprintf("tutorial: node %x: compact to %d: %v", n.cfg.ID, compact, err))
		}
	}
	n.writeSeq++
	n.out.Writes = append(n.out.Writes, &raftnode.Write{Seq: n.writeSeq, LocalSnapshot: snap, Compact: compact})
}

// Leading implements raftnode.Node.
func (n *Node) Leading() (uint64, bool) { return n.term, n.state == raft.StateLeader }

// Status implements raftnode.Node.
func (n *Node) Status() raftnode.Status {
	bs := n.rn.BasicStatus()
	return raftnode.Status{ID: n.cfg.ID, Term: bs.HardState.GetTerm(), Lead: bs.Lead, State: bs.RaftState,
		Commit: bs.HardState.GetCommit(), Applied: n.applied,
		Voters: n.confState.GetVoters(), Learners: n.confState.GetLearners(),
		Removed: n.removed, Replaying: n.applied < n.replaying}
}
