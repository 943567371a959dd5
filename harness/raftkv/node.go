package raftkv

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/splitbrain/splitbrain/harness/raftnode"
	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// Config configures a node. Zero fields take the defaults noted.
type Config struct {
	ID            uint64 // raft ID, never 0, never reused
	ElectionTick  int    // default 10
	HeartbeatTick int    // default 1
	// SnapshotEvery makes a snapshot after this many applied entries and
	// compacts the log behind it, keeping CompactKeep entries for slow
	// followers. Defaults 1000 and 100; tests use small values so that
	// followers really catch up by snapshot.
	SnapshotEvery uint64
	CompactKeep   uint64
	// RequestTimeoutTicks ends a request still pending after this many
	// ticks: Unknown for a write (it may yet commit), Fail for a read (it
	// has no effect). Default 5 × ElectionTick.
	RequestTimeoutTicks int
	// Join says the node is new and joins a running cluster that has added
	// (or will add) it by a configuration change. A node that finds no
	// durable state, is given no peers to bootstrap and is not joining has
	// lost its data: New refuses it with ErrDataLost, because rejoining
	// under its old ID with an empty log would let it vote as if it had
	// never acknowledged anything. It must be replaced under a new ID.
	Join bool
	// Bugs enables known-bug canaries. Off by default.
	Bugs Bugs
	// Logger receives the node's and raft's log lines. Default: discard.
	Logger Logger
}

// Logger receives log lines (raftnode's). The core adds no timestamps:
// its driver does.
type Logger = raftnode.Logger

func (c *Config) validate() error {
	if c.ID == 0 {
		return errors.New("raftkv: node ID must not be 0")
	}
	if c.ElectionTick == 0 {
		c.ElectionTick = 10
	}
	if c.HeartbeatTick == 0 {
		c.HeartbeatTick = 1
	}
	if c.ElectionTick <= c.HeartbeatTick {
		return fmt.Errorf("raftkv: ElectionTick %d must exceed HeartbeatTick %d", c.ElectionTick, c.HeartbeatTick)
	}
	if c.SnapshotEvery == 0 {
		c.SnapshotEvery = 1000
	}
	if c.CompactKeep == 0 {
		c.CompactKeep = 100
	}
	if c.RequestTimeoutTicks == 0 {
		c.RequestTimeoutTicks = 5 * c.ElectionTick
	}
	if c.Logger == nil {
		c.Logger = discard{}
	}
	return nil
}

type discard struct{}

func (discard) Logf(string, ...any) {}

// Output and Applied are the node contract's (package raftnode): what
// the node asks of its driver after an input, and one step of the state
// machine as the sim's invariants see it.
type (
	Output  = raftnode.Output
	Applied = raftnode.Applied
)

type pendingWrite struct {
	req   Request
	since uint64 // tick count when received
}

type pendingRead struct {
	req   Request
	since uint64
	index uint64 // read index once known
	known bool
}

type pendingConf struct {
	id    RequestID
	since uint64
}

// Node is the reference raft KV node, sans-IO: a value fed with inputs
// (Tick, Step, Request, ProposeConfChange, WriteDone) that returns outputs
// through Ready. It starts no goroutines, reads no clock and touches no
// files; its drivers (the sim, the process world) do all of that. It is not
// safe for concurrent use.
type Node struct {
	cfg Config
	rn  *raft.RawNode
	ms  *raft.MemoryStorage
	kv  *KV

	applied   uint64
	snapIndex uint64
	confState *pb.ConfState
	removed   bool
	replaying uint64 // commit index found at start; applied < replaying means replay is in progress

	inflight    *raft.Ready // a synced write is on its way to disk
	inflightSeq uint64
	writeSeq    uint64
	lastSnap    []byte // state machine at the previous snapshot (stale-snapshot canary)
	// snapNow forces a snapshot: a conf change was applied after the log
	// was compacted, and raft will only send a joining node a snapshot
	// whose ConfState includes it.
	snapNow bool
	ticks   uint64
	lead    uint64
	state   raft.StateType
	term    uint64 // as of the last Ready with a hard state
	// hsTerm and hsVote are the term and vote of the last hard state
	// written: durable whenever no synced write is in flight, since a
	// change of either is always synced.
	hsTerm, hsVote uint64

	writes map[RequestID]*pendingWrite
	reads  map[RequestID]*pendingRead
	confs  map[RequestID]*pendingConf
	batch  batch // proposals and reads for raft at the next Ready (batch.go)

	out Output
}

// ErrDataLost is returned by New for a member whose storage is empty: it
// must be replaced under a new ID, not restarted (raftnode.ErrDataLost).
var ErrDataLost = raftnode.ErrDataLost

var _ raftnode.Node = (*Node)(nil)

// System is the reference node as the harness runs it, with the given
// canaries enabled (none by default): it reports every applied entry and
// the state's hash after it, so the sim checks every invariant. The
// config the harness passes sets the tuning fields of Config; Bugs are
// raftkv's own.
func System(bugs Bugs) raftnode.System {
	return raftnode.System{
		Name:    "raftkv",
		Reports: raftnode.Reports{Applied: true, StateHash: true},
		New: func(c raftnode.Config, d *raftnode.Durable, peers []uint64) (raftnode.Node, error) {
			return New(FromContract(c, bugs), d, peers)
		},
	}
}

// FromContract is the raftkv Config for a node the harness starts with c.
func FromContract(c raftnode.Config, bugs Bugs) Config {
	return Config{ID: c.ID, Join: c.Join, ElectionTick: c.ElectionTick, HeartbeatTick: c.HeartbeatTick,
		RequestTimeoutTicks: c.RequestTimeoutTicks, SnapshotEvery: c.SnapshotEvery, CompactKeep: c.CompactKeep,
		Logger: c.Logger, Bugs: bugs}
}

// New starts a node from what its storage holds. If durable is empty and
// peers is not, the node bootstraps a new cluster of peers (which must
// include cfg.ID). If durable is empty and peers is empty, the node joins a
// running cluster: it waits for the leader to send it the log or a
// snapshot after it has been added by a configuration change.
func New(cfg Config, durable *Durable, peers []uint64) (*Node, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	n := &Node{
		cfg:    cfg,
		ms:     raft.NewMemoryStorage(),
		kv:     NewKV(),
		writes: map[RequestID]*pendingWrite{},
		reads:  map[RequestID]*pendingRead{},
		confs:  map[RequestID]*pendingConf{},
	}
	if durable.Empty() && len(peers) == 0 && !cfg.Join && !cfg.Bugs.Has(BugAmnesiaRejoin) {
		return nil, ErrDataLost
	}
	if len(peers) > 0 && partialBootstrap(durable, peers) {
		// The bootstrap write was torn: it never completed, so the node
		// never sent a message (the Ready contract) and acknowledged
		// nothing. Start over exactly as it first started.
		cfg.Logger.Logf("partial bootstrap found (%d of %d conf-change entries, no hard state): bootstrapping again", len(durable.Entries), len(peers))
		durable = &Durable{}
	}
	if !durable.Empty() {
		if err := n.restore(durable); err != nil {
			return nil, err
		}
	}
	rc := &raft.Config{
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
		// A leader that removes itself must step down, or it goes on
		// heartbeating the others, who then never elect a new leader.
		StepDownOnRemoval: true,
		ReadOnlyOption:    raft.ReadOnlySafe,
		Logger:            &raftLogger{n: n},
	}
	if cfg.Bugs.Has(BugLeaseReads) {
		rc.ReadOnlyOption = raft.ReadOnlyLeaseBased
	}
	if cfg.Bugs.Has(BugNoPreVoteCheckQuorum) {
		rc.CheckQuorum, rc.PreVote = false, false
	}
	rn, err := raft.NewRawNode(rc)
	if err != nil {
		return nil, fmt.Errorf("raftkv: %w", err)
	}
	n.rn = rn
	if durable.Empty() && len(peers) > 0 {
		ps := make([]raft.Peer, len(peers))
		for i, id := range peers {
			ps[i] = raft.Peer{ID: id}
		}
		if err := rn.Bootstrap(ps); err != nil {
			return nil, fmt.Errorf("raftkv: bootstrap: %w", err)
		}
	}
	return n, nil
}

// restore rebuilds the node from durable state only: the snapshot gives the
// state machine, the log the entries after it (which raft hands back as
// committed entries to replay up to the durable commit index).
func (n *Node) restore(d *Durable) error {
	if err := d.Restore(n.ms); err != nil {
		return fmt.Errorf("raftkv: %w", err)
	}
	if !isEmptySnap(d.Snapshot) {
		kv, err := unmarshalKV(d.Snapshot.GetData())
		if err != nil {
			return fmt.Errorf("raftkv: snapshot at index %d is corrupt: %w", d.Snapshot.GetMetadata().GetIndex(), err)
		}
		n.kv = kv
		n.applied = d.Snapshot.GetMetadata().GetIndex()
		n.snapIndex = n.applied
		n.confState = d.Snapshot.GetMetadata().GetConfState()
	}
	n.replaying = d.HardState.GetCommit()
	n.hsTerm, n.hsVote = d.HardState.GetTerm(), d.HardState.GetVote()
	return nil
}

// partialBootstrap reports whether d is what a torn bootstrap write leaves:
// no hard state, no snapshot, and a non-empty prefix of the conf-change
// entries RawNode.Bootstrap(peers) writes (index i+1, term 1, adding
// peers[i]). Bootstrap's entries and its hard state (term 1, commit
// len(peers)) are one synced write; until it is durable the node sends
// nothing, so such a state was never acted on.
func partialBootstrap(d *Durable, peers []uint64) bool {
	if d.Empty() || !isEmptyHardState(d.HardState) || !isEmptySnap(d.Snapshot) || len(d.Entries) > len(peers) {
		return false
	}
	for i, e := range d.Entries {
		if e.GetIndex() != uint64(i+1) || e.GetTerm() != 1 || e.GetType() != pb.EntryConfChange {
			return false
		}
		var cc pb.ConfChange
		if err := proto.Unmarshal(e.GetData(), &cc); err != nil || cc.GetType() != pb.ConfChangeAddNode || cc.GetNodeId() != peers[i] {
			return false
		}
	}
	return true
}

// ID returns the node's raft ID.
func (n *Node) ID() uint64 { return n.cfg.ID }

// Tick advances the node's logical clock by one tick.
func (n *Node) Tick() {
	n.ticks++
	n.rn.Tick()
	n.expire()
}

// Step feeds a message from a peer. Messages from unknown peers and stale
// responses are dropped, as raft asks.
func (n *Node) Step(m *pb.Message) {
	switch {
	case m.GetType() == pb.MsgProp && m.GetTerm() == 0 && len(m.GetEntries()) > 0:
		n.stepProposal(m)
		return
	case n.batchable(m):
		n.batch.remote = append(n.batch.remote, m)
		return
	}
	n.stepRaft(m)
}

// stepRaft hands m to raft.
func (n *Node) stepRaft(m *pb.Message) {
	if err := n.rn.Step(m); err != nil && !errors.Is(err, raft.ErrStepPeerNotFound) && !errors.Is(err, raft.ErrStepLocalMsg) && !errors.Is(err, raft.ErrProposalDropped) {
		n.cfg.Logger.Logf("step %s from %x: %v", m.GetType(), m.GetFrom(), err)
	}
}

// ReportUnreachable tells raft a message to peer id could not be sent.
func (n *Node) ReportUnreachable(id uint64) { n.rn.ReportUnreachable(id) }

// ReportSnapshot tells raft whether the snapshot sent to id arrived.
func (n *Node) ReportSnapshot(id uint64, ok bool) {
	st := raft.SnapshotFinish
	if !ok {
		st = raft.SnapshotFailure
	}
	n.rn.ReportSnapshot(id, st)
}

// Request submits a client request. Its Response comes out of a later
// Ready (possibly the very next one).
func (n *Node) Request(req Request) {
	if n.removed {
		n.respond(Response{ID: req.ID, Outcome: Fail, Err: "node removed from the cluster"})
		return
	}
	switch req.Op {
	case OpGet:
		n.read(req)
	case OpPut, OpCAS, OpDelete:
		n.propose(req)
	default:
		n.respond(Response{ID: req.ID, Outcome: Fail, Err: fmt.Sprintf("unknown operation %d", req.Op)})
	}
}

func (n *Node) respond(r Response) { n.out.Responses = append(n.out.Responses, r) }

func (n *Node) read(req Request) {
	if _, dup := n.reads[req.ID]; dup {
		n.respond(Response{ID: req.ID, Outcome: Fail, Err: "duplicate request id"})
		return
	}
	if n.cfg.Bugs.Has(BugLocalReads) || n.cfg.Bugs.Has(BugLeaderUnverifiedReads) && n.state == raft.StateLeader {
		n.respond(Response{ID: req.ID, Outcome: OK, Value: n.kv.Get(req.Key)})
		return
	}
	n.reads[req.ID] = &pendingRead{req: req, since: n.ticks}
	n.batch.reads = append(n.batch.reads, req.ID)
}

func (n *Node) propose(req Request) {
	if _, dup := n.writes[req.ID]; dup {
		n.respond(Response{ID: req.ID, Outcome: Fail, Err: "duplicate request id"})
		return
	}
	cmd := command{ID: req.ID, Op: req.Op, Key: req.Key, Value: req.Value, Expected: req.Expected}
	n.writes[req.ID] = &pendingWrite{req: req, since: n.ticks}
	n.queueProposal(req.ID, cmd.marshal())
}

// ProposeConfChange proposes a membership change; its Response (by id)
// comes once it is applied, or Unknown on timeout.
func (n *Node) ProposeConfChange(id RequestID, cc *pb.ConfChangeV2) {
	n.flushProposals() // in the order they came
	cc = proto.Clone(cc).(*pb.ConfChangeV2)
	cc.Context = idBytes(id)
	if err := n.rn.ProposeConfChange(cc); err != nil {
		n.respond(Response{ID: id, Outcome: Fail, Err: "conf change dropped: " + err.Error()})
		return
	}
	if n.cfg.Bugs.Has(BugConfChangeOnPropose) && n.state == raft.StateLeader {
		n.confState = n.rn.ApplyConfChange(cc)
	}
	n.confs[id] = &pendingConf{id: id, since: n.ticks}
}

// Campaign makes the node start an election now (used by tests).
func (n *Node) Campaign() error { return n.rn.Campaign() }

// TransferLeader asks the leader to hand leadership to id.
func (n *Node) TransferLeader(id uint64) { n.rn.TransferLeader(id) }

func idBytes(id RequestID) []byte {
	b := make([]byte, 16)
	binary.BigEndian.PutUint64(b, id.Client)
	binary.BigEndian.PutUint64(b[8:], id.Seq)
	return b
}

func bytesID(b []byte) (RequestID, bool) {
	if len(b) != 16 {
		return RequestID{}, false
	}
	return RequestID{Client: binary.BigEndian.Uint64(b), Seq: binary.BigEndian.Uint64(b[8:])}, true
}

// expire ends requests pending longer than RequestTimeoutTicks.
func (n *Node) expire() {
	limit := uint64(n.cfg.RequestTimeoutTicks)
	// Checked every few ticks: a timeout a few ticks late is still a
	// timeout, and the scan is not free on every tick of every node.
	if n.ticks < limit || n.ticks%4 != 0 || len(n.writes)+len(n.reads)+len(n.confs) == 0 {
		return
	}
	old := n.ticks - limit
	for _, id := range sortedIDs(n.writes) {
		if w := n.writes[id]; w.since <= old {
			delete(n.writes, id)
			n.respond(n.unknown(id, "timed out waiting for commit"))
		}
	}
	for _, id := range sortedIDs(n.reads) {
		if r := n.reads[id]; r.since <= old {
			delete(n.reads, id)
			n.respond(Response{ID: id, Outcome: Fail, Err: "read timed out (no effect)"})
		}
	}
	n.forgetReadSets()
	for _, id := range sortedIDs(n.confs) {
		if c := n.confs[id]; c.since <= old {
			delete(n.confs, id)
			n.respond(n.unknown(id, "timed out waiting for the conf change to apply"))
		}
	}
}

// unknown is the response for an operation whose outcome the node cannot
// know. The definite-on-unknown canary reports it as a failure instead.
func (n *Node) unknown(id RequestID, why string) Response {
	if n.cfg.Bugs.Has(BugDefiniteOnUnknown) {
		return Response{ID: id, Outcome: Fail, Err: why}
	}
	return Response{ID: id, Outcome: Unknown, Err: why}
}

// Ready runs the node as far as it can without its driver and returns what
// the driver must do. Call it after every input. While a synced write is in
// flight the node holds back everything that depends on it.
func (n *Node) Ready() Output {
	n.flushProposals()
	n.flushReads()
	for n.inflight == nil && n.rn.HasReady() {
		rd := n.rn.Ready()
		n.observeSoftState(rd.SoftState)
		if rd.HardState != nil {
			n.term = rd.HardState.GetTerm()
		}
		if len(rd.ReadStates) > 0 {
			term := n.rn.BasicStatus().GetTerm()
			for _, rs := range rd.ReadStates {
				n.readState(rs, term)
			}
		}
		if rd.HardState == nil && len(rd.Entries) == 0 && raft.IsEmptySnap(rd.Snapshot) {
			n.finish(&rd)
			continue
		}
		// Term and vote durable already: nothing this Ready sends
		// claims a newer one.
		durableTerm := rd.HardState == nil || rd.HardState.GetTerm() == n.hsTerm && rd.HardState.GetVote() == n.hsVote
		if rd.HardState != nil {
			n.hsTerm, n.hsVote = rd.HardState.GetTerm(), rd.HardState.GetVote()
		}
		w := n.newWrite(&Write{Sync: rd.MustSync, HardState: rd.HardState, Entries: rd.Entries})
		if !raft.IsEmptySnap(rd.Snapshot) {
			w.Snapshot = rd.Snapshot
			w.Sync = true
		}
		if n.cfg.Bugs.Has(BugForgetVote) && w.HardState != nil {
			hs := proto.Clone(w.HardState).(*pb.HardState)
			hs.Vote = new(uint64(0))
			w.HardState = hs
		}
		if n.cfg.Bugs.Has(BugNoFsync) {
			w.Sync = false
		}
		if w.Sync {
			n.inflight, n.inflightSeq = &rd, w.Seq
			if durableTerm && raft.IsEmptySnap(rd.Snapshot) {
				n.sendAhead(n.inflight)
				n.applyAhead(n.inflight)
			}
			break
		}
		n.finish(&rd)
	}
	n.answerReads()
	out := n.out
	n.out = Output{}
	return out
}

// WriteDone tells the node that write seq (and every earlier one) is
// durable.
func (n *Node) WriteDone(seq uint64) {
	if n.inflight == nil || seq != n.inflightSeq {
		panic(fmt.Sprintf("raftkv: node %x: WriteDone(%d) but the write in flight is %d (inflight %v)", n.cfg.ID, seq, n.inflightSeq, n.inflight != nil))
	}
	rd := n.inflight
	n.inflight = nil
	n.finish(rd)
}

// Waiting reports whether the node waits for a synced write.
func (n *Node) Waiting() bool { return n.inflight != nil }

func (n *Node) newWrite(w *Write) *Write {
	n.writeSeq++
	w.Seq = n.writeSeq
	n.out.Writes = append(n.out.Writes, w)
	return w
}

// finish completes a Ready whose writes are durable: raft's in-memory view
// of storage catches up, messages go out, committed entries are applied,
// and raft is told to advance.
func (n *Node) finish(rd *raft.Ready) {
	if !raft.IsEmptySnap(rd.Snapshot) {
		if err := n.ms.ApplySnapshot(rd.Snapshot); err != nil {
			panic(fmt.Sprintf("raftkv: node %x: apply snapshot %d: %v", n.cfg.ID, rd.Snapshot.GetMetadata().GetIndex(), err))
		}
		n.installSnapshot(rd.Snapshot)
	}
	if rd.HardState != nil {
		if err := n.ms.SetHardState(rd.HardState); err != nil {
			panic(fmt.Sprintf("raftkv: node %x: set hard state: %v", n.cfg.ID, err))
		}
	}
	if len(rd.Entries) > 0 {
		if err := n.ms.Append(rd.Entries); err != nil {
			panic(fmt.Sprintf("raftkv: node %x: append: %v", n.cfg.ID, err))
		}
		if n.cfg.Bugs.Has(BugApplyUnstable) {
			n.applyEntries(rd.Entries)
		}
	}
	n.out.Messages = append(n.out.Messages, rd.Messages...)
	n.out.Messages = append(n.out.Messages, n.batch.readResps...)
	n.batch.readResps = nil
	n.applyEntries(rd.CommittedEntries)
	n.rn.Advance(*rd)
	n.maybeSnapshot()
}

func (n *Node) installSnapshot(s *pb.Snapshot) {
	kv, err := unmarshalKV(s.GetData())
	if err != nil {
		panic(fmt.Sprintf("raftkv: node %x: snapshot at %d is corrupt: %v", n.cfg.ID, s.GetMetadata().GetIndex(), err))
	}
	n.kv = kv
	n.applied = s.GetMetadata().GetIndex()
	n.snapIndex = n.applied
	n.confState = s.GetMetadata().GetConfState()
	n.cfg.Logger.Logf("installed snapshot at index %d term %d (%d keys)", n.applied, s.GetMetadata().GetTerm(), kv.Len())
	n.out.Applied = append(n.out.Applied, Applied{Index: n.applied, Term: s.GetMetadata().GetTerm(), StateHash: kv.Hash(), Snapshot: true})
}

func (n *Node) applyEntries(ents []*pb.Entry) {
	for _, e := range ents {
		idx := e.GetIndex()
		if idx <= n.applied {
			continue
		}
		if idx != n.applied+1 && !n.cfg.Bugs.Has(BugApplyUnstable) {
			panic(fmt.Sprintf("raftkv: node %x: applying index %d after %d: gap in committed entries", n.cfg.ID, idx, n.applied))
		}
		switch e.GetType() {
		case pb.EntryNormal:
			n.applyCommand(e)
		case pb.EntryConfChange, pb.EntryConfChangeV2:
			n.applyConfChange(e)
		}
		n.applied = idx
		n.out.Applied = append(n.out.Applied, Applied{Index: idx, Term: e.GetTerm(), StateHash: n.kv.Hash()})
	}
}

func (n *Node) applyCommand(e *pb.Entry) {
	if len(e.GetData()) == 0 {
		return // a new leader's empty entry
	}
	var cmd command
	if err := cmd.unmarshal(e.GetData()); err != nil {
		panic(fmt.Sprintf("raftkv: node %x: committed entry %d holds a malformed command: %v", n.cfg.ID, e.GetIndex(), err))
	}
	ok, dup := n.kv.apply(&cmd)
	w := n.writes[cmd.ID]
	if w == nil || dup {
		return
	}
	delete(n.writes, cmd.ID)
	if ok {
		n.respond(Response{ID: cmd.ID, Outcome: OK})
	} else {
		// A cas whose expectation did not hold: applied as a no-op.
		n.respond(Response{ID: cmd.ID, Outcome: Fail, Err: "cas: value did not match"})
	}
}

func (n *Node) applyConfChange(e *pb.Entry) {
	var cc pb.ConfChangeI
	if e.GetType() == pb.EntryConfChange {
		var c1 pb.ConfChange
		if err := proto.Unmarshal(e.GetData(), &c1); err != nil {
			panic(fmt.Sprintf("raftkv: node %x: conf change at %d: %v", n.cfg.ID, e.GetIndex(), err))
		}
		cc = &c1
	} else {
		var c2 pb.ConfChangeV2
		if err := proto.Unmarshal(e.GetData(), &c2); err != nil {
			panic(fmt.Sprintf("raftkv: node %x: conf change at %d: %v", n.cfg.ID, e.GetIndex(), err))
		}
		cc = &c2
	}
	n.confState = n.rn.ApplyConfChange(cc)
	n.snapNow = n.snapIndex > 0
	n.cfg.Logger.Logf("applied conf change at index %d: voters %v learners %v", e.GetIndex(), n.confState.GetVoters(), n.confState.GetLearners())
	n.removed = !contains(n.confState.GetVoters(), n.cfg.ID) && !contains(n.confState.GetLearners(), n.cfg.ID) &&
		!contains(n.confState.GetVotersOutgoing(), n.cfg.ID)
	if id, ok := bytesID(cc.AsV2().GetContext()); ok {
		if _, pending := n.confs[id]; pending {
			delete(n.confs, id)
			n.respond(Response{ID: id, Outcome: OK})
		}
	}
}

func contains(xs []uint64, x uint64) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// answerReads answers the reads whose read index has been applied.
func (n *Node) answerReads() {
	for _, id := range sortedIDs(n.reads) {
		r := n.reads[id]
		if !r.known {
			continue
		}
		if r.index > n.applied && !n.cfg.Bugs.Has(BugReadBeforeApply) {
			continue
		}
		delete(n.reads, id)
		n.respond(Response{ID: id, Outcome: OK, Value: n.kv.Get(r.req.Key)})
	}
}

func (n *Node) observeSoftState(ss *raft.SoftState) {
	if ss == nil {
		return
	}
	if ss.Lead != n.lead || ss.RaftState != n.state {
		n.cfg.Logger.Logf("now %s, leader %x", ss.RaftState, ss.Lead)
	}
	leaderChanged := ss.Lead != n.lead
	n.lead, n.state = ss.Lead, ss.RaftState
	if !leaderChanged {
		return
	}
	// Reads still waiting for a read index were sent to a leader that is
	// gone; they will never be answered. A read has no effect, so failing it
	// is safe and lets the client move on.
	for _, id := range sortedIDs(n.reads) {
		if r := n.reads[id]; !r.known {
			delete(n.reads, id)
			n.respond(Response{ID: id, Outcome: Fail, Err: "leader changed before the read was confirmed (no effect)"})
		}
	}
	n.batch.readSets = nil // their reads were all waiting: failed above
}

// maybeSnapshot snapshots the state machine every SnapshotEvery applied
// entries and compacts raft's log behind it.
func (n *Node) maybeSnapshot() {
	if n.applied < n.snapIndex+n.cfg.SnapshotEvery && !(n.snapNow && n.applied > n.snapIndex) {
		return
	}
	n.snapNow = false
	idx := n.applied
	data := n.kv.marshal()
	if n.cfg.Bugs.Has(BugStaleSnapshot) {
		// The snapshot claims the current index but holds the state of the
		// previous snapshot: every entry in between is silently missing.
		data, n.lastSnap = n.lastSnap, data
	}
	snap, err := n.ms.CreateSnapshot(idx, n.confState, data)
	if err != nil {
		if errors.Is(err, raft.ErrSnapOutOfDate) {
			return
		}
		panic(fmt.Sprintf("raftkv: node %x: create snapshot at %d: %v", n.cfg.ID, idx, err))
	}
	n.snapIndex = idx
	var compact uint64
	if idx > n.cfg.CompactKeep {
		compact = idx - n.cfg.CompactKeep
		if err := n.ms.Compact(compact); err != nil && !errors.Is(err, raft.ErrCompacted) {
			panic(fmt.Sprintf("raftkv: node %x: compact to %d: %v", n.cfg.ID, compact, err))
		}
	}
	n.cfg.Logger.Logf("snapshot at index %d, log compacted to %d", idx, compact)
	n.newWrite(&Write{LocalSnapshot: snap, Compact: compact})
}

// Leading reports whether the node leads, and in which term, as of its
// last Ready — cheaply, for drivers that ask after every input.
func (n *Node) Leading() (term uint64, leader bool) {
	return n.term, n.state == raft.StateLeader
}

// Status is a summary of the node's raft state (raftnode's).
type Status = raftnode.Status

// Status returns the node's current state.
func (n *Node) Status() Status {
	bs := n.rn.BasicStatus()
	return Status{
		ID: n.cfg.ID, Term: bs.HardState.GetTerm(), Lead: bs.Lead, State: bs.RaftState,
		Commit: bs.HardState.GetCommit(), Applied: n.applied,
		Voters: n.confState.GetVoters(), Learners: n.confState.GetLearners(),
		Removed: n.removed, Replaying: n.applied < n.replaying,
	}
}

// KV exposes the state machine (read-only use: tests and invariants).
func (n *Node) KV() *KV { return n.kv }

// Pending reports how many client requests are waiting.
func (n *Node) Pending() int { return len(n.writes) + len(n.reads) + len(n.confs) }

func sortedIDs[V any](m map[RequestID]V) []RequestID {
	ids := make([]RequestID, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	for i := 1; i < len(ids); i++ { // insertion sort: the maps are small
		for j := i; j > 0 && less(ids[j], ids[j-1]); j-- {
			ids[j], ids[j-1] = ids[j-1], ids[j]
		}
	}
	return ids
}

func less(a, b RequestID) bool {
	if a.Client != b.Client {
		return a.Client < b.Client
	}
	return a.Seq < b.Seq
}
