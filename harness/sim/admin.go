package sim

import (
	"errors"
	"fmt"

	"github.com/splitbrain/splitbrain/harness/raftnode"
	"github.com/splitbrain/splitbrain/harness/world"
	pb "go.etcd.io/raft/v3/raftpb"
)

// adminSession is the session number of membership requests (client
// sessions start at 1).
const adminSession = 0

// Leader returns the node that believes it leads with the highest term, if
// any is up.
func (w *World) Leader() (world.NodeID, bool) {
	var best world.NodeID
	var term uint64
	for _, id := range w.Nodes() {
		st, ok := w.Status(id)
		if ok && st.State == "StateLeader" && st.Term >= term {
			best, term = id, st.Term
		}
	}
	return best, best != 0
}

// confChange proposes cc through the leader (or, with none, any running
// member, which forwards it) and waits for it to apply.
func (w *World) confChange(cc *pb.ConfChangeV2) error {
	via, ok := w.Leader()
	if !ok {
		for _, id := range w.Nodes() {
			if sn := w.nodes[id]; sn.up() && !sn.paused {
				via, ok = id, true
				break
			}
		}
	}
	if !ok {
		return fmt.Errorf("sim: no running member to propose %s", pb.ConfChangesToString(cc.GetChanges()))
	}
	w.nextAdmin++
	id := raftnode.RequestID{Client: adminSession, Seq: w.nextAdmin}
	res := w.call(via, id, false, w.cfg.AdminTimeout, func(sn *simNode) { sn.call(func(n raftnode.Node) { n.ProposeConfChange(id, cc) }) })
	switch res.Outcome {
	case world.OK:
		return nil
	case world.Fail:
		return fmt.Errorf("sim: conf change %s via %s: %w (%s)", pb.ConfChangesToString(cc.GetChanges()), via, errDefinite, res.Err)
	}
	return fmt.Errorf("sim: conf change %s via %s: %s (%s)", pb.ConfChangesToString(cc.GetChanges()), via, res.Outcome, res.Err)
}

// errDefinite marks a conf change that certainly did not and will not
// take effect.
var errDefinite = errors.New("rejected")

func single(t pb.ConfChangeType, id world.NodeID) *pb.ConfChangeV2 {
	return &pb.ConfChangeV2{Changes: []*pb.ConfChangeSingle{{Type: &t, NodeId: new(uint64(id))}}}
}

// AddNode implements world.World: a new node (new ID) starts empty and is
// added by a configuration change; it catches up from the leader by log or
// by snapshot.
func (w *World) AddNode(learner bool) (world.NodeID, error) {
	sn, err := w.newNode(nil, true)
	if err != nil {
		return 0, err
	}
	typ := pb.ConfChangeAddNode
	if learner {
		typ = pb.ConfChangeAddLearnerNode
	}
	sn.logf("JOIN as %s", map[bool]string{false: "voter", true: "learner"}[learner])
	if err := w.confChange(single(typ, sn.id)); err != nil {
		if errors.Is(err, errDefinite) {
			// The change was never proposed: the node will never be a
			// member. Stop it so that it does not count as one.
			sn.member = false
			sn.crash(world.KeepWritten)
			sn.logf("JOIN failed: %v", err)
			return 0, err
		}
		// The change may still apply later; the node stays up so that it
		// can take part if it does.
		return sn.id, err
	}
	return sn.id, nil
}

// PromoteNode implements world.World.
func (w *World) PromoteNode(id world.NodeID) error {
	if _, err := w.node(id); err != nil {
		return err
	}
	return w.confChange(single(pb.ConfChangeAddNode, id))
}

// RemoveNode implements world.World: the member is removed by a
// configuration change and then stopped.
func (w *World) RemoveNode(id world.NodeID) error {
	sn, err := w.node(id)
	if err != nil {
		return err
	}
	if err := w.confChange(single(pb.ConfChangeRemoveNode, id)); err != nil {
		return err
	}
	if sn.member { // not yet stopped when its removal committed (stopRemoved)
		sn.member = false
		sn.crash(world.KeepWritten)
		sn.logf("REMOVED from the cluster")
	}
	return nil
}
