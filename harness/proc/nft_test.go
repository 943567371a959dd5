package proc

import (
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/splitbrain/splitbrain/harness/proc/node"
	pb "go.etcd.io/raft/v3/raftpb"
)

func testFirewall(t *testing.T) (*firewall, int) {
	t.Helper()
	requireRoot(t)
	tag, err := newRunTag()
	if err != nil {
		t.Fatal(err)
	}
	port, _, _, err := pickPorts(tag)
	if err != nil {
		t.Fatal(err)
	}
	fw, err := newFirewall(TablePrefix+tag.String(), true, uint16(port))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := fw.close(); err != nil {
			t.Error(err)
		}
		if names, _ := splitbrainTables(); slices.Contains(names, fw.name) {
			t.Errorf("table %s still exists after close", fw.name)
		}
	})
	return fw, port
}

// counter counts messages delivered to one transport.
type counter struct{ n atomic.Int64 }

func (c *counter) deliver(ms []*pb.Message)   { c.n.Add(int64(len(ms))) }
func (c *counter) report(node.TransportEvent) {}
func (c *counter) waitAbove(n int64, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if c.n.Load() > n {
			return true
		}
		time.Sleep(5 * time.Millisecond)
	}
	return false
}

func msgTo(from, to uint64) *pb.Message {
	typ := pb.MsgHeartbeat
	return &pb.Message{From: &from, To: &to, Type: &typ}
}

// TestOneWayCut checks the design the partitions rely on: a rule on
// (source A, destination B, destination port B's peer port) stops A→B raft
// traffic and nothing else, because each node sends only on connections it
// dialled.
func TestOneWayCut(t *testing.T) {
	fw, port := testFirewall(t)
	a, b := net.IPv4(127, 0, 0, 231).To4(), net.IPv4(127, 0, 0, 232).To4()
	var ca, cb counter
	ta, err := node.NewTransport(node.TransportConfig{ID: 1, Addr: fmt.Sprintf("%s:%d", a, port), Deliver: ca.deliver, Report: ca.report})
	if err != nil {
		t.Fatal(err)
	}
	defer ta.Close()
	tb, err := node.NewTransport(node.TransportConfig{ID: 2, Addr: fmt.Sprintf("%s:%d", b, port), Deliver: cb.deliver, Report: cb.report})
	if err != nil {
		t.Fatal(err)
	}
	defer tb.Close()
	ta.AddPeer(2, tb.Addr())
	tb.AddPeer(1, ta.Addr())

	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // both send continuously
		defer wg.Done()
		for !stop.Load() {
			ta.Send(msgTo(1, 2))
			tb.Send(msgTo(2, 1))
			time.Sleep(2 * time.Millisecond)
		}
	}()
	defer func() { stop.Store(true); wg.Wait() }()
	if !cb.waitAbove(10, 5*time.Second) || !ca.waitAbove(10, 5*time.Second) {
		t.Fatalf("no traffic before the cut: a got %d, b got %d", ca.n.Load(), cb.n.Load())
	}

	if err := fw.set([]dropRule{{src: a, dst: b, dport: uint16(port)}}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // let what was in flight land
	bBefore, aBefore := cb.n.Load(), ca.n.Load()
	time.Sleep(1500 * time.Millisecond) // past the transport's user timeout and a redial
	if got := cb.n.Load() - bBefore; got != 0 {
		t.Errorf("cut a->b: b still received %d messages from a", got)
	}
	if got := ca.n.Load() - aBefore; got < 100 {
		t.Errorf("cut a->b: b->a delivered only %d messages in 1.5s", got)
	}

	if err := fw.set(nil); err != nil {
		t.Fatal(err)
	}
	if !cb.waitAbove(cb.n.Load()+10, 5*time.Second) {
		t.Fatal("after the heal a->b did not resume within 5s")
	}
}

// TestLossRule checks the numgen rule drops about the given share of
// packets: each dial's SYN is dropped with that probability, and a
// dropped SYN makes a short dial time out.
func TestLossRule(t *testing.T) {
	fw, port := testFirewall(t)
	a, b := net.IPv4(127, 0, 0, 233).To4(), net.IPv4(127, 0, 0, 234).To4()
	ln, err := net.Listen("tcp", fmt.Sprintf("%s:%d", b, port))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	share := func() float64 {
		const n = 400
		var failed atomic.Int64
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				d := net.Dialer{Timeout: 500 * time.Millisecond, LocalAddr: &net.TCPAddr{IP: a}}
				c, err := d.Dial("tcp", ln.Addr().String())
				if err != nil {
					failed.Add(1)
					return
				}
				c.Close()
			}()
		}
		wg.Wait()
		return float64(failed.Load()) / n
	}
	if got := share(); got != 0 {
		t.Fatalf("without rules %.2f of dials failed", got)
	}
	if err := fw.set([]dropRule{{src: a, dst: b, dport: uint16(port), lossPPM: 500_000}}); err != nil {
		t.Fatal(err)
	}
	// SYN lost with p = 0.5: the SYN-ACK path is not filtered.
	if got := share(); got < 0.35 || got > 0.65 {
		t.Fatalf("with 50%% loss %.2f of dials failed, want about 0.5", got)
	}
	if err := fw.set([]dropRule{{src: a, dst: b, dport: uint16(port)}}); err != nil {
		t.Fatal(err)
	}
	if got := share(); got != 1 {
		t.Fatalf("with the link cut %.2f of dials failed, want all", got)
	}
}

func TestDropRuleString(t *testing.T) {
	r := dropRule{src: net.IPv4(127, 0, 0, 11), dst: net.IPv4(127, 0, 0, 12), dport: 7000, lossPPM: 250000}
	if got, want := r.String(), "ip saddr 127.0.0.11 ip daddr 127.0.0.12 tcp dport 7000 numgen random mod 1000000 < 250000 drop"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}
