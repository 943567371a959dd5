// Package world is the boundary between a test and the world it runs in.
//
// A World is either the deterministic simulation (package sim: every node,
// the network, the disks and the clocks in one process on virtual time) or
// the process world (package proc: real node processes, TCP, kernel packet
// filters, signals). Workloads, nemeses, scenarios and the runner see only
// this interface: if one of them needs to know which world it is in, a
// method is missing here.
//
// Sequential code (a client loop, a nemesis schedule, a Lua scenario) runs
// as a task started with Go. In the sim, tasks run in lockstep with the
// event loop — exactly one at a time, each handing control back when it
// blocks on a world call (Sleep, Client.Do, Wait) — so ordinary blocking
// code stays deterministic. In the process world tasks are goroutines.
package world

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	pb "go.etcd.io/raft/v3/raftpb"
)

// NodeID names a node: its raft ID, printed n1, n2, …. IDs are never
// reused: a node that replaces another gets a new ID.
type NodeID uint64

func (id NodeID) String() string { return fmt.Sprintf("n%d", uint64(id)) }

// ParseNodeID parses "n3" (or "3").
func ParseNodeID(s string) (NodeID, error) {
	t := strings.TrimPrefix(s, "n")
	var n uint64
	if _, err := fmt.Sscanf(t, "%d", &n); err != nil || n == 0 || fmt.Sprint(n) != t {
		return 0, fmt.Errorf("bad node name %q (want n1, n2, …)", s)
	}
	return NodeID(n), nil
}

// SortIDs sorts ids ascending in place and returns them.
func SortIDs(ids []NodeID) []NodeID {
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

// Env is what sequential code needs from its world: time, tasks and
// randomness.
type Env interface {
	// Now is the time since the test started (virtual in the sim).
	Now() time.Duration
	// Sleep blocks the calling task for d.
	Sleep(d time.Duration)
	// Go starts fn as a new task. Group.Wait waits for a set of them.
	Go(name string, fn func())
	// NewGroup returns a group whose tasks can be waited for.
	NewGroup() Group
	// Rand is the run's seeded source. In the sim it is the one PRNG of
	// the run; call it only from tasks.
	Rand() *rand.Rand
}

// Group is a set of tasks that can be waited for, like sync.WaitGroup.
type Group interface {
	Go(name string, fn func())
	Wait()
}

// World is a running cluster under test.
type World interface {
	Env
	// Mode names the world: "sim" or "process".
	Mode() string
	// Nodes lists the nodes that are members (running or not), sorted.
	Nodes() []NodeID
	// Client opens a client session. Each client process uses its own.
	Client() Client
	// Status reports what a node says of itself; ok is false if it cannot
	// answer (down, paused, unreachable from the harness).
	Status(id NodeID) (NodeStatus, bool)

	// Faults. Each returns an error only when it cannot be carried out
	// (unknown node, unsupported in this world).

	// SetReach installs a reachability matrix: a message from A to B is
	// delivered only if r.Allows(A, B). Nil heals the network.
	SetReach(r Reach) error
	// SetPacket sets packet faults on the links it names (all links if
	// Links is empty). A zero Packet restores normal delivery.
	SetPacket(p Packet) error
	// Crash stops a node abruptly; what its disk keeps is fate.
	Crash(id NodeID, fate DiskFate) error
	// Restart starts a crashed node from its disk.
	Restart(id NodeID) error
	// Pause and Resume freeze and thaw a node (SIGSTOP/SIGCONT).
	Pause(id NodeID) error
	Resume(id NodeID) error
	// SetClockRate makes a node's clock run at rate × real speed (1 is
	// normal, 2 is twice as fast).
	SetClockRate(id NodeID, rate float64) error
	// SetDiskStall stalls a node's disk (stalled true) or ends the stall:
	// a stalled disk takes writes into its page cache but completes no
	// fsync until the stall ends (an fsync that hangs: a saturated or
	// failing device). The node keeps running, receiving and ticking;
	// whatever waits for durability waits. The stall is the disk's: it
	// outlasts a crash and restart of the node.
	SetDiskStall(id NodeID, stalled bool) error
	// AddNode starts a new node and adds it to the cluster, as a voter or
	// a learner; PromoteNode makes a learner a voter; RemoveNode removes a
	// member and stops it.
	AddNode(learner bool) (NodeID, error)
	PromoteNode(id NodeID) error
	RemoveNode(id NodeID) error

	// Run runs main as the first task and drives the world until it
	// returns. A violated safety invariant stops the run early with an
	// *InvariantError.
	Run(main func()) error
	// Leader returns the node that believes it leads with the highest
	// term, if any answers.
	Leader() (NodeID, bool)
	// WriteLogs writes (or copies) each node's log into dir as <node>.log.
	WriteLogs(dir string) error
	// Checks reports how many times each raft safety invariant was checked
	// (empty where the world cannot see inside the nodes).
	Checks() map[string]int
	// Converge checks, after the final heal and the clients' last
	// operations, that every member holds the same data: it waits up to
	// bound for all of them to report the same state (same position in
	// the replicated history, same hash). Where the world cannot see the
	// members' state it says so (Available false), never guesses.
	Converge(bound time.Duration) Convergence

	// Close stops everything and releases every resource.
	Close() error
}

// Convergence is the verdict of World.Converge.
type Convergence struct {
	// Available: the world could compare its members' state. When false,
	// Detail says why (the system does not report a state hash; the sim
	// checks agreement step by step with its invariants).
	Available bool `json:"available"`
	// Converged: every running member reported the same index and hash
	// within the bound.
	Converged bool `json:"converged"`
	// Detail explains the verdict: who disagreed, or stayed behind, with
	// what.
	Detail string `json:"detail"`
	// Members is the last state each member reported.
	Members []MemberState `json:"members,omitempty"`
	// Waited is how long it took to converge (or the bound).
	Waited time.Duration `json:"waited_ns"`
}

// MemberState is one member's state as Converge last saw it.
type MemberState struct {
	Node  NodeID `json:"node"`
	Index uint64 `json:"index"`
	Hash  string `json:"hash,omitempty"`
	// Err says why the member reported nothing (down, not answering).
	Err    string `json:"error,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// InvariantError is a violated raft safety property: the world stops at
// the first one.
type InvariantError struct {
	Invariant string
	Nodes     []NodeID
	Term      uint64
	Index     uint64
	Time      time.Duration // since the test started
	Detail    string
}

func (e *InvariantError) Error() string {
	return fmt.Sprintf("invariant %s violated at %.6fs (term %d, index %d, nodes %v): %s",
		e.Invariant, e.Time.Seconds(), e.Term, e.Index, e.Nodes, e.Detail)
}

// DiskFate says what a crashed node's disk keeps.
type DiskFate int

// Disk fates. KeepWritten is a process crash: the OS page cache survives,
// so everything written (fsynced or not) is kept. LoseUnsynced is a power
// failure: only fsynced data survives. TornWrite is a power failure in the
// middle of a write: fsynced data, plus a prefix of what was being
// written. Wipe loses everything (a replaced disk).
const (
	KeepWritten DiskFate = iota
	LoseUnsynced
	TornWrite
	Wipe
)

var fateNames = [...]string{"keep-written", "lose-unsynced", "torn-write", "wipe"}

func (f DiskFate) String() string {
	if int(f) < len(fateNames) {
		return fateNames[f]
	}
	return fmt.Sprintf("fate(%d)", int(f))
}

// ErrUnsupported is returned for a fault this world cannot inject.
var ErrUnsupported = errors.New("not supported in this world")

// NodeStatus is what a node reports of itself.
type NodeStatus struct {
	ID      NodeID
	Term    uint64
	Leader  NodeID // 0 if none known
	State   string // "StateLeader", "StateFollower", …
	Commit  uint64
	Applied uint64
	Voters  []NodeID
	Learner bool
}

// A Class is a kind of message a packet fault may be confined to.
type Class string

// The message classes.
const (
	// AllMessages: the fault applies to every message (the zero Class).
	AllMessages Class = ""
	// Entries: only the messages that carry log entries or a snapshot
	// (appends with entries, snapshots); heartbeats, votes,
	// acknowledgements, read-index traffic and empty appends pass
	// untouched. Many raft transports carry these two kinds apart (etcd's
	// rafthttp has a stream for appends and one for the rest; hashicorp
	// raft pipelines appends on their own connection), so one can be
	// slow, congested or black-holed — an MTU black hole drops only the
	// full-size segments — while the other is fine: a follower then hears
	// its leader, and has its reads confirmed, but receives no entries.
	Entries Class = "entries"
)

// Classes lists the classes a fault may name, for parsers.
var Classes = []Class{Entries}

// ClassOf is the class of a raft message: Entries for an append with
// entries or a snapshot, AllMessages (no particular class) otherwise.
func ClassOf(m *pb.Message) Class {
	switch m.GetType() {
	case pb.MsgSnap:
		return Entries
	case pb.MsgApp:
		if len(m.GetEntries()) > 0 {
			return Entries
		}
	}
	return AllMessages
}

// Packet describes packet faults on a set of directed links.
type Packet struct {
	Links     [][2]NodeID   // directed (from, to); empty = every link
	Only      Class         // the messages it applies to (AllMessages: every one)
	Delay     time.Duration // added latency
	Jitter    time.Duration // added uniform jitter in [0, Jitter)
	Loss      float64       // probability a message is dropped
	Duplicate float64       // probability a message is delivered twice
	Reorder   float64       // probability a message is held back by up to 10 × (delay + jitter + 1ms)
}

// Zero reports whether p has no effect.
func (p Packet) Zero() bool {
	return p.Delay == 0 && p.Jitter == 0 && p.Loss == 0 && p.Duplicate == 0 && p.Reorder == 0
}

// PacketsOn merges the packet faults in force that apply to a message of
// class c on the directed link from→to (a fault confined to a class
// applies only to messages of that class): delays and jitters add up,
// losses compound, duplication and reordering take the strongest. Both
// worlds use it.
func PacketsOn(faults []Packet, from, to NodeID, c Class) Packet {
	var p Packet
	for _, f := range faults {
		if !f.on(from, to) || f.Only != AllMessages && f.Only != c {
			continue
		}
		p.Delay += f.Delay
		p.Jitter += f.Jitter
		p.Loss = 1 - (1-p.Loss)*(1-f.Loss)
		p.Duplicate = max(p.Duplicate, f.Duplicate)
		p.Reorder = max(p.Reorder, f.Reorder)
	}
	return p
}

// SplitsClasses reports whether a fault in force on the link from→to is
// confined to a class: the link then carries that class apart from the
// rest, as two streams (each in order, neither waiting for the other).
func SplitsClasses(faults []Packet, from, to NodeID) bool {
	for _, f := range faults {
		if f.Only != AllMessages && f.on(from, to) {
			return true
		}
	}
	return false
}

// on reports whether p applies to the directed link from→to.
func (p Packet) on(from, to NodeID) bool {
	if len(p.Links) == 0 {
		return true
	}
	for _, l := range p.Links {
		if l[0] == from && l[1] == to {
			return true
		}
	}
	return false
}
