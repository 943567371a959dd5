package nemesis

import (
	"fmt"
	"sync"
	"time"

	"github.com/splitbrain/splitbrain/harness/history"
	"github.com/splitbrain/splitbrain/harness/world"
)

// laneStart is how long after its scheduled time a background job may
// still start: a membership change queued behind a slow one (one that
// waits for a leader, or times out under a partition) is given up, with
// a note, rather than carried out long after its time.
const laneStart = leaderWait

// lane runs the ops that block for long — membership changes and the
// replacement of nodes whose data is lost — in a background task, one at
// a time and in order, so that the timeline's other events fire on time.
// A job that cannot start within laneStart of the time it was queued is
// noted and dropped. In the sim the task runs in lockstep like any other.
type lane struct {
	mu   sync.Mutex
	busy bool // a task is running jobs
	jobs []laneJob
}

type laneJob struct {
	what string        // for the note if it is dropped
	by   time.Duration // latest start
	run  func(x *executor)
	drop func() // undoes what queueing the job did, if it never runs (may be nil)
}

// inLane runs fn as a lane job, or at once in the calling task when the
// executor has no lane (Apply, HealAll). If the job is dropped instead
// (given up, or the run stops first), drop runs (if not nil).
func (x *executor) inLane(what string, fn func(x *executor), drop func()) {
	if x.lane == nil {
		fn(x)
		return
	}
	job := laneJob{what: what, by: x.w.Now() + laneStart, run: fn, drop: drop}
	l := x.lane
	l.mu.Lock()
	if l.busy {
		l.jobs = append(l.jobs, job)
		l.mu.Unlock()
		return
	}
	l.busy = true
	l.mu.Unlock()
	x.spawn("nemesis lane", func() {
		for {
			x.runJob(job)
			l.mu.Lock()
			if len(l.jobs) == 0 {
				l.busy = false
				l.mu.Unlock()
				return
			}
			job, l.jobs = l.jobs[0], l.jobs[1:]
			l.mu.Unlock()
		}
	})
}

// runJob runs one lane job with an executor of its own, whose waits end
// at the job's deadline.
func (x *executor) runJob(job laneJob) {
	if x.stopped() {
		if job.drop != nil {
			job.drop()
		}
		return
	}
	now := x.w.Now()
	if now > job.by {
		x.record(history.FaultNote, job.what, 0, fmt.Errorf("given up: an earlier membership change was still under way %s after its time", (now-job.by+laneStart).Round(time.Millisecond)))
		if job.drop != nil {
			job.drop()
		}
		return
	}
	jx := *x
	jx.lane = nil
	jx.bounded, jx.until = true, job.by
	job.run(&jx)
}

// membership carries out a membership op (add-node, remove-node, promote,
// replace) from the calling task.
func (x *executor) membership(op Op) {
	w := x.w
	switch op.Kind {
	case AddNode:
		x.addNode(op.Learner, "")
	case RemoveNode:
		for _, id := range x.resolve(op, op.Target, w.Nodes(), poolMembers, true) {
			if why := x.unsafeToRemove(id); why != "" {
				x.note(op, id.String()+" kept: "+why)
				continue
			}
			x.removeNode(id, id.String())
		}
	case Promote:
		var learners []world.NodeID
		for _, id := range w.Nodes() {
			if s, ok := w.Status(id); ok && s.Learner {
				learners = append(learners, id)
			}
		}
		for _, id := range x.resolve(op, op.Target, learners, poolLearner, false) {
			x.record(FaultPromote, id.String(), id, x.admin(1, func() error { return w.PromoteNode(id) }))
		}
	case Replace:
		for _, id := range x.resolve(op, op.Target, w.Nodes(), poolMembers, true) {
			if why := x.unsafeToRemove(id); why != "" {
				x.note(op, id.String()+" kept: "+why)
				continue
			}
			if x.removeNode(id, id.String()+" (replace)") {
				x.addNode(false, " (replaces "+id.String()+")")
			}
		}
	default:
		panic(fmt.Sprintf("nemesis: %s is no membership op", op.Kind))
	}
}
