package nemesis

import (
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"strings"
	"time"

	"github.com/splitbrain/splitbrain/harness/history"
	"github.com/splitbrain/splitbrain/harness/world"
)

// Recorder takes nemesis events; *history.Recorder satisfies it.
type Recorder interface {
	Record(history.Event) history.Event
}

// FaultPromote is the history action of promote. history/faults.go has no
// name for it yet; it is an instant fault like add-node.
const FaultPromote = "promote"

const (
	// pollEvery is the longest the executor sleeps without checking its
	// stop function, and the polling period of snapshot-isolate.
	pollEvery = 100 * time.Millisecond
	// leaderWait is how long a fault aimed at the leader waits for one to
	// be elected before it gives up.
	leaderWait = 3 * time.Second
)

// Execute runs s against w from the calling task: it sleeps until each
// event's time (since the test started, by w.Now), carries the op out, and
// records each fault as a nemesis event. Events fire on time: an op never
// waits past the next event's time (a leader target waits for an election
// at most until then, and is noted as unmatched if none came), and the ops
// that block for long — membership changes, and the replacement of a node
// whose data is lost — run in a background lane of their own, in order,
// each given up with a note if it cannot start within leaderWait of its
// time; events at the same time are one step, which waits as one op. The
// recorded times are when things happened. Execute returns when the last
// event is done and the background work (membership lane,
// snapshot-isolate watchers) has finished; a strobe goes on until a
// clock-reset. The world's refusals are recorded, not returned; the error
// is for a malformed schedule. Call HealAll afterwards unless s ends with
// heal-all.
func Execute(w world.World, s Schedule, rec Recorder) error {
	return ExecuteUntil(w, s, rec, nil)
}

// ExecuteUntil is Execute that returns early, without error, once stop
// reports true: it checks stop between events and, while waiting, at least
// every 100ms of test time; queued membership changes are dropped. The
// caller then runs HealAll. A nil stop never stops.
func ExecuteUntil(w world.World, s Schedule, rec Recorder, stop func() bool) error {
	if err := s.Validate(); err != nil {
		return fmt.Errorf("nemesis: %w", err)
	}
	x := &executor{w: w, st: acquire(w), rec: rec, stop: stop, bg: w.NewGroup(), lane: &lane{}}
	defer release(w) // after the watchers are done
	defer x.bg.Wait()
	for i, e := range s.Events {
		if !x.sleepUntil(e.At) {
			return nil
		}
		x.bounded, x.until = false, 0
		// Nothing this op does may hold up the next event. Events at the
		// same time are one step (skew the leader, then cut it off): the
		// first of them to wait for a leader waits for all of them, so
		// that they act on the same leader.
		for _, next := range s.Events[i+1:] {
			if next.At > e.At {
				x.bounded, x.until = true, next.At
				break
			}
		}
		if !x.bounded && i+1 < len(s.Events) {
			// The last step: all of it waits leaderWait at most.
			x.bounded, x.until = true, e.At+leaderWait
		}
		x.apply(e.Op)
	}
	return nil
}

// Apply carries out one op now, as Execute would, from the calling task.
// The background part of strobe and snapshot-isolate goes on after it
// returns; a membership change runs to its end before it returns.
func Apply(w world.World, op Op, rec Recorder) error {
	if err := op.Validate(); err != nil {
		return fmt.Errorf("nemesis: %w", err)
	}
	st := acquire(w)
	defer release(w)
	(&executor{w: w, st: st, rec: rec}).apply(op)
	return nil
}

// HealAll ends every fault the nemesis left in force on w: reachability
// restored and packet faults cleared, every paused node resumed, every
// crashed node restarted (one whose data is lost replaced by a new node),
// every clock reset. Run it at the end of a test and after a schedule
// stopped early. It runs everything from the calling task, to the end.
// It is the last word: a node it cannot bring back (a restart the world
// refuses, a replacement that fails) is recorded as restarted with the
// error, which closes its fault window — the nemesis no longer holds the
// fault in effect, and the cluster, which by the rules above kept a
// quorum, is judged on serving without it — instead of leaving a window
// that never closes.
func HealAll(w world.World, rec Recorder) {
	st := acquire(w)
	defer release(w)
	(&executor{w: w, st: st, rec: rec, final: true}).healAll()
}

type executor struct {
	w    world.World
	st   *state // held (acquired) for as long as the executor runs
	rec  Recorder
	stop func() bool
	bg   world.Group // snapshot-isolate watchers and the lane, waited for by Execute; nil: w.Go
	// lane runs membership changes in the background, in order; nil runs
	// them in the calling task (Apply, HealAll).
	lane *lane
	// bounded and until: the current op may wait (for a leader) only
	// until test time until, when the next event is due. Unbounded ops
	// wait up to leaderWait.
	bounded bool
	until   time.Duration
	// final: HealAll's executor, whose failures to bring a node back
	// close the node's window (see HealAll).
	final bool
}

func (x *executor) stopped() bool { return x.stop != nil && x.stop() }

func (x *executor) spawn(name string, fn func()) {
	if x.bg != nil {
		x.bg.Go(name, fn)
	} else {
		x.w.Go(name, fn)
	}
}

// sleepUntil sleeps until test time at; false if stopped first.
func (x *executor) sleepUntil(at time.Duration) bool {
	for {
		if x.stopped() {
			return false
		}
		now := x.w.Now()
		if now >= at {
			return true
		}
		d := at - now
		if x.stop != nil {
			d = min(d, pollEvery)
		}
		x.w.Sleep(d)
	}
}

func (x *executor) record(f, value string, node world.NodeID, err error) {
	if x.rec == nil {
		return
	}
	e := history.Event{Type: history.Info, Process: history.Nemesis, F: f, Value: history.Str(value)}
	if node != 0 {
		e.Node = node.String()
	}
	if err != nil {
		e.Error = err.Error()
	}
	x.rec.Record(e)
}

// note records an op that could not be carried out (nothing matched its
// target, no leader) as a note, so it opens or closes no fault window.
func (x *executor) note(op Op, why string) {
	x.record(history.FaultNote, op.String(), 0, errors.New(why))
}

// alreadyDown notes, and reports, that id is down already without the
// nemesis's doing (it picks among the nodes it has not crashed): it does
// not answer, and the nemesis has not paused it. Crashing or pausing it
// would do nothing, and recording that would open a second window for one
// outage, or a pause window over a crash.
func (x *executor) alreadyDown(op Op, id world.NodeID) bool {
	if _, up := x.w.Status(id); up || slices.Contains(x.st.pausedIDs(), id) {
		return false
	}
	x.note(op, fmt.Sprintf("%s skipped: already down (it does not answer, and the nemesis has not paused it)", id))
	return true
}

// tookEffect sorts out an error of the world's crash or pause of id: nil
// if there was none, or if the node stopped answering all the same (the
// world failed partway, as when a process did not exit in time after
// SIGKILL or its wiped directory could not be removed): then the fault is
// in effect, to be undone like any other, and the error is noted. The
// error itself if the node still answers: the world refused, nothing
// happened, and the event recorded with it opens no window.
func (x *executor) tookEffect(op Op, id world.NodeID, err error) error {
	if err == nil {
		return nil
	}
	if _, up := x.w.Status(id); up {
		return err
	}
	x.record(history.FaultNote, op.String(), id, fmt.Errorf("%s: %w (it does not answer since: counted as done)", id, err))
	return nil
}

// leader returns the current leader, waiting for an election if wait is
// set: up to leaderWait, and never past the time the op must be done by
// (the next event's time); 0 if there is none.
func (x *executor) leader(wait bool) world.NodeID {
	deadline := x.w.Now() + leaderWait
	if x.bounded {
		deadline = min(deadline, x.until)
	}
	for {
		if id, ok := x.w.Leader(); ok {
			return id
		}
		now := x.w.Now()
		if !wait || now >= deadline || x.stopped() {
			return 0
		}
		x.w.Sleep(min(pollEvery, deadline-now))
	}
}

// resolve picks t's nodes from pool (sorted) with the world's PRNG.
// Explicit nodes outside the pool are skipped with a note saying why, as
// are ranked ones (resolved to the members of those ranks first)
// (poolDesc describes the pool). live says the pool is of running members,
// so leader and followers may wait for an election.
func (x *executor) resolve(op Op, t Target, pool []world.NodeID, poolDesc string, live bool) []world.NodeID {
	rng := x.w.Rand()
	n := len(x.w.Nodes())
	pick := func(k int) []world.NodeID {
		s := slices.Clone(pool)
		rng.Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] })
		return world.SortIDs(s[:max(0, min(k, len(s)))])
	}
	var out []world.NodeID
	switch t.Sel {
	case Ranked:
		// The members of those ranks now, then as explicit nodes.
		members := world.SortIDs(slices.Clone(x.w.Nodes()))
		var nodes []world.NodeID
		var beyond []string
		for _, r := range t.Ranks {
			if r > len(members) {
				beyond = append(beyond, fmt.Sprintf("@%d", r))
				continue
			}
			nodes = append(nodes, members[r-1])
		}
		if len(beyond) > 0 {
			x.note(op, fmt.Sprintf("%s skipped: the cluster has %d members", strings.Join(beyond, " "), len(members)))
		}
		if len(nodes) == 0 {
			return nil
		}
		return x.resolve(op, Nodes(nodes...), pool, poolDesc, live)
	case Explicit:
		var skipped []string
		for _, id := range t.Nodes {
			if slices.Contains(pool, id) {
				out = append(out, id)
			} else {
				skipped = append(skipped, id.String())
			}
		}
		if len(skipped) > 0 {
			x.note(op, fmt.Sprintf("%s skipped: not %s", strings.Join(skipped, " "), poolDesc))
		}
		return out
	case One:
		out = pick(1)
	case Minority:
		out = pick((n - 1) / 2)
	case Majority:
		k := n/2 + 1
		if op.Kind == Kill || op.Kind == Pause {
			// A majority taken away counts the members already down: it
			// leaves one member running, so that the cluster is not
			// held down whole (only a power failure does that, briefly).
			if running := len(without(x.upMembers(), x.st.pausedIDs())); running < n && k >= running {
				k = running - 1
				x.note(op, fmt.Sprintf("%d of %d members already down: %d taken, one left running", n-running, n, max(0, k)))
				if k <= 0 {
					return nil
				}
			}
		}
		out = pick(k)
	case All:
		out = slices.Clone(pool)
	case Random:
		if len(pool) > 0 {
			out = pick(1 + rng.IntN(len(pool)))
		}
	case Leader:
		if l := x.leader(live); l != 0 && slices.Contains(pool, l) {
			out = []world.NodeID{l}
		}
	case Followers:
		l := x.leader(live)
		for _, id := range pool {
			if id != l {
				out = append(out, id)
			}
		}
	case Behind:
		out = x.behind(pool, max(1, (n-1)/2))
	}
	if len(out) == 0 {
		x.note(op, fmt.Sprintf("no node matches %s (among nodes %s)", t, poolDesc))
	}
	return out
}

// behind returns the k nodes of pool furthest behind: the lowest commit
// index first, the nodes that do not answer before all, ties by ID.
func (x *executor) behind(pool []world.NodeID, k int) []world.NodeID {
	type pos struct {
		id     world.NodeID
		known  bool
		commit uint64
	}
	ps := make([]pos, len(pool))
	for i, id := range pool {
		st, ok := x.w.Status(id)
		ps[i] = pos{id, ok, st.Commit}
	}
	slices.SortFunc(ps, func(a, b pos) int {
		switch {
		case a.known != b.known:
			if !a.known {
				return -1
			}
			return 1
		case a.commit != b.commit:
			if a.commit < b.commit {
				return -1
			}
			return 1
		}
		return cmpID(a.id, b.id)
	})
	var out []world.NodeID
	for _, p := range ps[:min(k, len(ps))] {
		out = append(out, p.id)
	}
	return world.SortIDs(out)
}

func without(ids, except []world.NodeID) []world.NodeID {
	var out []world.NodeID
	for _, id := range ids {
		if !slices.Contains(except, id) {
			out = append(out, id)
		}
	}
	return out
}

// Pools.
const (
	poolMembers = "members of the cluster"
	poolUp      = "members the nemesis has not crashed"
	poolRunning = "running, unpaused members"
	poolCrashed = "crashed by the nemesis"
	poolPaused  = "paused by the nemesis"
	poolClocks  = "with a clock changed by the nemesis"
	poolStalled = "with a disk stalled by the nemesis"
	poolFluent  = "members the nemesis has not crashed, with a disk not stalled"
	poolLearner = "learners"
)

func (x *executor) upMembers() []world.NodeID {
	return without(x.w.Nodes(), x.st.crashedIDs())
}

var crashFate = map[Kind]world.DiskFate{Kill: world.KeepWritten, LoseUnsynced: world.LoseUnsynced, TornWrite: world.TornWrite, Wipe: world.Wipe}
var crashAction = map[Kind]string{Kill: history.FaultKill, LoseUnsynced: history.FaultLoseUnsynced, TornWrite: history.FaultTornWrite, Wipe: history.FaultWipe}

// apply carries out op.
func (x *executor) apply(op Op) {
	w, st := x.w, x.st
	switch op.Kind {
	case Partition:
		x.partition(op)
	case Heal:
		x.heal("heal")
	case Packet:
		x.packet(op)
	case Kill, LoseUnsynced, TornWrite, Wipe:
		fate, action := crashFate[op.Kind], crashAction[op.Kind]
		for _, id := range x.resolve(op, op.Target, x.upMembers(), poolUp, true) {
			if op.Kind == Wipe {
				if why := x.unsafeToWipe(id); why != "" {
					x.note(op, id.String()+" kept: "+why)
					continue
				}
			}
			if x.alreadyDown(op, id) {
				continue
			}
			if err := x.tookEffect(op, id, w.Crash(id, fate)); err != nil {
				x.record(action, id.String(), id, err)
				continue
			}
			st.mu.Lock()
			st.crashed[id] = fate
			st.mu.Unlock()
			x.record(action, id.String(), id, nil)
		}
	case Restart:
		x.restart(x.resolve(op, op.Target, st.restartableIDs(), poolCrashed, false))
	case Pause:
		pool := without(x.upMembers(), st.pausedIDs())
		for _, id := range x.resolve(op, op.Target, pool, poolRunning, true) {
			if x.alreadyDown(op, id) {
				continue
			}
			if err := x.tookEffect(op, id, w.Pause(id)); err != nil {
				x.record(history.FaultPause, id.String(), id, err)
				continue
			}
			st.mu.Lock()
			st.paused[id] = true
			st.mu.Unlock()
			x.record(history.FaultPause, id.String(), id, nil)
		}
	case Resume:
		x.resume(x.resolve(op, op.Target, st.pausedIDs(), poolPaused, false))
	case StallDisk:
		x.stall(x.resolve(op, op.Target, without(x.upMembers(), st.stalledIDs()), poolFluent, true))
	case UnstallDisk:
		x.unstall(x.resolve(op, op.Target, st.stalledIDs(), poolStalled, false))
	case Skew:
		for _, id := range x.resolve(op, op.Target, w.Nodes(), poolMembers, true) {
			x.setClock(id, op.Rate, fmt.Sprintf("%s rate %s", id, fmtFloat(op.Rate)), nil)
		}
	case Strobe:
		for _, id := range x.resolve(op, op.Target, w.Nodes(), poolMembers, true) {
			x.strobe(id, op)
		}
	case ClockReset:
		for _, id := range x.resolve(op, op.Target, st.clockIDs(), poolClocks, false) {
			x.resetClock(id, id.String())
		}
	case AddNode, RemoveNode, Promote, Replace:
		x.inLane(op.String(), func(x *executor) { x.membership(op) }, nil)
	case SnapshotIsolate:
		x.snapshotIsolate(op)
	case HealAllKind:
		x.healAll()
	}
}

func (x *executor) partition(op Op) {
	in := shapeInput{nodes: x.w.Nodes(), rng: x.w.Rand()}
	switch op.Shape {
	case IsolateLeader, LeaderMinority, LeaderMajority:
		if in.leader = x.leader(true); in.leader == 0 {
			x.note(op, "no leader")
			return
		}
	case Isolate:
		if in.a = x.resolve(op, op.Target, in.nodes, poolMembers, true); len(in.a) == 0 {
			return
		}
	case OneWay:
		if in.a = x.resolve(op, op.Target, in.nodes, poolMembers, true); len(in.a) == 0 {
			return
		}
		if in.b = x.resolve(op, op.To, without(in.nodes, in.a), "members outside the first target", true); len(in.b) == 0 {
			return
		}
	}
	r, desc, err := buildPartition(op.Shape, in)
	if err != nil {
		x.note(op, err.Error())
		return
	}
	voters, running := x.voters()
	err = x.w.SetReach(r)
	x.st.bumpReach()
	x.record(history.FaultPartition, history.WithConnectedMajority(desc, connectedMajority(voters, running, r)), 0, err)
}

// voters returns the voters as the cluster knows them, sorted: every node
// that a running member lists as a voter (the union, so that a change
// applied by some members and not yet by others counts the larger set),
// and those of them that are running members. A learner, or a node whose
// add never took effect, is no voter. Both are empty if no member answers.
func (x *executor) voters() (voters, running []world.NodeID) {
	listed := map[world.NodeID]bool{}
	up := map[world.NodeID]bool{}
	for _, id := range x.w.Nodes() {
		st, ok := x.w.Status(id)
		if !ok {
			continue
		}
		up[id] = true
		for _, v := range st.Voters {
			listed[v] = true
		}
	}
	voters = sortedKeys(listed)
	for _, v := range voters {
		if up[v] {
			running = append(running, v)
		}
	}
	return voters, running
}

// connectedMajority returns the largest set of running voters in which
// every pair reaches each other both ways, if it is a majority of the
// voters (else nil): with PreVote and CheckQuorum, raft must then elect or
// keep a leader among them. Clusters are small: every subset is tried.
func connectedMajority(voters, running []world.NodeID, r world.Reach) []string {
	n := len(running)
	if n == 0 || n > 16 {
		return nil
	}
	best := -1
	for mask := 1; mask < 1<<n; mask++ {
		if bits.OnesCount(uint(mask)) <= len(voters)/2 || best >= 0 && bits.OnesCount(uint(mask)) <= bits.OnesCount(uint(best)) {
			continue
		}
		ok := true
		for i := 0; i < n && ok; i++ {
			for j := i + 1; j < n && ok; j++ {
				if mask&(1<<i) != 0 && mask&(1<<j) != 0 {
					ok = r.Allows(running[i], running[j]) && r.Allows(running[j], running[i])
				}
			}
		}
		if ok {
			best = mask
		}
	}
	if best < 0 {
		return nil
	}
	var out []string
	for i, id := range running {
		if best&(1<<i) != 0 {
			out = append(out, id.String())
		}
	}
	return out
}

// heal restores reachability and clears packet faults.
func (x *executor) heal(value string) {
	err := errors.Join(x.w.SetReach(world.Reach{}), x.w.SetPacket(world.Packet{}))
	x.st.bumpReach()
	x.record(history.FaultHeal, value, 0, err)
}

func (x *executor) packet(op Op) {
	spec := op.Packet
	p := world.Packet{Delay: spec.Delay, Jitter: spec.Jitter, Loss: spec.Loss, Duplicate: spec.Dup, Reorder: spec.Reorder, Only: spec.Only}
	switch {
	case len(spec.Links) > 0:
		p.Links = slices.Clone(spec.Links)
	case !spec.Of.IsZero():
		members := x.w.Nodes()
		ids := x.resolve(op, spec.Of, members, poolMembers, true)
		for _, a := range ids {
			for _, b := range members {
				if a == b {
					continue
				}
				p.Links = append(p.Links, [2]world.NodeID{a, b})
				if !slices.Contains(ids, b) {
					p.Links = append(p.Links, [2]world.NodeID{b, a})
				}
			}
		}
		if len(p.Links) == 0 {
			if len(ids) > 0 {
				x.note(op, "the target has no links to other members")
			}
			return
		}
		slices.SortFunc(p.Links, func(a, b [2]world.NodeID) int {
			if c := cmpID(a[0], b[0]); c != 0 {
				return c
			}
			return cmpID(a[1], b[1])
		})
		spec.Of, spec.Links = Target{}, p.Links
	}
	desc := strings.TrimPrefix(Op{Kind: Packet, Packet: spec}.String(), "packet ")
	x.record(history.FaultPacket, desc, 0, x.w.SetPacket(p))
}

// unsafeToRemove says why removing id would be reckless, or "": an
// operator does not shrink a cluster below three voters, nor remove a
// voter when the voters left would not have a running majority (a
// crashed or wiped one among them might never come back, and the cluster
// with it — the schedule, not the system, would have broken it). Voters
// are counted as the cluster knows them (see voters): a learner, or a node
// whose add never took effect, is none, and removing one is always safe.
func (x *executor) unsafeToRemove(id world.NodeID) string {
	voters, running := x.voters()
	switch {
	case len(voters) == 0:
		return "no member answers, so the voters are unknown"
	case !slices.Contains(voters, id):
		return ""
	}
	left, up := len(voters)-1, len(without(running, []world.NodeID{id}))
	switch {
	case len(x.st.wipedIDs()) > 0:
		// The wiped node is a voter that will not be back; its
		// replacement needs a quorum of the voters, and removing one
		// makes the removal it waits for depend on fewer nodes (if the
		// leader removed itself, the others may never learn it did).
		return fmt.Sprintf("%v still wiped and not yet replaced", x.st.wipedIDs())
	case left < 3:
		return fmt.Sprintf("only %d voters would be left", left)
	case up <= left/2:
		return fmt.Sprintf("only %d of the %d voters left are running", up, left)
	}
	return ""
}

// unsafeToWipe says why wiping id would be reckless, or "". A wiped node
// comes back only by replacement, and removing it is a change that needs
// a quorum of the voters it leaves behind: those must be a majority that
// will be back (running, paused, or crashed with their data). Without one
// the cluster is lost for good, by the schedule's doing, not the system's.
// A second wipe before the first is replaced is refused as well: a
// replacement needs that quorum to have the data, too.
func (x *executor) unsafeToWipe(id world.NodeID) string {
	if other := x.st.wipedIDs(); len(other) > 0 {
		return fmt.Sprintf("%v still wiped and not yet replaced", other)
	}
	voters, running := x.voters()
	switch {
	case len(voters) == 0:
		return "no member answers, so the voters are unknown"
	case !slices.Contains(voters, id):
		return ""
	}
	back := 0
	for _, v := range voters {
		x.st.mu.Lock()
		fate, crashed := x.st.crashed[v]
		paused := x.st.paused[v]
		x.st.mu.Unlock()
		if v != id && (slices.Contains(running, v) || paused || crashed && fate == world.KeepWritten) {
			back++
		}
	}
	if back <= len(voters)/2 {
		return fmt.Sprintf("only %d of the %d voters would be back to replace it", back, len(voters))
	}
	return ""
}
