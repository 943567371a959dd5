package sim

import (
	"fmt"
	"slices"
	"time"

	"github.com/splitbrain/splitbrain/harness/raftnode"
	"github.com/splitbrain/splitbrain/harness/world"
	pb "go.etcd.io/raft/v3/raftpb"
)

// simNode is one simulated machine: a raftnode.Node driven by the event
// loop, its disk, its clock and its log.
type simNode struct {
	w    *World
	id   world.NodeID
	node raftnode.Node // nil while crashed
	disk *disk

	member      bool     // still in the cluster (not removed)
	join        bool     // started empty to join a running cluster
	peers       []uint64 // the bootstrap peers, for a restart before anything was durable
	fresh       bool     // nothing ever became durable: a restart may start over
	paused      bool     // SIGSTOPped: time and inputs wait
	frozen      []func() // inputs that arrived while paused, in order
	rate        float64  // clock rate; 1 = real speed
	incarnation uint64   // bumped by every start and crash: stale events check it
	tickGen     uint64   // bumped to cancel a tick chain
	log         *nodeLog

	// stalled: the disk completes no fsync (and writes nothing back)
	// until the stall ends; held are the completions that fell due
	// meanwhile, in order. The stall is the disk's: it outlasts a crash.
	stalled bool
	held    []func()

	// For the "no committed entry lost across restarts" invariant: the
	// highest index this node applied before its last crash (since its
	// last wipe), and what that crash did to its disk.
	appliedBeforeCrash uint64
	applied            uint64
	lastFate           world.DiskFate
	// amnesiac: it had durable state, lost it in a wipe, and was
	// restarted anyway under its old ID (only a node with the
	// amnesia-rejoin canary starts so).
	amnesiac bool
	// restarts counts the node's restarts; startedAt is when it last
	// started.
	restarts  int
	startedAt time.Duration
	// config: the members (voters and learners) of the configuration it
	// last applied, since its last start (see stopRemoved).
	config []uint64
}

func (sn *simNode) logf(format string, args ...any) {
	sn.log.printf("%s %s: %s\n", fmtTime(sn.w.loop.now), sn.id, fmt.Sprintf(format, args...))
}

// Logf implements raftnode.Logger.
func (sn *simNode) Logf(format string, args ...any) { sn.logf(format, args...) }

func fmtTime(d time.Duration) string { return fmt.Sprintf("%12.6fs", d.Seconds()) }

func (sn *simNode) up() bool { return sn.node != nil }

// call runs f on the running node, as a call into the node's code.
func (sn *simNode) call(f func(raftnode.Node)) {
	prev := sn.enter()
	f(sn.node)
	sn.leave(prev)
}

// status is the running node's Status.
func (sn *simNode) status() (st raftnode.Status) {
	sn.call(func(n raftnode.Node) { st = n.Status() })
	return st
}

// enter marks the start of a call into the node's code, and leave (given
// what enter returned) its end: a panic in between is the node's
// (invariants.panicked). Not deferred: a panicking call leaves the mark
// for the recover.
func (sn *simNode) enter() (prev world.NodeID) {
	l := sn.w.loop
	prev = l.inNode
	l.inNode = sn.id
	l.nodeCalls++
	return prev
}

func (sn *simNode) leave(prev world.NodeID) { sn.w.loop.inNode = prev }

// start creates the raft node from the disk's durable state.
func (sn *simNode) start(peers []uint64) error {
	cfg := sn.w.cfg.Node
	cfg.ID = uint64(sn.id)
	cfg.Logger = sn
	cfg.Join = sn.join
	prev := sn.enter()
	n, err := sn.w.cfg.System.New(cfg, sn.disk.durable.Clone(), peers)
	sn.leave(prev)
	if err != nil {
		return err
	}
	sn.node = n
	sn.startedAt = sn.w.loop.now
	sn.incarnation++
	sn.scheduleTick()
	sn.process()
	return nil
}

// deliver runs fn as an input to the node now, or when it resumes if it is
// paused. Inputs to a crashed node are lost.
func (sn *simNode) deliver(fn func()) {
	if !sn.up() {
		return
	}
	if sn.paused {
		sn.frozen = append(sn.frozen, fn)
		return
	}
	fn()
	sn.process()
}

func (sn *simNode) tickPeriod() time.Duration {
	return time.Duration(float64(sn.w.cfg.TickPeriod) / sn.rate)
}

// scheduleTick starts a new tick chain. The first tick comes after a
// random part of a period: real nodes' clocks are not in phase, and raft's
// timers (elections, CheckQuorum) race differently when they are not.
func (sn *simNode) scheduleTick() {
	sn.tickGen++
	gen, inc := sn.tickGen, sn.incarnation
	var tick func()
	tick = func() {
		if sn.tickGen != gen || sn.incarnation != inc || !sn.up() || sn.paused {
			return
		}
		prev := sn.enter()
		sn.node.Tick()
		sn.leave(prev)
		sn.process()
		sn.w.loop.after(sn.tickPeriod(), tick)
	}
	sn.w.loop.after(1+time.Duration(sn.w.loop.rng.Int64N(int64(sn.tickPeriod()))), tick)
}

// process drains the node's output: writes to the disk, messages to the
// network, responses to clients, applied entries to the invariant checker.
func (sn *simNode) process() {
	for sn.up() {
		prev := sn.enter()
		out := sn.node.Ready()
		sn.leave(prev)
		if out.Empty() {
			break
		}
		sn.handle(out)
	}
	if sn.up() {
		sn.w.inv.observeStatus(sn)
		if sn.w.cfg.System.Reports.Applied {
			sn.w.inv.membership(sn, sn.status())
		}
	}
}

func (sn *simNode) handle(out raftnode.Output) {
	w := sn.w
	if len(out.Applied) > 0 && !w.cfg.System.Reports.Applied {
		panic(fmt.Sprintf("sim: %s reported applied entries, but its system %s says it does not (Reports.Applied)", sn.id, w.cfg.System.Name))
	}
	for _, a := range out.Applied {
		w.inv.applied(sn, a)
		sn.applied = a.Index
	}
	// A node that reports what it applies is asked whether it was removed
	// only when it applied something; one that does not, after every Ready.
	if (len(out.Applied) > 0 || !w.cfg.System.Reports.Applied) && sn.member {
		st := sn.status()
		sn.stopRemoved(st)
		if st.Removed {
			// Its own removal applied (perhaps after the RemoveNode call
			// gave up waiting): it is no longer a member; stop it as
			// RemoveNode does.
			defer func() {
				sn.member = false
				sn.crash(world.KeepWritten)
				sn.logf("REMOVED from the cluster (its removal applied)")
			}()
		}
	}
	for _, wr := range out.Writes {
		w.inv.written(sn, wr)
		sn.disk.write(wr)
		w.inv.committed(sn, wr)
		seq, inc := wr.Seq, sn.incarnation
		if wr.Sync {
			w.loop.after(w.fsyncDelay(), sn.unlessStalled(func() {
				if sn.incarnation != inc {
					return
				}
				sn.disk.syncThrough(seq)
				sn.fresh = false // it has durable state now: losing it is amnesia
				sn.deliver(func() { sn.call(func(n raftnode.Node) { n.WriteDone(seq) }) })
			}))
		} else {
			w.loop.after(w.cfg.Writeback, sn.unlessStalled(func() {
				if sn.incarnation == inc {
					sn.disk.syncThrough(seq)
					sn.fresh = false
				}
			}))
		}
	}
	snaps := 0
	for _, m := range out.Messages {
		w.inv.sent(sn, m)
		w.send(sn, m)
		if m.GetType() == pb.MsgSnap {
			snaps++
		}
	}
	for _, m := range out.Messages {
		if snaps == 0 || !sn.up() {
			break
		}
		if m.GetType() == pb.MsgSnap {
			// The transport reports a snapshot as sent once it is handed
			// to the network; if it is lost, raft probes and resends.
			snaps--
			sn.call(func(n raftnode.Node) { n.ReportSnapshot(m.GetTo(), true) })
		}
	}
	for _, r := range out.Responses {
		w.respond(sn, r)
	}
}

// stopRemoved stops the members that the configuration sn applied (st)
// removed since the one it applied before: a configuration is applied
// once committed, so their removal is final (IDs are never reused), even
// if the RemoveNode call gave up waiting for it, and even if they never
// hear of it — a removed node that was cut off when its removal committed
// is sent nothing more, and would otherwise run on as a member of the
// world, with clients pinned to it. They are stopped as RemoveNode stops
// a node. Only a change between two configurations applied since the
// node's last start counts.
func (sn *simNode) stopRemoved(st raftnode.Status) {
	cfg := append(slices.Clone(st.Voters), st.Learners...)
	prev := sn.config
	sn.config = cfg
	for _, id := range prev {
		if slices.Contains(cfg, id) {
			continue
		}
		if x := sn.w.nodes[world.NodeID(id)]; x != nil && x != sn && x.member {
			x.member = false
			x.crash(world.KeepWritten)
			x.logf("REMOVED from the cluster (its removal committed: %s applied it)", sn.id)
		}
	}
}

// crash stops the node abruptly.
func (sn *simNode) crash(fate world.DiskFate) {
	if !sn.up() {
		return
	}
	lost := sn.disk.crash(fate, sn.w.loop.rng)
	sn.appliedBeforeCrash = max(sn.appliedBeforeCrash, sn.applied)
	sn.lastFate = fate
	if fate == world.Wipe {
		sn.appliedBeforeCrash = 0 // gone with the disk
	}
	sn.logf("CRASH (%s: %d un-fsynced writes lost)", fate, lost)
	sn.node = nil
	sn.config = nil
	sn.paused = false
	sn.frozen = nil
	sn.incarnation++
	sn.w.failCalls(sn.id, "connection reset: node crashed")
}

func (sn *simNode) restart() error {
	if sn.up() {
		return nil
	}
	sn.logf("RESTART from disk: last index %d, commit %d", sn.disk.durable.LastIndex(), sn.disk.durable.HardState.GetCommit())
	sn.applied = 0
	sn.restarts++
	var peers []uint64
	sn.join = false // a member that had durable state and lost it must not rejoin empty
	if sn.fresh {
		// No write of it ever completed, so it acknowledged nothing: it
		// starts as it first started (bootstrap peers, or joining). What a
		// torn write left on its disk is the node's to sort out: it finds
		// either nothing or a partial bootstrap, and bootstraps (again),
		// or a fragment of a joiner's first append, which raft extends.
		peers, sn.join = sn.peers, len(sn.peers) == 0
	}
	// A node that had durable state and lost it to a wipe must not come
	// back under its old ID (a correct node refuses:
	// raftnode.ErrDataLost); if it does (raftkv's amnesia-rejoin canary),
	// it is watched from its first message.
	was := sn.amnesiac
	sn.amnesiac = was || sn.lastFate == world.Wipe && !sn.fresh
	if err := sn.start(peers); err != nil {
		sn.amnesiac = was
		return err
	}
	if sn.amnesiac && !was {
		sn.logf("RESTARTED under its old ID after losing its durable state")
	}
	sn.applied = sn.disk.durable.Snapshot.GetMetadata().GetIndex()
	sn.w.inv.restarted(sn)
	return nil
}

func (sn *simNode) pause() {
	if !sn.up() || sn.paused {
		return
	}
	sn.logf("PAUSE")
	sn.paused = true
}

func (sn *simNode) resume() {
	if !sn.up() || !sn.paused {
		return
	}
	sn.logf("RESUME (%d queued inputs)", len(sn.frozen))
	sn.paused = false
	frozen := sn.frozen
	sn.frozen = nil
	for _, fn := range frozen {
		if !sn.up() {
			break
		}
		fn()
	}
	sn.process()
	sn.scheduleTick()
}

// unlessStalled wraps a disk completion: while the disk is stalled it is
// held, to run when the stall ends.
func (sn *simNode) unlessStalled(done func()) func() {
	var fn func()
	fn = func() {
		if sn.stalled {
			sn.held = append(sn.held, fn)
			return
		}
		done()
	}
	return fn
}

// setStall stalls the node's disk or ends its stall. The completions held
// meanwhile then run, in order, one fsync's time later (each checks the
// incarnation it was issued in: those of a crashed one do nothing).
func (sn *simNode) setStall(stalled bool) {
	if sn.stalled == stalled {
		return
	}
	sn.stalled = stalled
	if stalled {
		sn.logf("DISK STALLED")
		return
	}
	held := sn.held
	sn.held = nil
	sn.logf("DISK STALL ENDED (%d completions held)", len(held))
	d := sn.w.fsyncDelay()
	for _, fn := range held {
		sn.w.loop.after(d, fn)
	}
}

func (sn *simNode) setRate(r float64) {
	sn.rate = r
	if sn.up() && !sn.paused {
		sn.scheduleTick()
	}
}

// step hands a message from the network to the node.
func (sn *simNode) step(m *pb.Message) {
	sn.deliver(func() {
		prev := sn.enter()
		sn.node.Step(m)
		sn.leave(prev)
	})
}
