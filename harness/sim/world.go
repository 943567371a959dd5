package sim

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"time"

	"github.com/splitbrain/splitbrain/harness/raftnode"
	"github.com/splitbrain/splitbrain/harness/world"
	pb "go.etcd.io/raft/v3/raftpb"
)

// Config configures a simulated world. Zero fields take the defaults noted.
type Config struct {
	Seed  uint64
	Nodes int // initial cluster size, default 5
	// TickPeriod is a node's raft tick at clock rate 1 (default 100ms; with
	// ElectionTick 10 an election timeout is 1–2 s, as in etcd).
	TickPeriod time.Duration
	// System is the node under test: how to start one, and what its nodes
	// report (which decides the invariants checked). Required.
	System raftnode.System
	// Node is the template of every node's raftnode.Config: the test's
	// tuning (ID, Join and Logger are set per node).
	Node raftnode.Config
	// Latency of node-to-node messages (default 200µs + 800µs exponential
	// tail) and of client-to-node messages (default the same). Partitions
	// cut node-to-node links only, as in Jepsen: clients always reach
	// their node.
	Latency       Latency
	ClientLatency Latency
	// FsyncMin and FsyncMax bound an fsync's duration (default 1ms–4ms).
	FsyncMin, FsyncMax time.Duration
	// Writeback is when un-fsynced writes reach the disk on their own (the
	// page cache's writeback; default 1s).
	Writeback time.Duration
	// AdminTimeout bounds membership changes (default 5s).
	AdminTimeout time.Duration
	// Skip lists invariants (see Invariants) that are not enforced: a
	// violation of one does not stop the run, and Checks leaves it out.
	Skip []string
	// Trace, if set, receives one line per network delivery, drop and
	// client response: the run's transcript, for determinism tests and
	// debugging.
	Trace io.Writer
	// LogDir, if set, is where each node's log goes as it is written
	// (<LogDir>/<node>.log), so that memory does not grow with the logs;
	// otherwise they are kept in memory until WriteLogs.
	LogDir string
}

func (c *Config) defaults() {
	if c.Nodes == 0 {
		c.Nodes = 5
	}
	if c.TickPeriod == 0 {
		c.TickPeriod = 100 * time.Millisecond
	}
	if c.Latency == (Latency{}) {
		c.Latency = Latency{Min: 200 * time.Microsecond, Tail: 800 * time.Microsecond}
	}
	if c.ClientLatency == (Latency{}) {
		c.ClientLatency = c.Latency
	}
	if c.FsyncMin == 0 {
		c.FsyncMin = time.Millisecond
	}
	if c.FsyncMax < c.FsyncMin {
		c.FsyncMax = 4 * c.FsyncMin
	}
	if c.Writeback == 0 {
		c.Writeback = time.Second
	}
	if c.AdminTimeout == 0 {
		c.AdminTimeout = 5 * time.Second
	}
}

// World is the deterministic simulated world. Create it with New, drive it
// with Run; every other method is called from tasks inside Run.
type World struct {
	cfg         Config
	loop        *loop
	net         *network
	nodes       map[world.NodeID]*simNode
	order       []world.NodeID // every node ever created, ascending
	nextID      world.NodeID
	calls       map[raftnode.RequestID]*call
	nextSession uint64
	nextAdmin   uint64
	inv         *invariants
}

var _ world.World = (*World)(nil)

// New builds a cluster of cfg.Nodes nodes (n1…nN) bootstrapped together.
// Nothing runs until Run.
func New(cfg Config) (*World, error) {
	cfg.defaults()
	if cfg.Nodes < 1 {
		return nil, fmt.Errorf("sim: need at least one node, got %d", cfg.Nodes)
	}
	if err := cfg.System.Validate(); err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	for _, n := range cfg.Skip {
		if err := ValidInvariant(n); err != nil {
			return nil, fmt.Errorf("sim: %w", err)
		}
	}
	w := &World{
		cfg:   cfg,
		loop:  newLoop(cfg.Seed),
		net:   newNetwork(cfg.Latency),
		nodes: map[world.NodeID]*simNode{},
		calls: map[raftnode.RequestID]*call{},
	}
	w.inv = newInvariants(w)
	return w, nil
}

// Run runs main as the first task and the event loop until main returns
// or an invariant is violated (the error is then an *InvariantError).
// For the duration, crypto/rand.Reader serves the run's goroutines (the
// one calling Run, and its tasks) the run's PRNG, and every other
// goroutine the real one (seeded.go); independent Worlds may run at once.
func (w *World) Run(main func()) error {
	err := w.loop.run(func() {
		peers := make([]uint64, w.cfg.Nodes)
		for i := range peers {
			peers[i] = uint64(i + 1)
		}
		for range peers {
			if _, err := w.newNode(peers, false); err != nil {
				panic(err)
			}
		}
		main()
	})
	return err
}

func (w *World) newNode(peers []uint64, join bool) (*simNode, error) {
	w.nextID++
	sn := &simNode{w: w, id: w.nextID, disk: newDisk(), member: true, rate: 1, join: join, peers: peers, fresh: true,
		log: newNodeLog(w.cfg.LogDir, w.nextID.String())}
	w.nodes[sn.id] = sn
	w.order = append(w.order, sn.id)
	return sn, sn.start(peers)
}

// Mode implements world.World.
func (w *World) Mode() string { return "sim" }

// Now implements world.Env.
func (w *World) Now() time.Duration { return w.loop.now }

// Sleep implements world.Env.
func (w *World) Sleep(d time.Duration) { w.loop.sleep(d) }

// Go implements world.Env.
func (w *World) Go(name string, fn func()) { w.loop.spawn(name, fn) }

// NewGroup implements world.Env.
func (w *World) NewGroup() world.Group { return &group{l: w.loop} }

// Rand implements world.Env.
func (w *World) Rand() *rand.Rand { return w.loop.rng }

// Events is how many events the loop has run (for benchmarks).
func (w *World) Events() uint64 { return w.loop.events }

func (w *World) fsyncDelay() time.Duration {
	span := w.cfg.FsyncMax - w.cfg.FsyncMin
	if span <= 0 {
		return w.cfg.FsyncMin
	}
	return w.cfg.FsyncMin + time.Duration(w.loop.rng.Int64N(int64(span)))
}

// Nodes implements world.World: the members, running or not.
func (w *World) Nodes() []world.NodeID {
	var ids []world.NodeID
	for _, id := range w.order {
		if w.nodes[id].member {
			ids = append(ids, id)
		}
	}
	return ids
}

// Status implements world.World.
func (w *World) Status(id world.NodeID) (world.NodeStatus, bool) {
	sn := w.nodes[id]
	if sn == nil || !sn.up() || sn.paused {
		return world.NodeStatus{}, false
	}
	st := sn.status()
	ns := world.NodeStatus{ID: id, Term: st.Term, Leader: world.NodeID(st.Lead), State: st.State.String(),
		Commit: st.Commit, Applied: st.Applied}
	for _, v := range st.Voters {
		ns.Voters = append(ns.Voters, world.NodeID(v))
	}
	for _, l := range st.Learners {
		if l == uint64(id) {
			ns.Learner = true
		}
	}
	return ns, true
}

func (w *World) send(from *simNode, m *pb.Message) {
	to := world.NodeID(m.GetTo())
	dst := w.nodes[to]
	if dst == nil {
		return
	}
	ds, count := w.net.deliveries(w.loop.now, link{from.id, to}, world.ClassOf(m), w.loop.rng)
	if count == 0 {
		w.tracef("drop %s %s->%s term %d index %d", m.GetType(), from.id, to, m.GetTerm(), m.GetIndex())
	}
	for _, d := range ds[:count] {
		w.loop.after(d, func() {
			// A link cut while the message was in flight drops it too.
			if !w.net.reach.Allows(from.id, to) {
				w.tracef("cut %s %s->%s term %d index %d", m.GetType(), from.id, to, m.GetTerm(), m.GetIndex())
				return
			}
			w.tracef("recv %s %s->%s term %d index %d commit %d entries %d", m.GetType(), from.id, to, m.GetTerm(), m.GetIndex(), m.GetCommit(), len(m.GetEntries()))
			dst.step(m)
		})
	}
}

// SetReach implements world.World.
func (w *World) SetReach(r world.Reach) error {
	w.net.reach = r
	w.logAll("NET %s", r)
	return nil
}

// SetPacket implements world.World. A zero Packet clears every packet
// fault; otherwise p is added to those in force.
func (w *World) SetPacket(p world.Packet) error {
	if p.Zero() {
		w.net.setFaults(nil)
		w.logAll("PACKET cleared")
		return nil
	}
	w.net.setFaults(append(w.net.faults, p))
	w.logAll("PACKET %+v", p)
	return nil
}

func (w *World) tracef(format string, args ...any) {
	if w.cfg.Trace == nil {
		return
	}
	fmt.Fprintf(w.cfg.Trace, "%s ", fmtTime(w.loop.now))
	fmt.Fprintf(w.cfg.Trace, format, args...)
	fmt.Fprintln(w.cfg.Trace)
}

func (w *World) logAll(format string, args ...any) {
	for _, id := range w.order {
		w.nodes[id].logf(format, args...)
	}
}

func (w *World) node(id world.NodeID) (*simNode, error) {
	sn := w.nodes[id]
	if sn == nil {
		return nil, fmt.Errorf("sim: no node %s", id)
	}
	return sn, nil
}

// Crash implements world.World.
func (w *World) Crash(id world.NodeID, fate world.DiskFate) error {
	sn, err := w.node(id)
	if err != nil {
		return err
	}
	sn.crash(fate)
	return nil
}

// Restart implements world.World.
func (w *World) Restart(id world.NodeID) error {
	sn, err := w.node(id)
	if err != nil {
		return err
	}
	if !sn.member {
		return fmt.Errorf("sim: %s was removed from the cluster", id)
	}
	return sn.restart()
}

// Pause implements world.World.
func (w *World) Pause(id world.NodeID) error {
	sn, err := w.node(id)
	if err == nil {
		sn.pause()
	}
	return err
}

// Resume implements world.World.
func (w *World) Resume(id world.NodeID) error {
	sn, err := w.node(id)
	if err == nil {
		sn.resume()
	}
	return err
}

// SetDiskStall implements world.World.
func (w *World) SetDiskStall(id world.NodeID, stalled bool) error {
	sn, err := w.node(id)
	if err == nil {
		sn.setStall(stalled)
	}
	return err
}

// SetClockRate implements world.World.
func (w *World) SetClockRate(id world.NodeID, rate float64) error {
	if rate <= 0 {
		return fmt.Errorf("sim: clock rate must be positive, got %v", rate)
	}
	sn, err := w.node(id)
	if err == nil {
		sn.logf("CLOCK rate %.3g", rate)
		sn.setRate(rate)
	}
	return err
}

// WriteLogs writes each node's log to dir/<node>.log.
func (w *World) WriteLogs(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var errs []error
	for _, id := range w.order {
		errs = append(errs, w.nodes[id].log.writeTo(dir, id.String()))
	}
	return errors.Join(errs...)
}

// Close implements world.World: it closes the node logs' files.
func (w *World) Close() error {
	var errs []error
	for _, id := range w.order {
		errs = append(errs, w.nodes[id].log.close())
	}
	return errors.Join(errs...)
}
