package proc

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"syscall"
	"time"

	"github.com/splitbrain/splitbrain/harness/proc/node"
	"github.com/splitbrain/splitbrain/harness/raftkv"
	"github.com/splitbrain/splitbrain/harness/world"
)

// Crash implements world.World. KeepWritten is SIGKILL: the page cache
// survives, so everything the node wrote is kept. Wipe is SIGKILL and the
// data directory deleted. LoseUnsynced and TornWrite need a filesystem
// layer between the node and the disk; they are sim-only.
func (w *World) Crash(id world.NodeID, fate world.DiskFate) error {
	if fate == world.LoseUnsynced || fate == world.TornWrite {
		return fmt.Errorf("proc: %s needs a filesystem layer that can drop unsynced writes; it is sim-only: %w", fate, world.ErrUnsupported)
	}
	if fate != world.KeepWritten && fate != world.Wipe {
		return fmt.Errorf("proc: unknown disk fate %v", fate)
	}
	n, err := w.node(id)
	if err != nil {
		return err
	}
	n.lock()
	defer n.unlock()
	if err := w.kill(n, "CRASH ("+fate.String()+")"); err != nil {
		return err
	}
	if fate == world.Wipe {
		w.mu.Lock()
		n.wiped = true
		w.mu.Unlock()
		if err := w.cfg.System.Wipe(w.spec(n)); err != nil {
			return fmt.Errorf("proc: %w", err)
		}
		w.mark(n, "WIPED %s", n.dataDir)
	}
	return nil
}

// Restart implements world.World: the node starts again from its data
// directory. A node whose data was wiped is not started: Restart fails
// with raftkv.ErrDataLost (wrapped), and the node must be replaced under a
// new ID (a system started without its data could rejoin under its old
// identity with its votes forgotten).
func (w *World) Restart(id world.NodeID) error {
	n, err := w.node(id)
	if err != nil {
		return err
	}
	n.lock()
	defer n.unlock()
	w.mu.Lock()
	member, up, wiped := n.member, n.proc != nil, n.wiped
	w.mu.Unlock()
	if !member {
		return fmt.Errorf("proc: %s was removed from the cluster", id)
	}
	if up {
		return nil
	}
	if wiped {
		return fmt.Errorf("proc: %s: its data was wiped: %w", id, raftkv.ErrDataLost)
	}
	if err := w.startNode(n); err != nil {
		return err
	}
	w.mu.Lock()
	n.stale = false // it started with the current clock rate
	w.mu.Unlock()
	return w.pushNet(n)
}

// Pause implements world.World: SIGSTOP to the node's process group.
func (w *World) Pause(id world.NodeID) error {
	n, err := w.node(id)
	if err != nil {
		return err
	}
	n.lock()
	defer n.unlock()
	if !w.running(n) {
		return nil
	}
	w.mark(n, "PAUSE: SIGSTOP")
	if err := w.signal(n, syscall.SIGSTOP); err != nil {
		return err
	}
	w.mu.Lock()
	n.paused = true
	p := n.proc
	w.mu.Unlock()
	// SIGSTOP takes effect when each thread next enters the kernel; until
	// then a busy node may still answer. Return once it really is frozen.
	if p != nil && !waitStopped(p.Pid, 5*time.Second) {
		return fmt.Errorf("proc: %s (pid %d) did not stop within 5s of SIGSTOP", id, p.Pid)
	}
	return nil
}

// Resume implements world.World: SIGCONT, then whatever settings changed
// while the node was stopped.
func (w *World) Resume(id world.NodeID) error {
	n, err := w.node(id)
	if err != nil {
		return err
	}
	n.lock()
	defer n.unlock()
	if !w.running(n) {
		return nil
	}
	if err := w.signal(n, syscall.SIGCONT); err != nil {
		return err
	}
	w.mark(n, "RESUME: SIGCONT")
	w.mu.Lock()
	n.paused = false
	stale, rate := n.stale, n.rate
	n.stale = false
	w.mu.Unlock()
	if !stale {
		return nil
	}
	return errors.Join(w.pushRate(n, rate), w.pushNet(n))
}

// SetDiskStall implements world.World: a node's fsyncs cannot be held
// without a filesystem layer, so it is refused.
func (w *World) SetDiskStall(world.NodeID, bool) error {
	return fmt.Errorf("proc: a disk stall needs a filesystem layer that can hold fsyncs; it is sim-only: %w", world.ErrUnsupported)
}

// SetClockRate implements world.World through the node's tick-rate admin
// call; a stopped or paused node gets the rate when it is back.
func (w *World) SetClockRate(id world.NodeID, rate float64) error {
	if !w.cfg.System.Caps().ClockRate {
		return fmt.Errorf("proc: %s has no clock-rate control (clock skew): %w", w.systemName(), world.ErrUnsupported)
	}
	if !(rate > 0) {
		return fmt.Errorf("proc: clock rate must be positive, got %v", rate)
	}
	n, err := w.node(id)
	if err != nil {
		return err
	}
	n.lock()
	defer n.unlock()
	w.mu.Lock()
	n.rate = rate
	deliver := n.proc != nil && !n.paused
	if n.proc != nil && n.paused {
		n.stale = true
	}
	w.mu.Unlock()
	w.mark(n, "CLOCK rate %g", rate)
	if !deliver {
		return nil
	}
	return w.pushRate(n, rate)
}

func (w *World) pushRate(n *nodeProc, rate float64) error {
	ctx, cancel := context.WithTimeout(context.Background(), w.cfg.AdminTimeout)
	defer cancel()
	if err := w.kv.TickRate(ctx, n.apiAddr, rate); err != nil {
		return fmt.Errorf("proc: clock rate of %s: %w", n.id, unsupported(err))
	}
	return nil
}

// SetReach implements world.World with nftables rules that drop the TCP
// packets of each cut link (A→B: source A, destination B, destination
// port B's peer port). Connections in the other direction keep working.
func (w *World) SetReach(r world.Reach) error {
	if w.fw == nil {
		if r.Empty() {
			return nil
		}
		return fmt.Errorf("proc: partitions need nftables (root, CAP_NET_ADMIN) and this world runs with --no-net-faults: %w", world.ErrUnsupported)
	}
	w.mu.Lock()
	old := w.reach
	w.reach = r
	if err := w.fw.set(w.rulesLocked()); err != nil {
		w.reach = old
		w.mu.Unlock()
		return fmt.Errorf("proc: partition %s: %w", r, err)
	}
	w.mu.Unlock()
	w.markAll("NET %s", r)
	return nil
}

// markAll writes a harness line into every node's log.
func (w *World) markAll(format string, args ...any) {
	w.mu.Lock()
	var nodes []*nodeProc
	for _, id := range w.order {
		nodes = append(nodes, w.nodes[id])
	}
	w.mu.Unlock()
	for _, n := range nodes {
		w.mark(n, format, args...)
	}
}

// SetPacket implements world.World: loss is kernel packet loss (an
// nftables numgen rule per link); delay, jitter, duplication and
// reordering are applied by the sending node's transport (the kernel here
// has no netem). A fault confined to a message class is refused. A zero
// Packet clears every packet fault; otherwise p is added to those in
// force.
func (w *World) SetPacket(p world.Packet) error {
	if p.Only != world.AllMessages {
		return fmt.Errorf("proc: a packet fault confined to %s messages needs a network that tells raft's messages apart (the sim's); the kernel sees only TCP segments: %w", p.Only, world.ErrUnsupported)
	}
	if p.Loss > 0 && w.fw == nil {
		return fmt.Errorf("proc: packet loss needs nftables (root, CAP_NET_ADMIN) and this world runs with --no-net-faults: %w", world.ErrUnsupported)
	}
	if (p.Delay != 0 || p.Jitter != 0 || p.Duplicate != 0 || p.Reorder != 0) && !w.cfg.System.Caps().SenderPackets {
		return fmt.Errorf("proc: packet delay, jitter, duplication and reordering are done by the sending node, and %s does not take them (packet loss is the kernel's and works): %w", w.systemName(), world.ErrUnsupported)
	}
	if p.Loss < 0 || p.Loss > 1 || p.Duplicate < 0 || p.Duplicate > 1 || p.Reorder < 0 || p.Reorder > 1 || p.Delay < 0 || p.Jitter < 0 {
		return fmt.Errorf("proc: bad packet fault %+v", p)
	}
	w.mu.Lock()
	old := w.packets
	if p.Zero() {
		w.packets = nil
	} else {
		w.packets = append(append([]world.Packet(nil), w.packets...), p)
	}
	if w.fw != nil {
		if err := w.fw.set(w.rulesLocked()); err != nil {
			w.packets = old
			w.mu.Unlock()
			return fmt.Errorf("proc: packet loss: %w", err)
		}
	}
	var nodes []*nodeProc
	for _, id := range w.order {
		nodes = append(nodes, w.nodes[id])
	}
	w.mu.Unlock()
	if p.Zero() {
		w.markAll("PACKET cleared")
	} else {
		w.markAll("PACKET %+v", p)
	}
	var errs []error
	for _, n := range nodes {
		errs = append(errs, w.pushNet(n))
	}
	return errors.Join(errs...)
}

// linksLocked lists every directed link between nodes that exist.
func (w *World) linksLocked() [][2]world.NodeID {
	var out [][2]world.NodeID
	for _, a := range w.order {
		for _, b := range w.order {
			if a != b {
				out = append(out, [2]world.NodeID{a, b})
			}
		}
	}
	return out
}

// rule is the firewall rule that drops the packets of link from→to
// (always if lossPPM is 0).
func (w *World) rule(from, to world.NodeID, lossPPM uint32) dropRule {
	r := dropRule{src: nodeIP(from), dst: nodeIP(to), dport: uint16(w.cfg.PeerPort), lossPPM: lossPPM}
	if w.fw != nil && w.fw.byProcess {
		r.srcGID, r.dstGID = nodeGID(from), nodeGID(to)
	}
	return r
}

// rulesLocked is the firewall for the reachability and loss in force.
func (w *World) rulesLocked() []dropRule {
	var rules []dropRule
	for _, l := range w.reach.Links() {
		rules = append(rules, w.rule(l[0], l[1], 0))
	}
	if len(w.packets) == 0 {
		return rules
	}
	for _, l := range w.linksLocked() {
		if !w.reach.Allows(l[0], l[1]) {
			continue
		}
		if p := world.PacketsOn(w.packets, l[0], l[1], world.AllMessages); p.Loss > 0 {
			ppm := uint32(p.Loss*1e6 + 0.5)
			if ppm >= 1_000_000 {
				ppm = 0 // always
			}
			rules = append(rules, w.rule(l[0], l[1], ppm))
		}
	}
	return rules
}

// pushNet sends n the packet faults of its outgoing links; a stopped or
// paused node gets them when it is back.
func (w *World) pushNet(n *nodeProc) error {
	if !w.cfg.System.Caps().SenderPackets {
		return nil // SetPacket refuses what it would carry
	}
	w.mu.Lock()
	if n.proc == nil || n.paused {
		n.stale = n.stale || n.proc != nil
		w.mu.Unlock()
		return nil
	}
	req := node.NetRequest{Links: map[string]node.LinkSpec{}}
	for _, to := range w.order {
		if to == n.id {
			continue
		}
		p := world.PacketsOn(w.packets, n.id, to, world.AllMessages)
		f := node.LinkFaults{Delay: p.Delay, Jitter: p.Jitter, Duplicate: p.Duplicate, Reorder: p.Reorder}
		if f != (node.LinkFaults{}) {
			req.Links[strconv.FormatUint(uint64(to), 10)] = node.SpecOf(f)
		}
	}
	w.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), w.cfg.AdminTimeout)
	defer cancel()
	if err := w.kv.Net(ctx, n.apiAddr, req); err != nil {
		w.mu.Lock()
		defer w.mu.Unlock()
		if n.proc == nil || n.paused {
			// Crashed or paused meanwhile: it gets them when it is back.
			n.stale = n.stale || n.proc != nil
			return nil
		}
		return fmt.Errorf("proc: packet faults of %s: %w", n.id, unsupported(err))
	}
	return nil
}

// unsupported turns a node's "not implemented" into world.ErrUnsupported.
func unsupported(err error) error {
	if errors.Is(err, node.ErrNotImplemented) {
		return fmt.Errorf("%w: %w", err, world.ErrUnsupported)
	}
	return err
}
