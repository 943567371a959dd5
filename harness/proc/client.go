package proc

import (
	"context"
	"errors"
	"time"

	"github.com/splitbrain/splitbrain/harness/proc/node"
	"github.com/splitbrain/splitbrain/harness/world"
)

// procClient is a client session: its requests carry the session number
// and a growing sequence number, so a node applies each write once.
type procClient struct {
	w       *World
	session uint64
	seq     uint64
}

// Client implements world.World.
func (w *World) Client() world.Client {
	return &procClient{w: w, session: w.session.Add(1)}
}

var opNames = map[world.OpKind]string{world.Get: "get", world.Put: "put", world.CAS: "cas", world.Delete: "delete"}

// Do implements world.Client over the KV protocol. A refused connection
// is Fail (the request was never sent); a timeout or a connection lost
// after sending is Unknown for a write and Fail for a read.
func (c *procClient) Do(id world.NodeID, op world.Op, timeout time.Duration) world.Result {
	c.seq++
	read := op.Kind == world.Get
	lost := world.Unknown
	if read {
		lost = world.Fail
	}
	n := c.w.lookup(id)
	name, known := opNames[op.Kind]
	if n == nil || !known {
		return world.Result{Outcome: world.Fail, Err: "no such node or operation"}
	}
	if c.w.down(n) {
		// The world killed it (or it died) before this call: nothing can
		// reach it, so the request is certainly not carried out. Sending
		// it anyway could land on a dead keep-alive connection and read as
		// "sent, then lost" (unknown).
		return world.Result{Outcome: world.Fail, Err: "connection refused: node is down", Refused: true}
	}
	req := node.KVRequest{Key: op.Key, Client: c.session, Seq: c.seq}
	switch op.Kind {
	case world.Put:
		req.Value = &op.Value
	case world.CAS:
		req.Value, req.Expected = &op.Value, op.Expected
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	resp, err := c.w.kv.KV(ctx, n.apiAddr, name, req)
	if err != nil {
		var ce *node.CallError
		if errors.As(err, &ce) && !ce.Sent {
			return world.Result{Outcome: world.Fail, Err: "connection refused", Refused: true}
		}
		if ctx.Err() != nil {
			return world.Result{Outcome: lost, Err: "timeout"}
		}
		return world.Result{Outcome: lost, Err: err.Error()}
	}
	res := world.Result{Value: resp.Value, Err: resp.Error}
	switch resp.Outcome {
	case node.OutcomeOK:
		res.Outcome = world.OK
	case node.OutcomeFail:
		res.Outcome = world.Fail
	default:
		res.Outcome = lost
	}
	if !read {
		res.Value = nil
	}
	return res
}
