package sim

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/splitbrain/splitbrain/harness/world"
	pb "go.etcd.io/raft/v3/raftpb"
)

// TestClassFaultSplitsTheLink: a link is one FIFO stream, so a heartbeat
// sent after a slow append arrives after it; while a fault confined to
// the entries is on the link, the two kinds travel apart and the
// heartbeat overtakes; once it ends, one stream again.
func TestClassFaultSplitsTheLink(t *testing.T) {
	l := link{1, 2}
	msg := func(typ pb.MessageType, n int) *pb.Message {
		return &pb.Message{Type: typ.Enum(), Entries: entries(1, uint64(n), 1)}
	}
	app := world.ClassOf(msg(pb.MessageType_MsgApp, 1))
	hb := world.ClassOf(msg(pb.MessageType_MsgHeartbeat, 0))
	if app != world.Entries || hb != world.AllMessages || world.ClassOf(msg(pb.MessageType_MsgApp, 0)) != world.AllMessages ||
		world.ClassOf(msg(pb.MessageType_MsgSnap, 0)) != world.Entries {
		t.Fatal("ClassOf: an append with entries and a snapshot are Entries; a heartbeat and an empty append are not")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	at := func(n *network, now time.Duration, c world.Class) time.Duration {
		ds, count := n.deliveries(now, l, c, rng)
		if count != 1 {
			t.Fatalf("%d copies of a message, want 1", count)
		}
		return now + ds[0]
	}
	lat := Latency{Min: time.Millisecond}

	n := newNetwork(lat)
	n.setFaults([]world.Packet{{Delay: 100 * time.Millisecond, Links: [][2]world.NodeID{{1, 2}}}})
	a, h := at(n, 0, app), at(n, time.Millisecond, hb)
	if h < a {
		t.Fatalf("without a class fault the heartbeat (%s) overtook the append (%s)", h, a)
	}

	n = newNetwork(lat)
	n.setFaults([]world.Packet{{Delay: 100 * time.Millisecond, Only: world.Entries, Links: [][2]world.NodeID{{1, 2}}}})
	a, h = at(n, 0, app), at(n, time.Millisecond, hb)
	if h >= a || h > 10*time.Millisecond {
		t.Fatalf("entries delayed: the heartbeat arrived at %s, the append at %s; want the heartbeat first, undelayed", h, a)
	}
	if a2 := at(n, 2*time.Millisecond, app); a2 < a {
		t.Fatalf("a second append (%s) overtook the first (%s): the entries stream is FIFO", a2, a)
	}
	n.setFaults(nil) // healed: one stream again, behind everything in flight
	if h2 := at(n, 4*time.Millisecond, hb); h2 < a {
		t.Fatalf("after the heal a heartbeat (%s) overtook an append still in flight (%s)", h2, a)
	}
	n.setFaults([]world.Packet{{Loss: 1, Only: world.Entries}})
	if _, count := n.deliveries(time.Second, l, app, rng); count != 0 {
		t.Fatal("loss=1 only=entries delivered an append")
	}
	if _, count := n.deliveries(time.Second, l, hb, rng); count != 1 {
		t.Fatal("loss=1 only=entries dropped a heartbeat")
	}
}
