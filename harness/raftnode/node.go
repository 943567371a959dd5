package raftnode

import (
	"errors"
	"fmt"

	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
)

// Node is a sans-IO raft node: a value fed with inputs that returns, from
// Ready, what its driver must do. It starts no goroutines, reads no clock,
// touches no files and draws no randomness of its own (etcd raft's
// election jitter is drawn from crypto/rand.Reader, which the sim seeds).
// A driver — the sim, the process-mode server — calls it from one
// goroutine at a time, and calls Ready after every input.
type Node interface {
	// Tick advances the node's logical clock by one tick (raft's
	// RawNode.Tick); the driver ticks every tick period of the node's
	// clock.
	Tick()
	// Step hands the node a raft message from a peer. Messages may come
	// late, twice, out of order or never (raft copes); messages from
	// unknown peers and stale responses are the node's to drop.
	Step(m *pb.Message)
	// Request submits a client request. Its Response, by Request.ID,
	// comes out of a later Ready — possibly the very next one.
	Request(req Request)
	// ProposeConfChange proposes a membership change (the harness's
	// AddNode, PromoteNode, RemoveNode: one ConfChangeSingle each). Its
	// Response, by id, is OK once the change is applied, Fail if it was
	// dropped before entering any log, Unknown if the node gives up.
	ProposeConfChange(id RequestID, cc *pb.ConfChangeV2)
	// WriteDone tells the node that synced write seq (and every earlier
	// write) is durable. The driver calls it once per synced Write, in
	// order, after the write survives a crash.
	WriteDone(seq uint64)
	// ReportSnapshot tells the node whether a MsgSnap it sent to peer to
	// arrived (raft's RawNode.ReportSnapshot). The driver reports every
	// MsgSnap among Output.Messages.
	ReportSnapshot(to uint64, ok bool)
	// ReportUnreachable tells the node that a message to peer to could
	// not be sent (raft's RawNode.ReportUnreachable). The sim never calls
	// it (its network loses messages silently); the process-mode server
	// does when a connection fails.
	ReportUnreachable(to uint64)
	// Ready runs the node as far as it can without its driver and returns
	// what the driver must do now; an empty Output means nothing (until
	// the next input). The driver calls it after every input, and again
	// until it is empty.
	Ready() Output
	// Leading reports the term of the node's last Ready and whether the
	// node was leader in it: its raft SoftState said StateLeader. It is
	// called after every Ready and must be cheap (no allocation). A node
	// that is leader in raft's memory but has not yet returned the Ready
	// that says so must not report it (it has not acted as leader).
	Leading() (term uint64, leader bool)
	// Status summarizes the node's state for the harness: to find the
	// leader and the members, to see a node removed. It may allocate.
	Status() Status
}

// Output is what a node asks of its driver after an input. The driver
// handles it in this order: Writes (persisted in order, each synced one
// followed by WriteDone once durable), then Messages (sent), Responses
// (delivered to their clients), and Applied (recorded by the sim's
// invariants). A node that holds back on a synced write puts nothing in
// Messages or Responses that depends on it until WriteDone.
type Output struct {
	// Writes to persist, in order. Only the last may have Sync set.
	Writes []*Write
	// Messages to send to peers (raft's Ready.Messages). MsgSnap among
	// them are reported back with Node.ReportSnapshot.
	Messages []*pb.Message
	// Responses to client requests and conf changes, by ID.
	Responses []Response
	// Applied lists, in order, each entry the node applied to its state
	// machine and each snapshot it installed in this Ready, for the sim's
	// invariants. Only a System whose Reports.Applied is set fills it.
	Applied []Applied
}

// Empty reports whether there is nothing to do.
func (o *Output) Empty() bool {
	return len(o.Writes) == 0 && len(o.Messages) == 0 && len(o.Responses) == 0 && len(o.Applied) == 0
}

// Applied is one step of the state machine: the committed entry at Index
// (of Term) was applied, or — Snapshot set — a snapshot at Index (of
// Term) was installed. Every entry is reported, those the node skips
// (raft's empty entries, conf changes) included, so that Index grows by
// one from step to step (a snapshot jumps ahead).
type Applied struct {
	Index    uint64
	Term     uint64
	Snapshot bool
	// StateHash is a hash of the whole state machine after this step:
	// equal on every node that applied the same log up to Index. Set it
	// (and Reports.StateHash) to have the sim compare states, not only
	// entries. Any 64-bit hash of the state (keys and values, sessions
	// if the node keeps them) will do; 0 is a valid hash.
	StateHash uint64
}

// Status is what a node says of itself.
type Status struct {
	ID      uint64
	Term    uint64         // current raft term
	Lead    uint64         // the leader it knows of, 0 if none
	State   raft.StateType // raft's state: leader, follower, candidate, pre-candidate
	Commit  uint64         // raft's commit index
	Applied uint64         // the last index applied to the state machine
	// Voters and Learners are the membership as this node has applied it.
	Voters   []uint64
	Learners []uint64
	// Removed: this node applied its own removal from the cluster. The
	// sim stops a removed node.
	Removed bool
	// Replaying: after a restart, the node has not yet re-applied its
	// durable committed log (applied < the commit index it started with).
	Replaying bool
}

// Config is what the driver tells a node it starts. The tuning fields
// are the test's: zero means the node's own default, and a node may
// ignore what it has no use for.
type Config struct {
	// ID is the node's raft ID: never 0, never reused. A node whose disk
	// was wiped comes back, if at all, under a new ID.
	ID uint64
	// Join says the node is new and joins a running cluster that has
	// added, or will add, it by a conf change: it starts with no peers
	// and no durable state, and waits for the leader to send it the log
	// or a snapshot.
	Join bool
	// ElectionTick and HeartbeatTick are raft's (etcd's defaults: 10 and
	// 1, with a 100ms tick).
	ElectionTick  int
	HeartbeatTick int
	// RequestTimeoutTicks: a request still pending after this many ticks
	// should be answered — Unknown for a write (it may yet commit), Fail
	// for a read — a little before the harness's client gives up, so that
	// the history says why.
	RequestTimeoutTicks int
	// SnapshotEvery and CompactKeep ask for a snapshot every SnapshotEvery
	// applied entries, keeping CompactKeep entries behind it. The harness
	// sets them small (100 and 20) so that followers really catch up by
	// snapshot. A node that does not snapshot ignores them.
	SnapshotEvery uint64
	CompactKeep   uint64
	// Logger receives the node's log lines (in the sim, each node's log in
	// the run's logs/ directory). Never nil.
	Logger Logger
}

// Logger receives a node's log lines. The node adds no timestamps: its
// driver does (virtual time in the sim).
type Logger interface {
	Logf(format string, args ...any)
}

// Factory starts a node: from its durable state (empty for a node that
// never completed a write, or was wiped), given the IDs of the initial
// members when it is one of them. See the package documentation, "Starting
// and restarting", for what it must do in each case.
type Factory func(cfg Config, durable *Durable, peers []uint64) (Node, error)

// Reports says what a node reports beyond what every node must. The sim
// checks every invariant whose reports it gets, and names the others as
// not checked (never guesses).
type Reports struct {
	// Applied: Output.Applied lists every entry applied and every snapshot
	// installed. Needed for state-machine-safety and committed-entry-kept.
	Applied bool
	// StateHash: each Applied carries the hash of the state after it.
	// With it, state-machine-safety compares states (snapshots included);
	// without it, only which entry each node applied at each index.
	StateHash bool
}

// System is a kind of node as the harness runs it: what a Test names in
// harness.Test.SystemImpl.
type System struct {
	// Name names it in the record (test.json, results.json, the summary).
	Name string
	// New starts one node.
	New Factory
	// Reports says what its nodes report.
	Reports Reports
}

// ErrBadSystem marks a System that cannot run.
var ErrBadSystem = errors.New("raftnode: bad system")

// Validate reports a System that cannot run.
func (s System) Validate() error {
	switch {
	case s.Name == "":
		return fmt.Errorf("%w: no Name", ErrBadSystem)
	case s.New == nil:
		return fmt.Errorf("%w: %s has no New (the factory that starts a node)", ErrBadSystem, s.Name)
	case s.Reports.StateHash && !s.Reports.Applied:
		return fmt.Errorf("%w: %s reports state hashes but not applied entries (Reports.StateHash needs Reports.Applied)", ErrBadSystem, s.Name)
	}
	return nil
}

// ErrDataLost is what a node's Factory returns (wrapped or not) when it
// finds no durable state, is given no peers and is not joining: it was a
// member and lost its data. It must not come back under its old ID —
// with an empty log it would vote and acknowledge as if it had never
// promised anything — and is replaced under a new one.
var ErrDataLost = errors.New("no durable state for an existing member (data lost); replace it under a new ID")
