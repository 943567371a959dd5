package workloads

import (
	"slices"
	"time"

	"github.com/splitbrain/splitbrain/harness/history"
	"github.com/splitbrain/splitbrain/harness/world"
)

// Backoff of a client whose node refuses connections (the node is down):
// the first retry waits BackoffMin, each later one twice as long, up to
// BackoffMax, each with jitter (half to all of it, drawn from the world's
// PRNG). Any request the node takes ends the backoff. BackoffMax bounds how
// long after a node comes back its clients find it again.
const (
	BackoffMin = 100 * time.Millisecond
	BackoffMax = time.Second
)

// Recheck is how often a worker looks at the members again while some of
// them do not serve (see node).
const Recheck = time.Second

// backoff is how long to wait after the n-th refusal in a row (n ≥ 1),
// before jitter.
func backoff(n int) time.Duration {
	d := BackoffMin
	for i := 1; i < n && d < BackoffMax; i++ {
		d *= 2
	}
	return min(d, BackoffMax)
}

// node returns worker i's node. A worker starts on node i mod the
// members, and stays there — through crashes, pauses and partitions, as
// Jepsen's and etcd's clients stay on the member they were opened on —
// until the membership changes. Then (moved is set):
//
//   - a worker whose node left the cluster moves to a member that serves:
//     one that answers and counts itself in the cluster (a node whose
//     addition is still under way does not), any member if none does;
//   - a worker whose node has at least two workers more than a serving
//     member (one that joined, say) moves there, so that no member is left
//     without clients — a node nobody talks to is a node whose stale reads
//     nobody sees.
//
// Either way it goes to a serving member with the fewest workers, ties
// drawn from the world's PRNG. Workers look again only when the
// membership changes — and, while some member does not serve yet (a node
// still joining, one that is down), once a second (Recheck), so that a
// node that joined is found once it serves. ok is false when the cluster
// has no members.
func (r *Register) node(i int) (id world.NodeID, moved, ok bool) {
	nodes := r.w.Nodes()
	if len(nodes) == 0 {
		return 0, false, false
	}
	r.mu.Lock()
	cur := r.pins[i]
	if cur == 0 {
		cur = nodes[i%len(nodes)]
		r.pins[i] = cur
		r.seen[i] = nodes
	}
	now := r.w.Now()
	changed := !slices.Equal(r.seen[i], nodes) || r.recheck[i] > 0 && now >= r.recheck[i]
	r.seen[i], r.recheck[i] = nodes, 0
	r.mu.Unlock()
	member := slices.Contains(nodes, cur)
	if member && !changed {
		return cur, false, true
	}
	// Ask outside the lock: in the process world a status is a request.
	var serving []world.NodeID
	for _, n := range nodes {
		if st, ok := r.w.Status(n); ok && (st.Learner || slices.Contains(st.Voters, n)) {
			serving = append(serving, n)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(serving) < len(nodes) {
		r.recheck[i] = now + Recheck
	}
	if len(serving) == 0 {
		if member {
			return cur, false, true
		}
		serving = nodes
	}
	load := map[world.NodeID]int{}
	for j, p := range r.pins {
		if j != i {
			load[p]++
		}
	}
	var least []world.NodeID
	for _, n := range serving { // sorted
		switch {
		case len(least) == 0 || load[n] < load[least[0]]:
			least = []world.NodeID{n}
		case load[n] == load[least[0]]:
			least = append(least, n)
		}
	}
	if member && load[cur] <= load[least[0]] {
		return cur, false, true // moving would not even the loads
	}
	pick := least[0]
	if len(least) > 1 {
		pick = least[r.w.Rand().IntN(len(least))]
	}
	r.pins[i] = pick
	return pick, true, true
}

// worker is client worker i: it paces itself to its share of the rate,
// issues one operation at a time on its node and records each invocation
// and completion.
func (r *Register) worker(i int, stop func() bool) {
	w := r.w
	proc := history.Process(i)
	client := w.Client()
	next := w.Now()
	refusals := 0 // requests refused in a row: the node is down
	for !stop() {
		interval := r.interval()
		// Jitter the pace (±50%) so workers do not march in step.
		next += interval/2 + time.Duration(w.Rand().Int64N(int64(interval)+1))
		if d := next - w.Now(); d > 0 {
			w.Sleep(d)
		} else {
			next = w.Now() // behind schedule: do not burst to catch up
		}
		if stop() {
			return
		}
		node, moved, ok := r.node(i)
		if !ok {
			return
		}
		if moved {
			// Reopen the client on the new node, as Jepsen does; the
			// history shows the move in the events' node.
			client, refusals = w.Client(), 0
		}
		inv, op := r.pick()
		inv.Type, inv.Process, inv.Node = history.Invoke, proc, node.String()
		r.rec.Record(inv)
		res := client.Do(node, op, r.opts.Timeout)
		done := inv
		done.Error = res.Err
		switch res.Outcome {
		case world.OK:
			done.Type = history.OK
			if op.Kind == world.Get {
				done.Value = res.Value
			}
		case world.Fail:
			done.Type = history.Fail
		default:
			done.Type = history.Info
		}
		r.rec.Record(done)
		if done.Type == history.Info {
			// The operation may still take effect at any time: this
			// process can never invoke again. Carry on as a new one.
			proc = r.freshProcess()
			client = w.Client()
		}
		if !res.Refused {
			refusals = 0
			continue
		}
		// The node is down: wait before trying it again rather than
		// spend operations that can only fail.
		refusals++
		d := backoff(refusals)
		w.Sleep(d/2 + time.Duration(w.Rand().Int64N(int64(d/2)+1)))
		next = w.Now()
	}
}
