package sim

import (
	"time"

	"github.com/splitbrain/splitbrain/harness/raftnode"
	"github.com/splitbrain/splitbrain/harness/world"
)

// call is a request in flight from a task to a node.
type call struct {
	t    *task
	node world.NodeID
	read bool
	done bool
	res  world.Result
}

// complete ends the call (first outcome wins) and wakes its task.
func (w *World) complete(c *call, res world.Result) {
	if c.done {
		return
	}
	c.done, c.res = true, res
	w.tracef("client %s -> %s: %s %v %s", c.node, c.t.name, res.Outcome, derefOr(res.Value, "nil"), res.Err)
	w.loop.after(0, func() { w.loop.resume(c.t) })
}

// failCalls ends every call in flight to node id: its connection broke.
func (w *World) failCalls(id world.NodeID, why string) {
	for _, rid := range sortedCallIDs(w.calls) {
		c := w.calls[rid]
		if c.node != id {
			continue
		}
		delete(w.calls, rid)
		out := world.Unknown
		if c.read {
			out = world.Fail
		}
		w.loop.after(w.cfg.ClientLatency.sample(w.loop.rng), func() { w.complete(c, world.Result{Outcome: out, Err: why}) })
	}
}

func sortedCallIDs(m map[raftnode.RequestID]*call) []raftnode.RequestID {
	ids := make([]raftnode.RequestID, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sortRequestIDs(ids)
	return ids
}

func sortRequestIDs(ids []raftnode.RequestID) {
	for i := 1; i < len(ids); i++ {
		for j := i; j > 0 && (ids[j].Client < ids[j-1].Client || ids[j].Client == ids[j-1].Client && ids[j].Seq < ids[j-1].Seq); j-- {
			ids[j], ids[j-1] = ids[j-1], ids[j]
		}
	}
}

// respond routes a node's response back to the waiting call.
func (w *World) respond(from *simNode, r raftnode.Response) {
	c := w.calls[r.ID]
	if c == nil || c.node != from.id {
		return // the caller gave up already
	}
	delete(w.calls, r.ID)
	res := world.Result{Value: r.Value, Err: r.Err}
	switch r.Outcome {
	case raftnode.OK:
		res.Outcome = world.OK
	case raftnode.Fail:
		res.Outcome = world.Fail
	default:
		res.Outcome = world.Unknown
	}
	w.loop.after(w.cfg.ClientLatency.sample(w.loop.rng), func() { w.complete(c, res) })
}

// simClient is a client session: requests carry its session number and a
// growing sequence number.
type simClient struct {
	w       *World
	session uint64
	seq     uint64
}

// Client implements world.World.
func (w *World) Client() world.Client {
	w.nextSession++
	return &simClient{w: w, session: w.nextSession}
}

var kinds = map[world.OpKind]raftnode.Op{world.Get: raftnode.OpGet, world.Put: raftnode.OpPut, world.CAS: raftnode.OpCAS, world.Delete: raftnode.OpDelete}

// Do implements world.Client.
func (c *simClient) Do(node world.NodeID, op world.Op, timeout time.Duration) world.Result {
	w := c.w
	c.seq++
	req := raftnode.Request{ID: raftnode.RequestID{Client: c.session, Seq: c.seq}, Op: kinds[op.Kind], Key: op.Key, Value: op.Value, Expected: op.Expected}
	return w.call(node, req.ID, op.Kind == world.Get, timeout, func(sn *simNode) { sn.call(func(n raftnode.Node) { n.Request(req) }) })
}

// call sends a request to node over the client network and blocks the
// calling task until the answer, a broken connection or the timeout.
func (w *World) call(node world.NodeID, id raftnode.RequestID, read bool, timeout time.Duration, submit func(*simNode)) world.Result {
	cl := &call{t: w.loop.current, node: node, read: read}
	sn := w.nodes[node]
	lat := w.cfg.ClientLatency.sample(w.loop.rng)
	if sn == nil || !sn.member || !sn.up() {
		// Connection refused: the request was never sent.
		w.loop.after(2*lat, func() { w.complete(cl, world.Result{Outcome: world.Fail, Err: "connection refused", Refused: true}) })
		w.loop.block()
		return cl.res
	}
	w.calls[id] = cl
	inc := sn.incarnation
	w.loop.after(lat, func() {
		if sn.incarnation != inc || !sn.up() {
			return // crashed meanwhile: failCalls already answered
		}
		sn.deliver(func() { submit(sn) })
	})
	w.loop.after(timeout, func() {
		if cl.done {
			return
		}
		delete(w.calls, id)
		out := world.Unknown
		if read {
			out = world.Fail
		}
		w.complete(cl, world.Result{Outcome: out, Err: "timeout"})
	})
	w.loop.block()
	return cl.res
}

func derefOr(s *string, def string) string {
	if s == nil {
		return def
	}
	return *s
}
