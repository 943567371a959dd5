package proc

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/splitbrain/splitbrain/harness/raftkv"
)

// A System is what the process world runs: how to start a node, how to
// wipe its data, and which faults it can take. Every node process serves
// the KV protocol ("The KV protocol" in README.md) on its API address —
// the reference node does, and etcd does through an adapter that wraps
// it — so the world talks to every system the same way.
//
// The reference node is a System described by a system file (see
// LoadSystemFile and ReferenceSystem); package harness/proc/etcd builds
// etcd's.
type System interface {
	// Name names the system for the record ("raftkv", "etcd@v3.7.3", a
	// system file's path).
	Name() string
	// Version is what the system says of its own version, "" if unknown.
	Version() string
	// Command is the command line (program first) that starts node n.
	// The process must serve the KV protocol on n.APIAddr and stay in
	// the foreground; the world stops it with SIGKILL to its process
	// group.
	Command(n NodeSpec) ([]string, error)
	// Wipe deletes node n's data (it is not running).
	Wipe(n NodeSpec) error
	// Caps says which faults and options the system supports.
	Caps() Caps
}

// Caps are what a system can do beyond serving the KV protocol. A fault
// that needs a capability the system lacks is refused with
// world.ErrUnsupported (the nemesis records it, and it opens no fault
// window).
type Caps struct {
	// ClockRate: the node takes POST /admin/tick-rate (clock skew).
	ClockRate bool
	// SenderPackets: the node takes POST /admin/net (delay, jitter,
	// duplication, reordering of the raft messages it sends). Packet loss
	// needs no capability: the kernel drops packets.
	SenderPackets bool
	// Membership lists the membership changes /admin/conf carries out:
	// "add", "add-learner", "promote", "remove".
	Membership []string
	// AddBeforeStart: a new member is added to the cluster (through the
	// leader's /admin/conf) before its process starts, as etcd requires;
	// otherwise the new node starts first and waits to be added, as the
	// reference node does (--join).
	AddBeforeStart bool
	// DialerSends: each node sends raft traffic only on connections it
	// dialled from its own address and receives only on connections it
	// accepted, so a partition is cut by source address and the peer
	// port, and a one-way cut stops messages in one direction only (the
	// reference node). Otherwise the world cuts at the packet level by
	// which node's process sent the packet (see firewall): any binary
	// can be cut, and a one-way cut of TCP stalls both directions of
	// every connection between the two nodes.
	DialerSends bool
	// ReadConsistency lists the read consistencies the system offers
	// besides "linearizable" (the default): e.g. "serializable".
	ReadConsistency []string
}

// Supports reports whether the system carries out membership change op.
func (c Caps) Supports(op string) bool {
	for _, m := range c.Membership {
		if m == op {
			return true
		}
	}
	return false
}

// NodeSpec is everything a System may put on a node's command line.
type NodeSpec struct {
	ID   uint64 // the node's raft ID (world.NodeID(ID) is n3), never reused
	Name string // "n3"
	// Host is the node's own loopback address, 127.0.0.(10+ID).
	Host string
	// Ports on Host: raft traffic between nodes, the KV protocol (the
	// harness's), and a client port for a system that serves its own
	// client protocol behind an adapter (etcd's gRPC).
	PeerPort, APIPort, ClientPort int
	// PeerAddr, APIAddr and ClientAddr are Host:port.
	PeerAddr, APIAddr, ClientAddr string
	// DataDir is the node's data directory; LogFile its log (the process's
	// stdout and stderr go there too).
	DataDir, LogFile string
	// Peers are the other members; Members every member with this node,
	// by ID.
	Peers, Members []Peer
	// Bootstrap: an initial member (its first start creates the cluster
	// with the other initial members). Join: a node added to a running
	// cluster. A restart keeps the node's flag: the node must use its data
	// when it has some.
	Bootstrap, Join bool
	// Tick is the raft tick at clock rate 1; ClockRate the node's clock
	// rate at start.
	Tick      time.Duration
	ClockRate float64
	// Seed is the run's seed (for a node's own fault randomness).
	Seed uint64
	// Raft is the test's node tuning: ElectionTick, HeartbeatTick,
	// SnapshotEvery, CompactKeep, RequestTimeoutTicks (0: the system's
	// default) and the reference node's bug canaries.
	Raft raftkv.Config
	// RequestTimeout is how long a node may take to answer a client
	// request before it should answer unknown (a little less than the
	// harness's own client timeout).
	RequestTimeout time.Duration
	// ReadConsistency is "linearizable" or another the system offers.
	ReadConsistency string
	// Splitbrain is the path of the splitbrain executable.
	Splitbrain string
	// Cluster names the run's cluster (unique per run).
	Cluster string
}

// Peer is a member as another node sees it.
type Peer struct {
	ID       uint64
	Name     string
	Host     string
	PeerAddr string
	// PeerPort is the port of PeerAddr.
	PeerPort int
}

// Template data helpers (a system file's command lines are Go templates
// over a NodeSpec).

// Bugs is the reference node's bug canaries, comma-separated ("" if none).
func (n NodeSpec) Bugs() string { return strings.Join(n.Raft.Bugs.Names(), ",") }

// ElectionTick, HeartbeatTick, SnapshotEvery, CompactKeep and
// RequestTimeoutTicks are the test's tuning (0: the system's default).
func (n NodeSpec) ElectionTick() int           { return n.Raft.ElectionTick }
func (n NodeSpec) HeartbeatTick() int          { return n.Raft.HeartbeatTick }
func (n NodeSpec) SnapshotEvery() uint64       { return n.Raft.SnapshotEvery }
func (n NodeSpec) CompactKeep() uint64         { return n.Raft.CompactKeep }
func (n NodeSpec) RequestTimeoutTicks() int    { return n.Raft.RequestTimeoutTicks }
func (n NodeSpec) TickMillis() int64           { return n.Tick.Milliseconds() }
func (n NodeSpec) RequestTimeoutMillis() int64 { return n.RequestTimeout.Milliseconds() }

// wipeDataDir is the default Wipe: remove the data directory.
func wipeDataDir(n NodeSpec) error {
	if err := os.RemoveAll(n.DataDir); err != nil {
		return fmt.Errorf("wipe %s: %w", n.Name, err)
	}
	return nil
}

// ErrBadSystem marks a system that cannot be used as given (a bad system
// file, an unknown name): a usage error.
var ErrBadSystem = errors.New("bad system")
