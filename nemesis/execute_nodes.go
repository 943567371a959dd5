package nemesis

import (
	"fmt"
	"slices"
	"time"

	"github.com/splitbrain/splitbrain/harness/history"
	"github.com/splitbrain/splitbrain/harness/world"
)

// restart restarts crashed nodes. Those that cannot restart because their
// data is gone (their crash lost data and the world refused the restart)
// are replaced, after every plain restart, so that the quorum a
// replacement needs has the best chance to be up; a replacement is a
// membership change, so it runs in the lane. Other failures are noted and
// the node stays crashed.
func (x *executor) restart(ids []world.NodeID) {
	st := x.st
	for _, id := range ids {
		st.mu.Lock()
		fate := st.crashed[id]
		st.mu.Unlock()
		err := x.w.Restart(id)
		switch {
		case err == nil:
			st.mu.Lock()
			delete(st.crashed, id)
			st.mu.Unlock()
			x.record(history.FaultRestart, id.String(), id, nil)
		case fate != world.KeepWritten:
			st.mu.Lock()
			st.replacing[id] = true // until its replacement is done or fails
			st.mu.Unlock()
			// Given up, it stays a crashed member: a later restart (or
			// the final heal-all) tries again.
			x.inLane("restart "+id.String(), func(x *executor) { x.replaceLost(id, err) }, func() { st.unmarkReplacing(id) })
		case x.final:
			x.giveUp(id, fmt.Errorf("restart failed; %s stays down: %w", id, err))
		default:
			x.record(history.FaultNote, "restart "+id.String(), id, fmt.Errorf("restart failed; %s stays down: %w", id, err))
		}
	}
}

// replaceLost replaces a crashed node whose data is gone: the old ID is
// gone for good, so it is removed and a new node is added. If the removal
// fails the node stays a crashed member, and a later restart tries again.
func (x *executor) replaceLost(id world.NodeID, why error) {
	defer x.st.unmarkReplacing(id)
	if err := x.admin(3, func() error { return x.w.RemoveNode(id) }); err != nil {
		x.record(history.FaultRemoveNode, fmt.Sprintf("%s (cannot restart: %v)", id, why), id, err)
		if x.final {
			x.giveUp(id, fmt.Errorf("not replaced: %w", err))
		}
		return
	}
	x.record(history.FaultRemoveNode, fmt.Sprintf("%s (cannot restart: %v)", id, why), id, nil)
	x.forget(id, false)
	nid := x.addNode(false, " (replaces "+id.String()+")")
	what := fmt.Sprintf("%s replaced by %s", id, nid)
	if nid == 0 {
		what = fmt.Sprintf("%s removed; adding a replacement failed", id)
	}
	x.record(history.FaultRestart, what, id, nil)
}

// giveUp ends the nemesis's hold on a crashed node it cannot bring back,
// at the final heal: the node stays down, and its restart is recorded
// with the error, which closes its window.
func (x *executor) giveUp(id world.NodeID, err error) {
	x.st.mu.Lock()
	delete(x.st.crashed, id)
	x.st.mu.Unlock()
	x.record(history.FaultRestart, id.String()+" (given up: it stays down)", id, err)
}

func (x *executor) resume(ids []world.NodeID) {
	st := x.st
	for _, id := range ids {
		if err := x.w.Resume(id); err != nil {
			x.record(history.FaultNote, "resume "+id.String(), id, fmt.Errorf("resume failed: %w", err))
			continue
		}
		st.mu.Lock()
		delete(st.paused, id)
		st.mu.Unlock()
		x.record(history.FaultResume, id.String(), id, nil)
	}
}

// stall stalls the disks of ids and records each.
func (x *executor) stall(ids []world.NodeID) {
	st := x.st
	for _, id := range ids {
		if err := x.w.SetDiskStall(id, true); err != nil {
			x.record(history.FaultStallDisk, id.String(), id, err)
			continue
		}
		st.mu.Lock()
		st.stalled[id] = true
		st.mu.Unlock()
		x.record(history.FaultStallDisk, id.String(), id, nil)
	}
}

// unstall ends the stalls of ids' disks. One the world fails to end is
// recorded with the error and still closes its window: the nemesis no
// longer holds it.
func (x *executor) unstall(ids []world.NodeID) {
	st := x.st
	for _, id := range ids {
		err := x.w.SetDiskStall(id, false)
		st.mu.Lock()
		delete(st.stalled, id)
		st.mu.Unlock()
		x.record(history.FaultUnstallDisk, id.String(), id, err)
	}
}

// setClock sets a node's clock rate, ending any earlier skew or strobe of
// it first (recorded as a clock-reset, so windows pair), and records the
// change. It returns the new clock (nil if the world refused).
func (x *executor) setClock(id world.NodeID, rate float64, value string, c *clock) *clock {
	st := x.st
	if c == nil {
		c = &clock{}
	}
	st.mu.Lock()
	old := st.clocks[id]
	st.clocks[id] = c
	st.mu.Unlock()
	if old != nil {
		old.stop(func() {})
		x.record(history.FaultClockReset, id.String()+" (superseded)", id, nil)
	}
	if err := x.w.SetClockRate(id, rate); err != nil {
		st.mu.Lock()
		delete(st.clocks, id)
		st.mu.Unlock()
		x.record(history.FaultNote, value, id, fmt.Errorf("clock change failed: %w", err))
		return nil
	}
	x.record(history.FaultClock, value, id, nil)
	return c
}

// strobe alternates a node's clock between the low and the high rate,
// each for a period, in a background task until its clock is reset.
func (x *executor) strobe(id world.NodeID, op Op) {
	c := x.setClock(id, op.Low, fmt.Sprintf("%s strobe %s/%s every %s", id, fmtFloat(op.Low), fmtFloat(op.High), op.Period), nil)
	if c == nil {
		return
	}
	w := x.w
	w.Go("nemesis strobe "+id.String(), func() {
		rates := [2]float64{op.Low, op.High}
		for i := 1; ; i++ {
			w.Sleep(op.Period)
			c.mu.Lock()
			if c.stopped {
				c.mu.Unlock()
				return
			}
			_ = w.SetClockRate(id, rates[i%2]) // a removed or unknown node: the reset will say
			c.mu.Unlock()
		}
	})
}

func (x *executor) resetClock(id world.NodeID, value string) {
	st := x.st
	st.mu.Lock()
	c := st.clocks[id]
	delete(st.clocks, id)
	st.mu.Unlock()
	var err error
	set := func() { err = x.w.SetClockRate(id, 1) }
	if c != nil {
		c.stop(set)
	} else {
		set()
	}
	x.record(history.FaultClockReset, value, id, err)
}

// addNode adds a node and records it; it returns the new ID (0 if none
// was created). A timeout is recorded with the ID: the node may still join.
func (x *executor) addNode(learner bool, why string) world.NodeID {
	var id world.NodeID
	err := x.admin(1, func() (err error) { id, err = x.w.AddNode(learner); return err })
	role := "voter"
	if learner {
		role = "learner"
	}
	name := "no node"
	if id != 0 {
		name = id.String()
	}
	x.record(history.FaultAddNode, name+" "+role+why, id, err)
	return id
}

// admin runs a membership change once a leader is known (or leaderWait
// has passed): a change proposed with no leader is dropped at once. An
// idempotent change may be given more than one attempt.
func (x *executor) admin(attempts int, change func() error) error {
	var err error
	for range attempts {
		x.leader(true)
		if err = change(); err == nil || x.stopped() || x.bounded && x.w.Now() >= x.until {
			return err
		}
	}
	return err
}

// removeNode removes a member; true if the world did.
func (x *executor) removeNode(id world.NodeID, value string) bool {
	err := x.admin(1, func() error { return x.w.RemoveNode(id) })
	x.record(history.FaultRemoveNode, value, id, err)
	if err == nil {
		x.forget(id, true)
	}
	return err == nil
}

// forget drops a node that left the cluster from the nemesis's state and
// records the end of the faults it had on it (so that their windows
// close): the node is gone, and so are they. A replaced node's crash is
// closed by its restart event instead (withCrash false).
func (x *executor) forget(id world.NodeID, withCrash bool) {
	crashed, paused, clocked, stalled := x.st.forget(id)
	why := id.String() + " (removed from the cluster)"
	if crashed && withCrash {
		x.record(history.FaultRestart, why, id, nil)
	}
	if paused {
		x.record(history.FaultResume, why, id, nil)
	}
	if clocked {
		x.record(history.FaultClockReset, why, id, nil)
	}
	if stalled {
		x.record(history.FaultUnstallDisk, why, id, nil)
	}
}

// snapshotIsolate cuts followers off until the leader has applied gap
// entries more than any of them, then heals, so that they can catch up
// only by snapshot.
func (x *executor) snapshotIsolate(op Op) {
	w, st := x.w, x.st
	leader := x.leader(true)
	if leader == 0 {
		x.note(op, "no leader")
		return
	}
	pool := without(x.upMembers(), []world.NodeID{leader})
	ids := x.resolve(op, op.Target, pool, "running followers", true)
	if len(ids) == 0 {
		return
	}
	gap, timeout := uint64(op.Gap), op.Timeout
	if gap == 0 {
		gap = DefaultSnapshotGap
	}
	if timeout == 0 {
		timeout = DefaultSnapshotTimeout
	}
	rest := without(w.Nodes(), ids)
	err := w.SetReach(world.Groups(ids, rest))
	gen := st.bumpReach()
	x.record(history.FaultPartition, fmt.Sprintf("snapshot-isolate %s | %s until the leader is %d entries ahead (timeout %s)",
		fmtIDs(ids), fmtIDs(rest), gap, timeout), 0, err)
	if err != nil {
		return
	}
	acquire(w) // held by the watcher
	x.spawn("nemesis snapshot-isolate", func() {
		defer release(w)
		x.watchSnapshot(ids, gen, gap, timeout)
	})
}

func (x *executor) watchSnapshot(ids []world.NodeID, gen, gap uint64, timeout time.Duration) {
	w, st := x.w, x.st
	applied := map[world.NodeID]uint64{} // last known, for nodes that stop answering
	start := w.Now()
	for {
		for _, id := range ids {
			if s, ok := w.Status(id); ok {
				applied[id] = s.Applied
			}
		}
		var behind uint64
		for _, id := range ids {
			behind = max(behind, applied[id])
		}
		lead, ok := w.Leader()
		var ahead uint64
		if ok && !slices.Contains(ids, lead) {
			if s, ok := w.Status(lead); ok && s.Applied > behind {
				ahead = s.Applied - behind
			}
			if ahead >= gap {
				x.heal(fmt.Sprintf("snapshot-isolate of %s ended: leader %s is %d entries ahead (gap %d)", fmtIDs(ids), lead, ahead, gap))
				return
			}
		}
		if w.Now()-start >= timeout {
			x.heal(fmt.Sprintf("snapshot-isolate of %s ended: timed out after %s with the leader %d entries ahead (gap %d)", fmtIDs(ids), timeout, ahead, gap))
			return
		}
		w.Sleep(pollEvery)
		if st.reach() != gen || x.stopped() {
			return // someone else changed the network (or the run is stopping): not ours to heal
		}
	}
}

// healAll ends everything: the network first, so that restarted and
// replacement nodes can reach the cluster; then stalled disks, paused
// nodes, crashed nodes and clocks.
func (x *executor) healAll() {
	st := x.st
	x.heal("heal-all")
	x.unstall(st.stalledIDs())
	x.resume(st.pausedIDs())
	x.restart(st.restartableIDs())
	for _, id := range st.clockIDs() {
		x.resetClock(id, id.String())
	}
}
