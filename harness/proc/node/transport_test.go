package node

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	pb "go.etcd.io/raft/v3/raftpb"
)

// freePort finds a TCP port that is free on every loopback address.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

type inbox struct {
	mu   sync.Mutex
	msgs []*pb.Message
	at   []time.Time
	evs  []TransportEvent
	cond chan struct{}
}

func newInbox() *inbox { return &inbox{cond: make(chan struct{}, 1)} }

func (b *inbox) deliver(ms []*pb.Message) {
	b.mu.Lock()
	for _, m := range ms {
		b.msgs = append(b.msgs, m)
		b.at = append(b.at, time.Now())
	}
	b.mu.Unlock()
	select {
	case b.cond <- struct{}{}:
	default:
	}
}

func (b *inbox) report(e TransportEvent) {
	b.mu.Lock()
	b.evs = append(b.evs, e)
	b.mu.Unlock()
}

// waitFor waits until n messages arrived.
func (b *inbox) waitFor(t *testing.T, n int, within time.Duration) []*pb.Message {
	t.Helper()
	deadline := time.After(within)
	for {
		b.mu.Lock()
		if len(b.msgs) >= n {
			out := append([]*pb.Message(nil), b.msgs...)
			b.mu.Unlock()
			return out
		}
		got := len(b.msgs)
		b.mu.Unlock()
		select {
		case <-b.cond:
		case <-deadline:
			t.Fatalf("got %d messages within %v, want %d", got, within, n)
		}
	}
}

func msg(from, to, index uint64, typ pb.MessageType) *pb.Message {
	return &pb.Message{From: &from, To: &to, Index: &index, Type: &typ}
}

func newPair(t *testing.T) (t1, t2 *Transport, in1, in2 *inbox) {
	port := freePort(t)
	in1, in2 = newInbox(), newInbox()
	a1, a2 := fmt.Sprintf("127.0.0.21:%d", port), fmt.Sprintf("127.0.0.22:%d", port)
	var err error
	if t1, err = NewTransport(TransportConfig{ID: 1, Addr: a1, Deliver: in1.deliver, Report: in1.report}); err != nil {
		t.Fatal(err)
	}
	if t2, err = NewTransport(TransportConfig{ID: 2, Addr: a2, Deliver: in2.deliver, Report: in2.report}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { t1.Close(); t2.Close() })
	t1.AddPeer(2, a2)
	t2.AddPeer(1, a1)
	return t1, t2, in1, in2
}

func TestTransportDelivers(t *testing.T) {
	t1, t2, in1, in2 := newPair(t)
	for i := uint64(1); i <= 100; i++ {
		t1.Send(msg(1, 2, i, pb.MsgHeartbeat))
		t2.Send(msg(2, 1, i, pb.MsgHeartbeatResp))
	}
	for _, got := range [][]*pb.Message{in2.waitFor(t, 100, 5*time.Second), in1.waitFor(t, 100, 5*time.Second)} {
		for i, m := range got {
			if m.GetIndex() != uint64(i+1) {
				t.Fatalf("message %d has index %d: not FIFO", i, m.GetIndex())
			}
		}
	}
	// A snapshot's outcome is reported once it is sent.
	t1.Send(msg(1, 2, 500, pb.MsgSnap))
	in2.waitFor(t, 101, 5*time.Second)
	time.Sleep(10 * time.Millisecond)
	in1.mu.Lock()
	defer in1.mu.Unlock()
	if len(in1.evs) != 1 || in1.evs[0] != (TransportEvent{Peer: 2, Snapshot: true, OK: true}) {
		t.Fatalf("events after sending a snapshot: %v", in1.evs)
	}
}

func TestTransportReportsUnreachable(t *testing.T) {
	in := newInbox()
	port := freePort(t)
	tr, err := NewTransport(TransportConfig{ID: 1, Addr: fmt.Sprintf("127.0.0.21:%d", port), Deliver: in.deliver, Report: in.report})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	tr.Send(msg(1, 9, 1, pb.MsgApp))                         // unknown peer
	tr.AddPeer(2, fmt.Sprintf("127.0.0.29:%d", freePort(t))) // nobody listens
	tr.Send(msg(1, 2, 1, pb.MsgSnap))
	deadline := time.Now().Add(5 * time.Second)
	for {
		in.mu.Lock()
		evs := append([]TransportEvent(nil), in.evs...)
		in.mu.Unlock()
		want := []TransportEvent{{Peer: 9}, {Peer: 2, Snapshot: true, OK: false}, {Peer: 2}}
		if fmt.Sprint(evs) == fmt.Sprint(want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("events %v, want %v", evs, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestTransportDelayAndDuplicate(t *testing.T) {
	t1, _, _, in2 := newPair(t)
	t1.SetFaults(map[uint64]LinkFaults{2: {Delay: 80 * time.Millisecond, Duplicate: 1}})
	start := time.Now()
	for i := uint64(1); i <= 5; i++ {
		t1.Send(msg(1, 2, i, pb.MsgApp))
	}
	got := in2.waitFor(t, 10, 5*time.Second)
	in2.mu.Lock()
	first := in2.at[0]
	in2.mu.Unlock()
	if d := first.Sub(start); d < 80*time.Millisecond {
		t.Fatalf("first delayed message arrived after %v, want ≥ 80ms", d)
	}
	count := map[uint64]int{}
	for _, m := range got {
		count[m.GetIndex()]++
	}
	for i := uint64(1); i <= 5; i++ {
		if count[i] != 2 {
			t.Fatalf("message %d arrived %d times, want 2 (duplicate 1.0): %v", i, count[i], count)
		}
	}
	// Clearing the faults restores delivery without delay: a link that
	// held messages for an hour delivers the next one at once (the wait
	// is a guard against a hang, orders of magnitude below the hour; it
	// judges no speed).
	t1.SetFaults(map[uint64]LinkFaults{2: {Delay: time.Hour}})
	t1.SetFaults(nil)
	t1.Send(msg(1, 2, 99, pb.MsgApp))
	if got := in2.waitFor(t, 11, time.Minute); got[10].GetIndex() != 99 {
		t.Fatalf("after clearing faults: message %d arrived, want 99", got[10].GetIndex())
	}
}

func TestTransportReorders(t *testing.T) {
	t1, _, _, in2 := newPair(t)
	t1.SetFaults(map[uint64]LinkFaults{2: {Delay: time.Millisecond, Reorder: 0.5}})
	for i := uint64(1); i <= 200; i++ {
		t1.Send(msg(1, 2, i, pb.MsgApp))
	}
	got := in2.waitFor(t, 200, 10*time.Second)
	inversions := 0
	for i := 1; i < len(got); i++ {
		if got[i].GetIndex() < got[i-1].GetIndex() {
			inversions++
		}
	}
	if inversions == 0 {
		t.Fatal("reorder 0.5 delivered 200 messages in order")
	}
}

func TestTransportRejectsBadHello(t *testing.T) {
	in := newInbox()
	tr, err := NewTransport(TransportConfig{ID: 1, Addr: fmt.Sprintf("127.0.0.21:%d", freePort(t)), Deliver: in.deliver, Report: in.report})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	for _, h := range [][]byte{[]byte("GET / HTTP/1.1\r\n\r\n"), hello{From: 2, To: 3, Addr: "x"}.marshal()} {
		c, err := net.Dial("tcp", tr.Addr())
		if err != nil {
			t.Fatal(err)
		}
		w := bufio.NewWriter(c)
		writeFrame(w, h)
		writeFrame(w, []byte("junk"))
		w.Flush()
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err == nil {
			t.Fatal("the transport wrote on an accepted connection")
		}
		c.Close()
	}
	if len(in.msgs) != 0 {
		t.Fatalf("delivered %d messages from bad connections", len(in.msgs))
	}
}

func TestHelloRoundTrip(t *testing.T) {
	h := hello{From: 3, To: 12, Addr: "127.0.0.13:7000"}
	got, err := parseHello(h.marshal())
	if err != nil || got != h {
		t.Fatalf("parse(marshal(%v)) = %v, %v", h, got, err)
	}
}

func FuzzParseHello(f *testing.F) {
	f.Add(hello{From: 1, To: 2, Addr: "127.0.0.11:7000"}.marshal())
	f.Add([]byte(helloMagic))
	f.Add([]byte("sbraft1\x01\x02\x05abc"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := parseHello(b)
		if err != nil {
			return
		}
		if !bytes.Equal(h.marshal(), b) {
			t.Fatalf("accepted hello %q does not re-marshal to itself", b)
		}
	})
}

func FuzzReadFrame(f *testing.F) {
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	writeFrame(w, []byte("hello"))
	w.Flush()
	f.Add(buf.Bytes())
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0, 0, 0, 5, 'a'})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := readFrame(bufio.NewReader(bytes.NewReader(b)), nil)
		if err != nil {
			return
		}
		if len(p)+4 > len(b) {
			t.Fatalf("frame of %d bytes from %d input bytes", len(p), len(b))
		}
	})
}

func app(term, index, commit uint64, entries ...uint64) *pb.Message {
	m := &pb.Message{Type: pb.MsgApp.Enum(), From: new(uint64(1)), To: new(uint64(2)), Term: &term, Index: &index, Commit: &commit}
	for _, e := range entries {
		m.Entries = append(m.Entries, &pb.Entry{Term: new(term), Index: new(e)})
	}
	return m
}

func describe(ms []*pb.Message) string {
	var b bytes.Buffer
	for _, m := range ms {
		switch m.GetType() {
		case pb.MsgApp:
			fmt.Fprintf(&b, "app(t%d i%d c%d +%d) ", m.GetTerm(), m.GetIndex(), m.GetCommit(), len(m.GetEntries()))
		case pb.MsgAppResp:
			fmt.Fprintf(&b, "ack(t%d i%d reject=%v) ", m.GetTerm(), m.GetIndex(), m.GetReject())
		default:
			fmt.Fprintf(&b, "%s ", m.GetType())
		}
	}
	return b.String()
}

func ack(term, index uint64, reject bool) *pb.Message {
	return &pb.Message{Type: pb.MsgAppResp.Enum(), From: new(uint64(2)), To: new(uint64(1)), Term: &term, Index: &index, Reject: &reject}
}

func TestCoalesce(t *testing.T) {
	hb := &pb.Message{Type: pb.MsgHeartbeat.Enum()}
	for _, tc := range []struct {
		name string
		in   []*pb.Message
		want string
	}{
		{"commit after entries rides on them", []*pb.Message{app(2, 5, 5, 6, 7), app(2, 7, 7)}, "app(t2 i5 c7 +2) "},
		{"empty before entries", []*pb.Message{app(2, 5, 4), app(2, 5, 5, 6)}, "app(t2 i5 c5 +1) "},
		{"empties in a row", []*pb.Message{app(2, 7, 5), app(2, 7, 6), app(2, 7, 7)}, "app(t2 i7 c7 +0) "},
		{"across a heartbeat", []*pb.Message{app(2, 5, 5, 6), hb, app(2, 6, 6)}, "app(t2 i5 c6 +1) MsgHeartbeat "},
		{"entries are never dropped", []*pb.Message{app(2, 5, 5, 6), app(2, 6, 5, 7)}, "app(t2 i5 c5 +1) app(t2 i6 c5 +1) "},
		{"another term", []*pb.Message{app(2, 7, 7), app(3, 7, 7)}, "app(t2 i7 c7 +0) app(t3 i7 c7 +0) "},
		{"a retransmission from further back", []*pb.Message{app(2, 7, 7), app(2, 4, 7, 5, 6, 7)}, "app(t2 i7 c7 +0) app(t2 i4 c7 +3) "},
		{"not at the end of the entries", []*pb.Message{app(2, 5, 5, 6, 7), app(2, 6, 7)}, "app(t2 i5 c5 +2) app(t2 i6 c7 +0) "},
		{"an older commit index", []*pb.Message{app(2, 7, 7), app(2, 7, 6)}, "app(t2 i7 c7 +0) app(t2 i7 c6 +0) "},
		{"acks: the last says it all", []*pb.Message{ack(2, 5, false), hb, ack(2, 7, false), ack(2, 7, false)}, "MsgHeartbeat ack(t2 i7 reject=false) "},
		{"rejections stay", []*pb.Message{ack(2, 5, true), ack(2, 7, false), ack(2, 3, true)}, "ack(t2 i5 reject=true) ack(t2 i7 reject=false) ack(t2 i3 reject=true) "},
		{"no ack skips a rejection", []*pb.Message{ack(2, 7, false), ack(2, 3, true), ack(2, 9, false)}, "ack(t2 i7 reject=false) ack(t2 i3 reject=true) ack(t2 i9 reject=false) "},
		{"no append skips a snapshot", []*pb.Message{app(2, 7, 7), {Type: pb.MsgSnap.Enum()}, app(2, 9, 9)}, "app(t2 i7 c7 +0) MsgSnap app(t2 i9 c9 +0) "},
		{"acks of another term", []*pb.Message{ack(2, 5, false), ack(3, 7, false)}, "ack(t2 i5 reject=false) ack(t3 i7 reject=false) "},
		{"an ack of less", []*pb.Message{ack(2, 7, false), ack(2, 5, false)}, "ack(t2 i7 reject=false) ack(t2 i5 reject=false) "},
		{"acks and appends together", []*pb.Message{app(2, 5, 4), ack(2, 3, false), app(2, 5, 5, 6), ack(2, 4, false)}, "app(t2 i5 c5 +1) ack(t2 i4 reject=false) "},
	} {
		if got := describe(coalesce(tc.in)); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.name, got, tc.want)
		}
	}
}

// TestTransportLearnsAPeerFromItsHello: a transport that does not know a
// peer learns its address from the peer's hello, adds it itself (so that
// it can answer) and only then tells Learn. (The server's Learn used to add
// the peer through its own transport field, which is not set yet when a
// peer dials in before NewTransport returns: a node crashed at startup.)
func TestTransportLearnsAPeerFromItsHello(t *testing.T) {
	port := freePort(t)
	in1, in2 := newInbox(), newInbox()
	a1, a2 := fmt.Sprintf("127.0.0.21:%d", port), fmt.Sprintf("127.0.0.22:%d", port)
	var mu sync.Mutex
	var learned []string
	t1, err := NewTransport(TransportConfig{ID: 1, Addr: a1, Deliver: in1.deliver, Report: in1.report,
		Learn: func(id uint64, addr string) {
			mu.Lock()
			defer mu.Unlock()
			learned = append(learned, fmt.Sprintf("%d=%s", id, addr))
		}})
	if err != nil {
		t.Fatal(err)
	}
	t2, err := NewTransport(TransportConfig{ID: 2, Addr: a2, Deliver: in2.deliver, Report: in2.report})
	if err != nil {
		t1.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { t1.Close(); t2.Close() })
	t2.AddPeer(1, a1) // t1 is not told about t2
	t2.Send(msg(2, 1, 1, pb.MsgHeartbeat))
	in1.waitFor(t, 1, 5*time.Second)
	if !t1.Has(2) {
		t.Fatal("t1 did not add the peer whose hello it read")
	}
	t1.Send(msg(1, 2, 1, pb.MsgHeartbeatResp))
	in2.waitFor(t, 1, 5*time.Second)
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(learned) != fmt.Sprintf("[2=%s]", a2) {
		t.Fatalf("Learn was told %v, want [2=%s]", learned, a2)
	}
}
