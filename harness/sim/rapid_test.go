package sim

import (
	"fmt"
	"testing"
	"time"

	"github.com/splitbrain/splitbrain/harness/raftkv"
	"github.com/splitbrain/splitbrain/harness/raftnode"
	"github.com/splitbrain/splitbrain/harness/world"
	"pgregory.net/rapid"
)

// machine is a rapid state machine over a simulated cluster. The world
// runs on its own goroutine; its main task executes the actions rapid
// draws, one at a time, so a failing sequence replays exactly and shrinks.
type machine struct {
	*driver
	writes int
}

func newMachine(t *rapid.T, bugs raftkv.Bugs) *machine {
	seed := rapid.Uint64().Draw(t, "seed")
	size := rapid.SampledFrom([]int{3, 5}).Draw(t, "nodes")
	d, err := startDriver(Config{Seed: seed, Nodes: size, System: raftkv.System(bugs), Node: raftnode.Config{SnapshotEvery: 20, CompactKeep: 5}})
	if err != nil {
		t.Fatal(err)
	}
	return &machine{driver: d}
}

func (m *machine) node(t *rapid.T, label string) world.NodeID {
	return rapid.SampledFrom(m.w.Nodes()).Draw(t, label)
}

func (m *machine) Check(t *rapid.T) {
	if m.err != nil {
		t.Fatalf("%v", m.err)
	}
}

// Write starts a client write as its own task (it completes as time
// passes in Advance).
func (m *machine) Write(t *rapid.T) {
	n := m.node(t, "node")
	key := fmt.Sprint("k", rapid.IntRange(0, 2).Draw(t, "key"))
	m.writes++
	v := fmt.Sprint(m.writes)
	cas := rapid.Bool().Draw(t, "cas")
	m.do(func() {
		m.w.Go("write", func() {
			op := world.Op{Kind: world.Put, Key: key, Value: v}
			if cas {
				prev := fmt.Sprint(m.writes - 1)
				op = world.Op{Kind: world.CAS, Key: key, Value: v, Expected: &prev}
			}
			m.w.Client().Do(n, op, 3*time.Second)
		})
	})
}

func (m *machine) Read(t *rapid.T) {
	n := m.node(t, "node")
	key := fmt.Sprint("k", rapid.IntRange(0, 2).Draw(t, "key"))
	m.do(func() {
		m.w.Go("read", func() { m.w.Client().Do(n, world.Op{Kind: world.Get, Key: key}, 3*time.Second) })
	})
}

func (m *machine) Advance(t *rapid.T) {
	d := time.Duration(rapid.IntRange(1, 3000).Draw(t, "ms")) * time.Millisecond
	m.do(func() { m.w.Sleep(d) })
}

func (m *machine) Partition(t *rapid.T) {
	nodes := m.w.Nodes()
	perm := rapid.Permutation(nodes).Draw(t, "perm")
	k := rapid.IntRange(1, len(perm)-1).Draw(t, "split")
	m.do(func() { m.w.SetReach(world.Groups(perm[:k], perm[k:])) })
}

func (m *machine) OneWay(t *rapid.T) {
	a, b := m.node(t, "from"), m.node(t, "to")
	m.do(func() {
		var r world.Reach
		r.Cut(a, b)
		m.w.SetReach(r)
	})
}

func (m *machine) Heal(t *rapid.T) {
	m.do(func() { m.w.SetReach(world.Reach{}); m.w.SetPacket(world.Packet{}) })
}

func (m *machine) Packets(t *rapid.T) {
	p := world.Packet{
		Loss:      float64(rapid.IntRange(0, 30).Draw(t, "loss%")) / 100,
		Duplicate: float64(rapid.IntRange(0, 30).Draw(t, "dup%")) / 100,
		Reorder:   float64(rapid.IntRange(0, 30).Draw(t, "reorder%")) / 100,
		Delay:     time.Duration(rapid.IntRange(0, 300).Draw(t, "delayms")) * time.Millisecond,
		Jitter:    time.Duration(rapid.IntRange(0, 1000).Draw(t, "jitterms")) * time.Millisecond,
	}
	m.do(func() { m.w.SetPacket(p) })
}

func (m *machine) Crash(t *rapid.T) {
	n := m.node(t, "node")
	fate := world.DiskFate(rapid.IntRange(0, 2).Draw(t, "fate"))
	m.do(func() { m.w.Crash(n, fate) })
}

// Bounce crashes a node and restarts it moments later, as a supervisor
// would: the window in which lost volatile state (a vote) matters.
func (m *machine) Bounce(t *rapid.T) {
	n := m.node(t, "node")
	fate := world.DiskFate(rapid.IntRange(0, 2).Draw(t, "fate"))
	down := time.Duration(rapid.IntRange(0, 500).Draw(t, "downms")) * time.Millisecond
	m.do(func() {
		m.w.Crash(n, fate)
		m.w.Sleep(down)
		m.restart(n)
	})
}

func (m *machine) Restart(t *rapid.T) {
	n := m.node(t, "node")
	m.do(func() {
		m.restart(n)
	})
}

// restart restarts n; a node removed meanwhile stays down, but one that
// cannot start from its own disk is a failure.
func (m *machine) restart(n world.NodeID) {
	if err := m.w.Restart(n); err != nil && m.w.nodes[n].member {
		panic(err)
	}
}

func (m *machine) Pause(t *rapid.T) {
	n := m.node(t, "node")
	m.do(func() { m.w.Pause(n) })
}

func (m *machine) Resume(t *rapid.T) {
	n := m.node(t, "node")
	m.do(func() { m.w.Resume(n) })
}

func (m *machine) Skew(t *rapid.T) {
	n := m.node(t, "node")
	rate := rapid.SampledFrom([]float64{0.25, 0.5, 1, 2, 4}).Draw(t, "rate")
	m.do(func() { m.w.SetClockRate(n, rate) })
}

func (m *machine) AddNode(t *rapid.T) {
	if len(m.w.Nodes()) >= 7 {
		t.Skip("cluster is large enough")
	}
	learner := rapid.Bool().Draw(t, "learner")
	m.do(func() { m.w.Go("add", func() { m.w.AddNode(learner) }) })
}

func (m *machine) RemoveNode(t *rapid.T) {
	if len(m.w.Nodes()) <= 3 {
		t.Skip("keep at least three members")
	}
	n := m.node(t, "node")
	m.do(func() { m.w.Go("remove", func() { m.w.RemoveNode(n) }) })
}

// runMachine runs the state machine property with the given canaries.
func runMachine(t *rapid.T, bugs raftkv.Bugs) {
	m := newMachine(t, bugs)
	defer func() {
		m.close()
		if m.err != nil {
			t.Fatalf("%v", m.err)
		}
	}()
	t.Repeat(rapid.StateMachineActions(m))
	// Let everything settle: heal, restart, resume, and give it time, so
	// late violations (a restarted node's replay) are seen too.
	m.do(func() {
		m.w.SetReach(world.Reach{})
		m.w.SetPacket(world.Packet{})
		for _, id := range m.w.Nodes() {
			m.w.Resume(id)
			m.restart(id)
			m.w.SetClockRate(id, 1)
		}
		m.w.Sleep(5 * time.Second)
	})
}

// TestSimInvariants is the state-machine property: under any sequence of
// client operations, partitions, packet faults, crashes (with any disk
// fate short of a wipe), restarts, pauses, clock skew and membership
// changes, the reference node keeps raft's safety invariants. RAPID_CHECKS
// raises the number of sequences (default 100).
func TestSimInvariants(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) { runMachine(t, nil) })
}
