package proc

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/splitbrain/splitbrain/harness/proc/node"
	"github.com/splitbrain/splitbrain/harness/world"
)

// errRejected marks a conf change that certainly did not and will not
// take effect (the node answered fail).
var errRejected = errors.New("rejected")

// confChange asks the leader (or, with none, any answering member, which
// forwards it) to carry out req, and waits for it to apply. An error
// wrapping errRejected means it never will.
func (w *World) confChange(req node.ConfRequest) error {
	via, ok := w.Leader()
	if !ok {
		for _, id := range w.Nodes() {
			if n := w.lookup(id); n != nil && w.answering(n) {
				via, ok = id, true
				break
			}
		}
	}
	desc := fmt.Sprintf("%s n%d", req.Op, req.ID)
	if !ok {
		return fmt.Errorf("proc: no running member to propose %s", desc)
	}
	n := w.lookup(via)
	ctx, cancel := context.WithTimeout(context.Background(), w.cfg.AdminTimeout)
	defer cancel()
	resp, err := w.kv.Conf(ctx, n.apiAddr, req)
	if errors.Is(err, node.ErrNotImplemented) {
		return fmt.Errorf("proc: conf change %s via %s: %w", desc, via, unsupported(err))
	}
	if err != nil {
		return fmt.Errorf("proc: conf change %s via %s: unknown (%v)", desc, via, err)
	}
	switch resp.Outcome {
	case node.OutcomeOK:
		return nil
	case node.OutcomeFail:
		return fmt.Errorf("proc: conf change %s via %s: %w (%s)", desc, via, errRejected, resp.Error)
	}
	return fmt.Errorf("proc: conf change %s via %s: %s (%s)", desc, via, resp.Outcome, resp.Error)
}

// AddNode implements world.World: a new node (new ID, its own address)
// starts empty with --join and is added by a configuration change that
// carries its address; it catches up from the leader by log or snapshot.
func (w *World) AddNode(learner bool) (world.NodeID, error) {
	op := "add"
	if learner {
		op = "add-learner"
	}
	caps := w.cfg.System.Caps()
	if !caps.Supports(op) {
		return 0, fmt.Errorf("proc: %s does not offer membership change %s: %w", w.systemName(), op, world.ErrUnsupported)
	}
	w.mu.Lock()
	full := w.nextID >= maxNodeID
	w.mu.Unlock()
	if full {
		return 0, fmt.Errorf("proc: no more node addresses (node IDs go up to %d)", maxNodeID)
	}
	n := w.newNode(false, true)
	n.lock()
	defer n.unlock()
	kind := "voter"
	if learner {
		kind = "learner"
	}
	w.mark(n, "JOIN as %s", kind)
	if caps.AddBeforeStart {
		return w.addThenStart(n, op)
	}
	if err := w.startNode(n); err != nil {
		w.mu.Lock()
		n.member = false
		w.mu.Unlock()
		return 0, err
	}
	if err := w.pushNet(n); err != nil {
		return n.id, err
	}
	err := w.confChange(node.ConfRequest{Op: op, ID: uint64(n.id), PeerAddr: n.peerAddr})
	if errors.Is(err, errRejected) {
		// Never proposed: the node will never be a member. Stop it so that
		// it does not count as one.
		w.mu.Lock()
		n.member = false
		w.mu.Unlock()
		w.kill(n, "JOIN failed")
		return 0, err
	}
	// On an unknown outcome the change may still apply later; the node
	// stays up so that it can take part if it does.
	return n.id, err
}

// addThenStart adds n to the cluster and then starts it (etcd's way: a
// new member must be in the membership before it starts).
func (w *World) addThenStart(n *nodeProc, op string) (world.NodeID, error) {
	err := w.confChange(node.ConfRequest{Op: op, ID: uint64(n.id), PeerAddr: n.peerAddr})
	if errors.Is(err, errRejected) {
		w.mu.Lock()
		n.member = false
		w.mu.Unlock()
		w.mark(n, "JOIN failed: %v", err)
		return 0, err
	}
	if err != nil && !w.isMember(n.id) {
		// Unknown, and the members do not list it: do not start a node
		// that would refuse to start (etcd does). If the change applies
		// later the cluster carries a member that never runs, as it would
		// for an operator whose add timed out.
		w.mu.Lock()
		n.member = false
		w.mu.Unlock()
		w.mark(n, "JOIN abandoned: %v, and no member lists %s", err, n.id)
		return 0, err
	}
	serr := w.startNode(n)
	for try := 1; serr != nil && err == nil && try < 3 && !errors.Is(serr, errClosed); try++ {
		// etcd asks one member for the membership before it starts, and
		// refuses if that member has not applied the change yet (a
		// follower cut off by a partition): try again a little later.
		w.mark(n, "JOIN start failed, trying again: %v", serr)
		time.Sleep(2 * time.Second)
		serr = w.startNode(n)
	}
	if serr != nil {
		if err == nil {
			// A member that could not start: it stays a member, and the
			// world keeps trying to start it, as an operator would.
			w.keepStarting(n)
			return n.id, serr
		}
		w.mu.Lock()
		n.member = false
		w.mu.Unlock()
		return 0, errors.Join(err, serr)
	}
	return n.id, err
}

// keepStartingEvery is how often keepStarting tries again.
const keepStartingEvery = 3 * time.Second

// keepStarting tries, in the background, to start a member that was added
// but could not start (etcd refuses to start while the member it asks for
// the membership has not applied the change, e.g. behind a partition),
// until it runs, stops being a member, or the world closes.
func (w *World) keepStarting(n *nodeProc) {
	w.starters.Add(1)
	go func() {
		defer w.starters.Done()
		for {
			select {
			case <-w.stopping:
				return
			case <-time.After(keepStartingEvery):
			}
			n.lock()
			w.mu.Lock()
			done := !n.member || n.proc != nil || w.closed
			w.mu.Unlock()
			if done {
				n.unlock()
				return
			}
			err := w.startNode(n)
			n.unlock()
			if err == nil {
				w.pushNet(n)
				return
			}
			w.mark(n, "JOIN start failed, trying again in %v: %v", keepStartingEvery, err)
		}
	}()
}

// isMember asks the answering members whether their membership lists id
// (as a voter or a learner), for a few seconds: true if one does.
func (w *World) isMember(id world.NodeID) bool {
	deadline := time.Now().Add(w.cfg.AdminTimeout)
	for {
		for _, m := range w.Nodes() {
			n := w.lookup(m)
			if m == id || n == nil || !w.answering(n) {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), w.cfg.StatusTimeout)
			st, err := w.kv.Status(ctx, n.apiAddr)
			cancel()
			if err == nil && (slices.Contains(st.Voters, uint64(id)) || slices.Contains(st.Learners, uint64(id))) {
				return true
			}
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// PromoteNode implements world.World.
func (w *World) PromoteNode(id world.NodeID) error {
	if !w.cfg.System.Caps().Supports("promote") {
		return fmt.Errorf("proc: %s does not offer membership change promote: %w", w.systemName(), world.ErrUnsupported)
	}
	if _, err := w.node(id); err != nil {
		return err
	}
	return w.confChange(node.ConfRequest{Op: "promote", ID: uint64(id)})
}

// RemoveNode implements world.World: the member is removed by a
// configuration change and its process stopped.
func (w *World) RemoveNode(id world.NodeID) error {
	if !w.cfg.System.Caps().Supports("remove") {
		return fmt.Errorf("proc: %s does not offer membership change remove: %w", w.systemName(), world.ErrUnsupported)
	}
	n, err := w.node(id)
	if err != nil {
		return err
	}
	// A removed member may stop on its own (etcd does) as soon as the
	// change applies: that exit is expected.
	w.mu.Lock()
	n.leaving = true
	w.mu.Unlock()
	if err := w.confChange(node.ConfRequest{Op: "remove", ID: uint64(id)}); err != nil {
		if errors.Is(err, errRejected) {
			w.mu.Lock()
			n.leaving = false
			w.mu.Unlock()
		}
		return err
	}
	n.lock()
	defer n.unlock()
	w.mu.Lock()
	n.member = false
	w.mu.Unlock()
	err = w.kill(n, "REMOVED from the cluster")
	w.mark(n, "REMOVED from the cluster")
	return err
}
