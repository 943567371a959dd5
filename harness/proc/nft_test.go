package proc

import (
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
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

// counter counts messages delivered to one transport and keeps the
// highest sequence number (Message.Index) among them.
type counter struct{ n, top atomic.Uint64 }

func (c *counter) deliver(ms []*pb.Message) {
	for _, m := range ms {
		c.n.Add(1)
		for seq := m.GetIndex(); ; {
			top := c.top.Load()
			if seq <= top || c.top.CompareAndSwap(top, seq) {
				break
			}
		}
	}
}
func (c *counter) report(node.TransportEvent) {}

// msgTo is a heartbeat from one transport to another carrying sequence
// number seq in its Index.
func msgTo(from, to, seq uint64) *pb.Message {
	typ := pb.MsgHeartbeat
	return &pb.Message{From: &from, To: &to, Type: &typ, Index: &seq}
}

// TestOneWayCut checks the design the partitions rely on: a rule on
// (source A, destination B, destination port B's peer port) stops A→B raft
// traffic and nothing else, because each node sends only on connections it
// dialled. Both sides send numbered messages without pause; a message
// numbered after the rule was installed must never reach B, however long B
// is watched, while B→A keeps delivering (100 messages sent after the
// cut are its measure of "long", not a wall-clock span); after the heal
// A→B delivers again.
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
	var sent atomic.Uint64 // the highest sequence number both have been asked to send
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // both send continuously, numbering their messages
		defer wg.Done()
		for seq := uint64(1); !stop.Load(); seq++ {
			ta.Send(msgTo(1, 2, seq))
			tb.Send(msgTo(2, 1, seq))
			sent.Store(seq)
			time.Sleep(2 * time.Millisecond)
		}
	}()
	defer func() { stop.Store(true); wg.Wait() }()
	waitFor(t, "traffic both ways before the cut", func() bool { return ca.n.Load() > 10 && cb.n.Load() > 10 })

	if err := fw.set([]dropRule{{src: a, dst: b, dport: uint16(port)}}); err != nil {
		t.Fatal(err)
	}
	// The sender may be inside Send(sent+1) now; Send(sent+2) and later
	// begin after the rule is in force.
	cut := sent.Load() + 2
	waitFor(t, "b->a to deliver 100 messages sent after the cut", func() bool { return ca.top.Load() >= cut+100 })
	if top := cb.top.Load(); top >= cut {
		t.Errorf("cut a->b: b received message %d from a, sent after the cut (numbers from %d on)", top, cut)
	}

	if err := fw.set(nil); err != nil {
		t.Fatal(err)
	}
	healed := sent.Load() + 2
	waitFor(t, "a->b to deliver a message sent after the heal", func() bool { return cb.top.Load() >= healed })
}

// countingRules installs rules in fw's chain with counters: for each
// rule, one that only counts the packets it matches (seen), then the rule
// itself with a counter just before its drop (dropped). Their exprs are
// the production rule's.
func countingRules(t *testing.T, fw *firewall, rules ...dropRule) {
	t.Helper()
	c, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	c.FlushChain(fw.chain)
	for _, r := range rules {
		match := dropRule{src: r.src, dst: r.dst, dport: r.dport}.exprs()
		match = append(match[:len(match)-1:len(match)-1], &expr.Counter{})
		drop := r.exprs()
		drop = append(drop[:len(drop)-1:len(drop)-1], &expr.Counter{}, drop[len(drop)-1])
		c.AddRule(&nftables.Rule{Table: fw.table, Chain: fw.chain, Exprs: match})
		c.AddRule(&nftables.Rule{Table: fw.table, Chain: fw.chain, Exprs: drop})
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
}

// chainCounters reads the packet counters of fw's chain, rule by rule, and
// how many rules it holds.
func chainCounters(t *testing.T, fw *firewall) (packets []uint64, rules int) {
	t.Helper()
	c, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	rs, err := c.GetRules(fw.table, fw.chain)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		for _, e := range r.Exprs {
			if ctr, ok := e.(*expr.Counter); ok {
				packets = append(packets, ctr.Packets)
			}
		}
	}
	return packets, len(rs)
}

// TestLossRule checks the numgen rule drops about the given share of
// packets, counted by the kernel: a rule counts the packets from a to b's
// port, the loss rule after it counts those it drops. Dials from a to b
// make the packets (their outcome is not judged, only counted packets
// are, so a slow machine only makes the test take longer). Without a
// rule every dial connects; with the link cut every packet is dropped and
// no dial connects; and set replaces the chain's rules, leaving none
// after set(nil).
func TestLossRule(t *testing.T) {
	fw, port := testFirewall(t)
	a, b := net.IPv4(127, 0, 0, 233).To4(), net.IPv4(127, 0, 0, 234).To4()
	ln, err := net.Listen("tcp", fmt.Sprintf("%s:%d", b, port))
	if err != nil {
		t.Fatal(err)
	}
	var accepts sync.WaitGroup
	accepts.Add(1)
	go func() {
		defer accepts.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	defer accepts.Wait()
	defer ln.Close()
	// dial connects from a to b; its timeout only ends dials whose SYN
	// was dropped, so that more packets come.
	dial := func(timeout time.Duration) bool {
		d := net.Dialer{Timeout: timeout, LocalAddr: &net.TCPAddr{IP: a}}
		c, err := d.Dial("tcp", ln.Addr().String())
		if err != nil {
			return false
		}
		c.Close()
		return true
	}
	// dialUntil dials from 32 goroutines until the first counter has
	// counted n packets, and says whether any dial connected.
	dialUntil := func(n uint64) (connected bool) {
		var done, any atomic.Bool
		var wg sync.WaitGroup
		for range 32 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for !done.Load() {
					if dial(200 * time.Millisecond) {
						any.Store(true)
					}
				}
			}()
		}
		waitFor(t, fmt.Sprintf("%d packets from a to b", n), func() bool {
			p, _ := chainCounters(t, fw)
			return len(p) > 0 && p[0] >= n
		})
		done.Store(true)
		wg.Wait()
		return any.Load()
	}

	// No rules: every dial connects (no timeout: a SYN on loopback is not
	// lost).
	for i := 0; i < 50; i++ {
		if !dial(0) {
			t.Fatalf("without rules dial %d failed", i)
		}
	}

	// 50% loss: each packet is dropped with p = 0.5. Over 2000 packets
	// the share dropped is 0.5 ± 0.011 (one standard deviation); the
	// bounds are 9 of them away.
	countingRules(t, fw, dropRule{src: a, dst: b, dport: uint16(port), lossPPM: 500_000})
	dialUntil(2000)
	p, _ := chainCounters(t, fw)
	if len(p) != 2 {
		t.Fatalf("counters %v, want two", p)
	}
	if share := float64(p[1]) / float64(p[0]); share < 0.4 || share > 0.6 {
		t.Fatalf("with 50%% loss %d of %d packets were dropped (%.3f), want about half", p[1], p[0], share)
	}

	// The link cut: every packet dropped, no dial connects.
	countingRules(t, fw, dropRule{src: a, dst: b, dport: uint16(port)})
	if dialUntil(100) {
		t.Fatal("a dial connected through a cut link")
	}
	if p, _ := chainCounters(t, fw); len(p) != 2 || p[1] != p[0] {
		t.Fatalf("with the link cut the counters are %v: want every packet seen dropped", p)
	}

	// set replaces the rules; set(nil) leaves none, and dials connect
	// again.
	if err := fw.set([]dropRule{{src: a, dst: b, dport: 1}, {src: b, dst: a, dport: 2}}); err != nil {
		t.Fatal(err)
	}
	if _, n := chainCounters(t, fw); n != 2 {
		t.Fatalf("after set of 2 rules the chain holds %d", n)
	}
	if err := fw.set(nil); err != nil {
		t.Fatal(err)
	}
	if _, n := chainCounters(t, fw); n != 0 {
		t.Fatalf("after set(nil) the chain holds %d rules", n)
	}
	if !dial(0) {
		t.Fatal("after set(nil) a dial failed")
	}
}

func TestDropRuleString(t *testing.T) {
	r := dropRule{src: net.IPv4(127, 0, 0, 11), dst: net.IPv4(127, 0, 0, 12), dport: 7000, lossPPM: 250000}
	if got, want := r.String(), "ip saddr 127.0.0.11 ip daddr 127.0.0.12 tcp dport 7000 numgen random mod 1000000 < 250000 drop"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}
