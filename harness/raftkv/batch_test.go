package raftkv

import (
	"fmt"
	"testing"

	pb "go.etcd.io/raft/v3/raftpb"
)

// readyOnce runs one Ready of node id with writes made durable at once,
// and returns the messages it sends (delivering nothing).
func (c *cluster) readyOnce(id uint64) []*pb.Message {
	var sent []*pb.Message
	n := c.nodes[id]
	for {
		out := n.Ready()
		if out.Empty() {
			return sent
		}
		for _, w := range out.Writes {
			c.disks[id].Apply(w)
			if w.Sync {
				n.WriteDone(w.Seq)
			}
		}
		sent = append(sent, out.Messages...)
		for _, r := range out.Responses {
			c.resps[r.ID] = r
		}
	}
}

func count(ms []*pb.Message, typ pb.MessageType, to uint64) (msgs, entries int) {
	for _, m := range ms {
		if m.GetType() == typ && (to == 0 || m.GetTo() == to) {
			msgs++
			entries += len(m.GetEntries())
		}
	}
	return msgs, entries
}

// TestProposalsShareOneAppend: writes that arrive before the next Ready
// reach each follower in one append, and all commit.
func TestProposalsShareOneAppend(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.elect(1)
	var rs []Request
	for i := 0; i < 5; i++ {
		r := req(OpPut, fmt.Sprint("k", i), "v", nil)
		rs = append(rs, r)
		c.nodes[1].Request(r)
	}
	sent := c.readyOnce(1)
	for _, f := range []uint64{2, 3} {
		if msgs, entries := count(sent, pb.MsgApp, f); msgs != 1 || entries != 5 {
			t.Fatalf("to n%d: %d appends carrying %d entries, want 1 carrying 5", f, msgs, entries)
		}
	}
	c.inbox = append(c.inbox, sent...)
	c.settle()
	for _, r := range rs {
		if got := c.resps[r.ID]; got.Outcome != OK {
			t.Fatalf("write %v: %+v", r.ID, got)
		}
	}
}

// TestForwardedProposalsShareOneAppend: a follower forwards its clients'
// writes in one MsgProp, and the leader folds the MsgProps of its
// followers and its own writes into one append per follower.
func TestForwardedProposalsShareOneAppend(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.elect(1)
	var rs []Request
	var props []*pb.Message
	for _, id := range []uint64{2, 3} {
		for i := 0; i < 3; i++ {
			r := req(OpPut, fmt.Sprint("k", id, i), "v", nil)
			r.ID.Client = 100 + uint64(len(rs)) // concurrent requests come from different clients
			rs = append(rs, r)
			c.nodes[id].Request(r)
		}
		sent := c.readyOnce(id)
		if msgs, entries := count(sent, pb.MsgProp, 1); msgs != 1 || entries != 3 {
			t.Fatalf("n%d forwarded %d MsgProps carrying %d entries, want 1 carrying 3", id, msgs, entries)
		}
		props = append(props, sent...)
	}
	own := req(OpPut, "k1", "v", nil)
	own.ID.Client = 100 + uint64(len(rs))
	rs = append(rs, own)
	c.nodes[1].Request(own)
	for _, m := range props {
		c.nodes[1].Step(m)
	}
	sent := c.readyOnce(1)
	for _, f := range []uint64{2, 3} {
		if msgs, entries := count(sent, pb.MsgApp, f); msgs != 1 || entries != 7 {
			t.Fatalf("to n%d: %d appends carrying %d entries, want 1 carrying 7", f, msgs, entries)
		}
	}
	c.inbox = append(c.inbox, sent...)
	c.settle()
	for _, r := range rs {
		if got := c.resps[r.ID]; got.Outcome != OK {
			t.Fatalf("write %v: %+v", r.ID, got)
		}
	}
}

// TestReadsShareOneReadIndex: reads that arrive before the next Ready are
// confirmed by one heartbeat round (at the leader) or one MsgReadIndex (at
// a follower), and each gets its key's value.
func TestReadsShareOneReadIndex(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.elect(1)
	for i := 0; i < 4; i++ {
		c.nodes[1].Request(req(OpPut, fmt.Sprint("k", i), fmt.Sprint("v", i), nil))
	}
	c.settle()
	for _, id := range []uint64{1, 2} {
		var rs []Request
		for i := 0; i < 4; i++ {
			r := req(OpGet, fmt.Sprint("k", i), "", nil)
			rs = append(rs, r)
			c.nodes[id].Request(r)
		}
		sent := c.readyOnce(id)
		if id == 1 {
			for _, f := range []uint64{2, 3} {
				if msgs, _ := count(sent, pb.MsgHeartbeat, f); msgs != 1 {
					t.Fatalf("leader sent %d heartbeats to n%d for 4 reads, want 1", msgs, f)
				}
			}
		} else if msgs, _ := count(sent, pb.MsgReadIndex, 1); msgs != 1 {
			t.Fatalf("n%d sent %d read index requests for 4 reads, want 1", id, msgs)
		}
		c.inbox = append(c.inbox, sent...)
		c.settle()
		for i, r := range rs {
			if got := c.resps[r.ID]; got.Outcome != OK || got.Value == nil || *got.Value != fmt.Sprint("v", i) {
				t.Fatalf("n%d read k%d: %+v", id, i, got)
			}
		}
		if len(c.nodes[id].batch.readSets) != 0 {
			t.Fatalf("n%d keeps %d read batches after answering them", id, len(c.nodes[id].batch.readSets))
		}
	}
}

// TestBatchedReadsFailTogether: a batch of reads whose leader is lost
// before it confirms them fails as a whole, and nothing of it is kept.
func TestBatchedReadsFailTogether(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.elect(1)
	var rs []Request
	for i := 0; i < 3; i++ {
		r := req(OpGet, "k", "", nil)
		rs = append(rs, r)
		c.nodes[2].Request(r)
	}
	c.readyOnce(2) // the MsgReadIndex is lost
	c.cut[1] = true
	for c.leader() == 0 || c.leader() == 1 {
		c.tick(1) // n2 or n3 takes over
	}
	c.cut[1] = false
	for _, r := range rs {
		if got := c.resps[r.ID]; got.Outcome != Fail {
			t.Fatalf("read %v after its leader was lost: %+v, want fail", r.ID, got)
		}
	}
	if n := len(c.nodes[2].batch.readSets); n != 0 {
		t.Fatalf("%d read batches kept after their reads failed", n)
	}

	// Timed out (the request was lost, the leader stays): the reads fail
	// and their batch is forgotten too.
	c = newCluster(t, 3, nil)
	c.elect(1)
	f := uint64(2)
	rs = nil
	for i := 0; i < 3; i++ {
		r := req(OpGet, "k", "", nil)
		rs = append(rs, r)
		c.nodes[f].Request(r)
	}
	c.readyOnce(f) // the MsgReadIndex is lost
	if len(c.nodes[f].batch.readSets) != 1 {
		t.Fatal("no read batch")
	}
	c.tick(c.nodes[f].cfg.RequestTimeoutTicks + 4)
	for _, r := range rs {
		if got := c.resps[r.ID]; got.Outcome != Fail || got.Err != "read timed out (no effect)" {
			t.Fatalf("read %v: %+v, want a timeout", r.ID, got)
		}
	}
	if n, p := len(c.nodes[f].batch.readSets), c.nodes[f].Pending(); n != 0 || p != 0 {
		t.Fatalf("after the timeout: %d read batches, %d requests pending", n, p)
	}
}

// TestBatchedProposalsDroppedTogether: writes batched at a node that knows
// no leader are all dropped, and each gets a definite fail.
func TestBatchedProposalsDroppedTogether(t *testing.T) {
	c := newCluster(t, 3, nil) // nobody has campaigned
	var rs []Request
	for i := 0; i < 3; i++ {
		r := req(OpPut, "k", fmt.Sprint(i), nil)
		rs = append(rs, r)
		c.nodes[2].Request(r)
	}
	c.settle()
	for _, r := range rs {
		if got := c.resps[r.ID]; got.Outcome != Fail {
			t.Fatalf("write %v without a leader: %+v, want fail", r.ID, got)
		}
	}
	if p := c.nodes[2].Pending(); p != 0 {
		t.Fatalf("%d requests still pending", p)
	}
}

// TestDuplicateInOneBatch: a request ID sent twice before the next Ready
// is refused the second time, and the first is carried out once.
func TestDuplicateInOneBatch(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.elect(1)
	r := req(OpPut, "k", "v", nil)
	c.nodes[1].Request(r)
	var got []Response
	c.nodes[1].Request(r)
	for {
		out := c.nodes[1].Ready()
		got = append(got, out.Responses...)
		if out.Empty() {
			break
		}
		for _, w := range out.Writes {
			c.disks[1].Apply(w)
			if w.Sync {
				c.nodes[1].WriteDone(w.Seq)
			}
		}
		c.inbox = append(c.inbox, out.Messages...)
	}
	if len(got) != 1 || got[0].Outcome != Fail {
		t.Fatalf("responses before replication: %+v, want one fail (the duplicate)", got)
	}
	c.settle()
	if c.resps[r.ID].Outcome != OK {
		t.Fatalf("the write: %+v", c.resps[r.ID])
	}
	if n := c.nodes[1].KV().Len(); n != 1 {
		t.Fatalf("%d keys", n)
	}
}

// TestLeaderMergesFollowersReads: the leader confirms its own reads and
// those its followers forwarded in one heartbeat round, and answers each
// follower; every read gets its key's value.
func TestLeaderMergesFollowersReads(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.elect(1)
	for i := 0; i < 3; i++ {
		c.nodes[1].Request(req(OpPut, fmt.Sprint("k", i), fmt.Sprint("v", i), nil))
	}
	c.settle()
	var rs []Request
	var asks []*pb.Message
	for _, id := range []uint64{2, 3, 1} {
		for i := 0; i < 3; i++ {
			r := req(OpGet, fmt.Sprint("k", i), "", nil)
			rs = append(rs, r)
			c.nodes[id].Request(r)
		}
		if id != 1 {
			asks = append(asks, c.readyOnce(id)...)
		}
	}
	if msgs, _ := count(asks, pb.MsgReadIndex, 1); msgs != 2 {
		t.Fatalf("followers sent %d read index requests, want 2", msgs)
	}
	for _, m := range asks {
		c.nodes[1].Step(m)
	}
	sent := c.readyOnce(1)
	for _, f := range []uint64{2, 3} {
		if msgs, _ := count(sent, pb.MsgHeartbeat, f); msgs != 1 {
			t.Fatalf("leader sent %d heartbeats to n%d for its own and 2 followers' reads, want 1", msgs, f)
		}
	}
	c.inbox = append(c.inbox, sent...)
	c.settle()
	for i, r := range rs {
		if got := c.resps[r.ID]; got.Outcome != OK || got.Value == nil || *got.Value != fmt.Sprint("v", i%3) {
			t.Fatalf("read %d (%v): %+v", i, r.ID, got)
		}
	}
	for id, n := range c.nodes {
		if len(n.batch.readSets) != 0 || len(n.batch.readResps) != 0 {
			t.Fatalf("n%d keeps %d read batches, %d answers", id, len(n.batch.readSets), len(n.batch.readResps))
		}
	}
}

// TestReadIndexRequestsToAFollower: read index requests that reach a node
// that no longer leads are forwarded, each as it came, and still answered.
func TestReadIndexRequestsToAFollower(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.elect(1)
	c.nodes[1].Request(req(OpPut, "k", "v", nil))
	c.settle()
	var rs []Request
	for i := 0; i < 2; i++ {
		r := req(OpGet, "k", "", nil)
		rs = append(rs, r)
		// As if n3 still believed n2 led: its request reaches n2.
		c.nodes[2].Step(&pb.Message{Type: pb.MsgReadIndex.Enum(), From: new(uint64(3)), To: new(uint64(2)),
			Entries: []*pb.Entry{{Data: idBytes(r.ID)}}})
		c.nodes[3].reads[r.ID] = &pendingRead{req: r}
	}
	sent := c.readyOnce(2)
	if msgs, _ := count(sent, pb.MsgReadIndex, 1); msgs != 2 {
		t.Fatalf("n2 forwarded %d read index requests to the leader, want 2", msgs)
	}
	c.inbox = append(c.inbox, sent...)
	c.settle()
	for _, r := range rs {
		if got := c.resps[r.ID]; got.Outcome != OK || got.Value == nil || *got.Value != "v" {
			t.Fatalf("read %v: %+v", r.ID, got)
		}
	}
}
