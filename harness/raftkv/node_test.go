package raftkv

import (
	"fmt"
	"testing"

	pb "go.etcd.io/raft/v3/raftpb"
)

// cluster is a tiny synchronous driver for unit tests: it persists writes
// at once (or holds them, to test the contract), delivers messages in
// order and collects responses.
type cluster struct {
	t      *testing.T
	nodes  map[uint64]*Node
	disks  map[uint64]*Durable
	held   map[uint64]*Write // synced writes not yet acknowledged
	hold   bool              // do not complete synced writes
	inbox  []*pb.Message
	cut    map[uint64]bool // nodes whose messages (both ways) are dropped
	resps  map[RequestID]Response
	sentBy map[uint64]int // messages emitted per node
	bugs   Bugs
}

func newCluster(t *testing.T, n int, bugs Bugs) *cluster {
	c := &cluster{t: t, nodes: map[uint64]*Node{}, disks: map[uint64]*Durable{}, held: map[uint64]*Write{},
		cut: map[uint64]bool{}, resps: map[RequestID]Response{}, sentBy: map[uint64]int{}, bugs: bugs}
	var peers []uint64
	for i := 1; i <= n; i++ {
		peers = append(peers, uint64(i))
	}
	for _, id := range peers {
		nd, err := New(Config{ID: id, Bugs: bugs}, nil, peers)
		if err != nil {
			t.Fatal(err)
		}
		c.nodes[id], c.disks[id] = nd, &Durable{}
	}
	c.settle()
	return c
}

func (c *cluster) drain(id uint64) {
	n := c.nodes[id]
	for {
		out := n.Ready()
		if out.Empty() {
			return
		}
		for _, w := range out.Writes {
			if !w.Sync || !c.hold {
				c.disks[id].Apply(w)
			}
			if w.Sync {
				if c.hold {
					c.held[id] = w
				} else {
					defer func(seq uint64) { n.WriteDone(seq); c.drain(id) }(w.Seq)
				}
			}
		}
		for _, m := range out.Messages {
			c.checkDurable(id, m)
		}
		c.sentBy[id] += len(out.Messages)
		c.inbox = append(c.inbox, out.Messages...)
		for _, r := range out.Responses {
			c.resps[r.ID] = r
		}
	}
}

// checkDurable fails the test if message m is not backed by the sender's
// durable state: its term, a vote it grants, entries it acknowledges.
func (c *cluster) checkDurable(id uint64, m *pb.Message) {
	d := c.disks[id]
	hs := d.HardState
	switch m.GetType() {
	case pb.MsgPreVote, pb.MsgPreVoteResp:
		return
	case pb.MsgVoteResp:
		if !m.GetReject() && hs.GetTerm() <= m.GetTerm() && (hs.GetTerm() != m.GetTerm() || hs.GetVote() != m.GetTo()) {
			c.t.Fatalf("n%d granted its vote in term %d before persisting it (durable term %d vote %d)", id, m.GetTerm(), hs.GetTerm(), hs.GetVote())
		}
	case pb.MsgAppResp:
		if !m.GetReject() && d.LastIndex() < m.GetIndex() {
			c.t.Fatalf("n%d acknowledged index %d with a durable log ending at %d", id, m.GetIndex(), d.LastIndex())
		}
	}
	if m.GetTerm() > hs.GetTerm() {
		c.t.Fatalf("n%d sent %s in term %d with durable term %d", id, m.GetType(), m.GetTerm(), hs.GetTerm())
	}
}

// settle runs until no messages are left. In hold mode synced writes
// complete only after the messages already sent were delivered, so the
// window in which a node might send too early is as wide as it can be.
func (c *cluster) settle() {
	for i := 0; i < 10000; i++ {
		for id := uint64(1); id <= uint64(len(c.nodes)); id++ {
			c.drain(id)
		}
		if len(c.inbox) == 0 {
			if len(c.held) == 0 {
				return
			}
			for id := uint64(1); id <= uint64(len(c.nodes)); id++ {
				if w := c.held[id]; w != nil {
					delete(c.held, id)
					c.disks[id].Apply(w) // durable now
					c.nodes[id].WriteDone(w.Seq)
				}
			}
			continue
		}
		msgs := c.inbox
		c.inbox = nil
		for _, m := range msgs {
			if c.cut[m.GetFrom()] || c.cut[m.GetTo()] {
				continue
			}
			c.nodes[m.GetTo()].Step(m)
		}
	}
	c.t.Fatal("cluster did not settle")
}

func (c *cluster) tick(n int) {
	for i := 0; i < n; i++ {
		for id := uint64(1); id <= uint64(len(c.nodes)); id++ {
			c.nodes[id].Tick()
		}
		c.settle()
	}
}

func (c *cluster) leader() uint64 {
	for id, n := range c.nodes {
		if st := n.Status(); st.State.String() == "StateLeader" && !c.cut[id] {
			return id
		}
	}
	return 0
}

func (c *cluster) elect(id uint64) {
	if err := c.nodes[id].Campaign(); err != nil {
		c.t.Fatal(err)
	}
	c.settle()
	if c.leader() != id {
		c.t.Fatalf("n%d did not become leader", id)
	}
}

var seq uint64

func req(op Op, key, value string, exp *string) Request {
	seq++
	return Request{ID: RequestID{Client: 1, Seq: seq}, Op: op, Key: key, Value: value, Expected: exp}
}

// TestPersistBeforeSend is the Ready contract: a node sends nothing while
// a synced write (its term and vote, its entries) is not yet durable. The
// cluster driver fails the test if a node emits messages while holding
// such a write; here writes are held as long as possible through an
// election and a replicated write.
func TestPersistBeforeSend(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.hold = true
	c.nodes[1].Campaign()
	c.settle()
	if c.leader() != 1 {
		t.Fatal("n1 did not win the election")
	}
	r := req(OpPut, "k", "v", nil)
	c.nodes[1].Request(r)
	c.settle()
	if c.resps[r.ID].Outcome != OK {
		t.Fatalf("write: %+v", c.resps[r.ID])
	}
	if c.sentBy[1] == 0 {
		t.Fatal("n1 sent nothing at all")
	}
}

func TestWriteAckedOnlyAfterApply(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.elect(1)
	// Cut both followers: the write cannot commit.
	c.cut[2], c.cut[3] = true, true
	r := req(OpPut, "k", "v", nil)
	c.nodes[1].Request(r)
	c.settle()
	if _, ok := c.resps[r.ID]; ok {
		t.Fatalf("write answered %v before it could commit", c.resps[r.ID])
	}
	c.cut[2], c.cut[3] = false, false
	c.tick(3)
	if got := c.resps[r.ID]; got.Outcome != OK {
		t.Fatalf("write after heal: %+v, want ok", got)
	}
}

func TestAckOnProposeCanary(t *testing.T) {
	c := newCluster(t, 3, Bugs{BugAckOnPropose: true})
	c.elect(1)
	c.cut[2], c.cut[3] = true, true
	r := req(OpPut, "k", "v", nil)
	c.nodes[1].Request(r)
	c.settle()
	if got := c.resps[r.ID]; got.Outcome != OK {
		t.Fatalf("ack-on-propose: %+v, want an immediate ok", got)
	}
}

func TestReadNeedsQuorum(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.elect(1)
	w := req(OpPut, "k", "v1", nil)
	c.nodes[1].Request(w)
	c.settle()
	c.cut[1] = true // the leader is deposed without knowing it
	r := req(OpGet, "k", "", nil)
	c.nodes[1].Request(r)
	c.settle()
	if got, ok := c.resps[r.ID]; ok && got.Outcome == OK {
		t.Fatalf("an isolated leader answered a read: %+v", got)
	}
	c.cut[1] = false
	c.tick(2)
	got := c.resps[r.ID]
	if got.Outcome != OK || got.Value == nil || *got.Value != "v1" {
		t.Fatalf("read after heal: %+v", got)
	}
}

func TestLocalReadsCanaryAnswersAtOnce(t *testing.T) {
	c := newCluster(t, 3, Bugs{BugLocalReads: true})
	c.elect(1)
	c.cut[1] = true
	r := req(OpGet, "k", "", nil)
	c.nodes[1].Request(r)
	c.settle()
	if got := c.resps[r.ID]; got.Outcome != OK {
		t.Fatalf("local-reads: %+v, want ok from local state", got)
	}
}

func TestProposalWithoutLeaderFails(t *testing.T) {
	c := newCluster(t, 3, nil) // nobody has campaigned: no leader
	r := req(OpPut, "k", "v", nil)
	c.nodes[2].Request(r)
	c.settle()
	if got := c.resps[r.ID]; got.Outcome != Fail {
		t.Fatalf("proposal without a leader: %+v, want fail (never proposed)", got)
	}
}

func TestTimeoutIsUnknownNotFail(t *testing.T) {
	for _, bug := range []bool{false, true} {
		var bugs Bugs
		if bug {
			bugs = Bugs{BugDefiniteOnUnknown: true}
		}
		c := newCluster(t, 3, bugs)
		c.elect(1)
		c.cut[2], c.cut[3] = true, true
		r := req(OpPut, "k", "v", nil)
		c.nodes[1].Request(r)
		c.tick(c.nodes[1].cfg.RequestTimeoutTicks + 4) // expiry is checked every 4 ticks
		want := Unknown
		if bug {
			want = Fail
		}
		if got := c.resps[r.ID]; got.Outcome != want {
			t.Fatalf("definite-on-unknown=%v: timed-out write %+v, want %s", bug, got, want)
		}
	}
}

func TestCASMismatchFails(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.elect(1)
	put := req(OpPut, "k", "1", nil)
	c.nodes[1].Request(put)
	c.settle()
	two := "2"
	bad := req(OpCAS, "k", "3", &two)
	c.nodes[1].Request(bad)
	one := "1"
	good := req(OpCAS, "k", "4", &one)
	c.nodes[1].Request(good)
	c.settle()
	if c.resps[bad.ID].Outcome != Fail || c.resps[good.ID].Outcome != OK {
		t.Fatalf("cas: mismatch %+v, match %+v", c.resps[bad.ID], c.resps[good.ID])
	}
}

// TestRestartRebuildsFromDurableState: a node restarted from its disk
// alone reaches the same state machine.
func TestRestartRebuildsFromDurableState(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.elect(1)
	for i := 0; i < 30; i++ {
		c.nodes[1].Request(req(OpPut, fmt.Sprint("k", i%4), fmt.Sprint(i), nil))
		c.settle()
	}
	c.tick(2)
	want := c.nodes[2].KV().Hash()
	nd, err := New(Config{ID: 2}, c.disks[2].Clone(), nil)
	if err != nil {
		t.Fatal(err)
	}
	c.nodes[2] = nd
	c.tick(3)
	if got := c.nodes[2].KV().Hash(); got != want {
		t.Fatalf("restarted n2 state hash %x, want %x", got, want)
	}
}

func TestDataLostRefusesRestart(t *testing.T) {
	if _, err := New(Config{ID: 2}, &Durable{}, nil); err != ErrDataLost {
		t.Fatalf("empty disk, no peers, not joining: %v, want ErrDataLost", err)
	}
	if _, err := New(Config{ID: 2, Join: true}, &Durable{}, nil); err != nil {
		t.Fatalf("joining node: %v", err)
	}
	if _, err := New(Config{ID: 2, Bugs: Bugs{BugAmnesiaRejoin: true}}, &Durable{}, nil); err != nil {
		t.Fatalf("amnesia-rejoin canary should start: %v", err)
	}
}
