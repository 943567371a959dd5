package node

import (
	"bufio"
	"container/heap"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// LinkFaults are packet faults the transport applies to what it sends to
// one peer: the kernel here has no netem, so delay, duplication and
// reordering happen in the sender. (Loss is the kernel's job: nftables.)
type LinkFaults struct {
	Delay     time.Duration // added to every message
	Jitter    time.Duration // plus uniform [0, Jitter)
	Duplicate float64       // probability a message is sent twice
	Reorder   float64       // probability a message is held back by up to 10 × (Delay + Jitter + 1ms)
}

func (f LinkFaults) zero() bool {
	return f.Delay == 0 && f.Jitter == 0 && f.Duplicate == 0 && f.Reorder == 0
}

// TransportEvent tells the node what became of messages it sent: a peer
// could not be reached (messages dropped), or a snapshot was (OK) or was
// not sent.
type TransportEvent struct {
	Peer     uint64
	Snapshot bool
	OK       bool
}

// TransportConfig configures a Transport. Zero durations take the
// defaults noted.
type TransportConfig struct {
	ID   uint64
	Addr string // host:port to listen on; outgoing connections bind to its host
	// Deliver receives incoming messages, in batches (what one connection
	// had buffered). It may block (the sender then waits: TCP
	// backpressure) but must return once the transport is closed.
	Deliver func([]*pb.Message)
	// Report receives what became of sent messages. It must not block.
	Report func(TransportEvent)
	// Learn, if set, is told when the transport learns the address of a
	// peer it did not know from the peer's hello (it adds the peer first).
	// It may run before NewTransport returns: a peer can dial in at once.
	Learn  func(id uint64, addr string)
	Logger *slog.Logger
	Seed   uint64 // of the fault PRNGs
	// QueueLen bounds each peer's send queue (default 4096 messages); a
	// message that does not fit is dropped and the peer reported
	// unreachable.
	QueueLen int
	// DialTimeout bounds a connection attempt (default 500ms).
	DialTimeout time.Duration
	// UserTimeout closes a connection whose sent data stays unacknowledged
	// this long (TCP_USER_TIMEOUT, default 1s), so a cut link is noticed
	// and redialled instead of waiting for TCP's exponential backoff.
	UserTimeout time.Duration
}

// Transport carries raft messages between nodes over TCP, one connection
// per direction (see frame.go for why).
type Transport struct {
	cfg     TransportConfig
	ln      net.Listener
	localIP net.IP
	done    chan struct{}
	wg      sync.WaitGroup

	mu       sync.Mutex
	closed   bool
	peers    map[uint64]*peer
	faults   map[uint64]LinkFaults
	accepted map[uint64]net.Conn       // newest accepted connection per peer
	conns    map[net.Conn]bool         // every accepted connection
	written  [numMsgTypes]atomic.Int64 // messages written to connections, by type
	flushes  atomic.Int64              // writes to connections (each one syscall or more)
}

// numMsgTypes bounds raft's message types (pb.MessageType values).
const numMsgTypes = 32

// NewTransport listens on cfg.Addr and starts accepting. Add peers with
// AddPeer.
func NewTransport(cfg TransportConfig) (*Transport, error) {
	if cfg.QueueLen == 0 {
		cfg.QueueLen = 4096
	}
	if cfg.DialTimeout == 0 {
		cfg.DialTimeout = 500 * time.Millisecond
	}
	if cfg.UserTimeout == 0 {
		cfg.UserTimeout = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("peer address %q: %w", cfg.Addr, err)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen for peers: %w", err)
	}
	t := &Transport{cfg: cfg, ln: ln, done: make(chan struct{}), peers: map[uint64]*peer{},
		faults: map[uint64]LinkFaults{}, accepted: map[uint64]net.Conn{}, conns: map[net.Conn]bool{}}
	if ip := net.ParseIP(host); ip != nil && !ip.IsUnspecified() {
		t.localIP = ip
	}
	t.wg.Add(1)
	go t.acceptLoop()
	return t, nil
}

// Addr is the address the transport listens on.
func (t *Transport) Addr() string { return t.ln.Addr().String() }

// AddPeer makes id reachable at addr (replacing an older address).
func (t *Transport) AddPeer(id uint64, addr string) {
	if id == t.cfg.ID {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	if p := t.peers[id]; p != nil {
		p.setAddr(addr)
		return
	}
	p := &peer{t: t, id: id, addr: addr, q: make(chan []*pb.Message, t.cfg.QueueLen),
		rng: rand.New(rand.NewPCG(t.cfg.Seed, t.cfg.ID<<32|id))}
	if f, ok := t.faults[id]; ok {
		p.faults.Store(&f)
	}
	t.peers[id] = p
	t.wg.Add(1)
	go p.run()
}

// WrittenByType is how many messages of each type the transport has
// written to its connections (indexed by pb.MessageType; fewer than it
// was handed: see coalesce), and in how many writes to them.
func (t *Transport) WrittenByType() (byType [numMsgTypes]int64, flushes int64) {
	for i := range t.written {
		byType[i] = t.written[i].Load()
	}
	return byType, t.flushes.Load()
}

// Has reports whether the transport knows where id is.
func (t *Transport) Has(id uint64) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.peers[id] != nil
}

// Peers returns the known peers' addresses.
func (t *Transport) Peers() map[uint64]string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := map[uint64]string{}
	for id, p := range t.peers {
		out[id] = p.getAddr()
	}
	return out
}

// SetFaults replaces the packet faults: faults[id] applies to messages to
// id; peers not named get none.
func (t *Transport) SetFaults(faults map[uint64]LinkFaults) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.faults = map[uint64]LinkFaults{}
	for id, f := range faults {
		if !f.zero() {
			t.faults[id] = f
		}
	}
	for id, p := range t.peers {
		if f, ok := t.faults[id]; ok {
			p.faults.Store(&f)
		} else {
			p.faults.Store(nil)
		}
	}
}

// Send queues messages for their destinations, one hand-over per peer. It
// never blocks: a message to an unknown peer or beyond a full queue is
// dropped and reported.
func (t *Transport) Send(msgs ...*pb.Message) {
	if len(msgs) == 0 {
		return
	}
	byPeer := map[uint64][]*pb.Message{}
	var order []uint64
	for _, m := range msgs {
		if _, ok := byPeer[m.GetTo()]; !ok {
			order = append(order, m.GetTo())
		}
		byPeer[m.GetTo()] = append(byPeer[m.GetTo()], m)
	}
	for _, to := range order {
		batch := byPeer[to]
		t.mu.Lock()
		p := t.peers[to]
		t.mu.Unlock()
		if p == nil || p.queued.Add(int64(len(batch))) > int64(t.cfg.QueueLen) {
			if p != nil {
				p.queued.Add(-int64(len(batch)))
			}
			t.dropAll(batch)
			continue
		}
		select {
		case p.q <- batch:
		default:
			p.queued.Add(-int64(len(batch)))
			t.dropAll(batch)
		}
	}
}

func (t *Transport) dropAll(ms []*pb.Message) {
	for _, m := range ms {
		t.dropped(m)
	}
}

func (t *Transport) dropped(m *pb.Message) {
	if m.GetType() == pb.MsgSnap {
		t.cfg.Report(TransportEvent{Peer: m.GetTo(), Snapshot: true, OK: false})
	}
	t.cfg.Report(TransportEvent{Peer: m.GetTo()})
}

// Close stops accepting and sending, closes every connection and waits
// for the transport's goroutines.
func (t *Transport) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	close(t.done)
	err := t.ln.Close()
	for c := range t.conns {
		c.Close()
	}
	t.mu.Unlock()
	t.wg.Wait()
	return err
}

func (t *Transport) acceptLoop() {
	defer t.wg.Done()
	for {
		c, err := t.ln.Accept()
		if err != nil {
			select {
			case <-t.done:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			t.cfg.Logger.Warn("accept failed", "err", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		t.mu.Lock()
		if t.closed {
			t.mu.Unlock()
			c.Close()
			return
		}
		t.conns[c] = true
		t.wg.Add(1)
		t.mu.Unlock()
		go t.receive(c)
	}
}

// receive reads messages from one accepted connection until it breaks.
func (t *Transport) receive(c net.Conn) {
	defer t.wg.Done()
	defer func() {
		t.mu.Lock()
		delete(t.conns, c)
		t.mu.Unlock()
		c.Close()
	}()
	if tc, ok := c.(*net.TCPConn); ok {
		// The peer may vanish behind a partition without a FIN reaching
		// us; keepalive probes (which flow the other way) find out.
		tc.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true, Idle: 2 * time.Second, Interval: time.Second, Count: 3})
	}
	r := bufio.NewReaderSize(c, 64<<10)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	p, err := readFrame(r, nil)
	if err != nil {
		t.cfg.Logger.Debug("peer connection closed before hello", "remote", c.RemoteAddr(), "err", err)
		return
	}
	h, err := parseHello(p)
	if err == nil && h.To != t.cfg.ID {
		err = fmt.Errorf("hello is for node %d, this is node %d", h.To, t.cfg.ID)
	}
	if err != nil {
		t.cfg.Logger.Warn("rejected peer connection", "remote", c.RemoteAddr(), "err", err)
		return
	}
	c.SetReadDeadline(time.Time{})
	t.mu.Lock()
	if old := t.accepted[h.From]; old != nil {
		old.Close() // the peer redialled: its old connection is dead to it
	}
	t.accepted[h.From] = c
	t.mu.Unlock()
	if h.Addr != "" && !t.Has(h.From) {
		t.AddPeer(h.From, h.Addr)
		if t.cfg.Learn != nil {
			t.cfg.Learn(h.From, h.Addr)
		}
	}
	var buf []byte
	var batch []*pb.Message
	for {
		p, err := readFrame(r, buf)
		if err != nil {
			if len(batch) > 0 {
				t.cfg.Deliver(batch)
			}
			select {
			case <-t.done:
			default:
				t.cfg.Logger.Debug("peer connection closed", "peer", h.From, "err", err)
			}
			return
		}
		buf = p
		m := &pb.Message{}
		if err := proto.Unmarshal(p, m); err != nil {
			t.cfg.Logger.Warn("undecodable message: closing the connection", "peer", h.From, "err", err)
			return
		}
		if m.GetTo() != t.cfg.ID || m.GetFrom() != h.From {
			t.cfg.Logger.Warn("misaddressed message dropped", "peer", h.From, "from", m.GetFrom(), "to", m.GetTo())
			continue
		}
		batch = append(batch, m)
		// Hand over what arrived together in one go; wait for more only
		// when nothing is buffered.
		if r.Buffered() == 0 || len(batch) >= 256 {
			t.cfg.Deliver(batch)
			batch = nil
		}
	}
}

// peer is the sending side towards one node: a bounded queue and one
// goroutine that owns the connection and the held-back (delayed)
// messages.
type peer struct {
	t      *Transport
	id     uint64
	q      chan []*pb.Message
	queued atomic.Int64 // messages in q
	faults atomic.Pointer[LinkFaults]

	mu   sync.Mutex
	addr string

	// Owned by run.
	rng         *rand.Rand
	conn        net.Conn
	bw          *bufio.Writer
	connAddr    string
	backoff     time.Duration
	retryAt     time.Time
	down        bool // reported unreachable since the last successful send
	held        heldQueue
	lastRelease time.Time
	seq         uint64
}

func (p *peer) setAddr(a string) {
	p.mu.Lock()
	p.addr = a
	p.mu.Unlock()
}

func (p *peer) getAddr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.addr
}

func (p *peer) run() {
	defer p.t.wg.Done()
	defer p.disconnect(nil)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		var tc <-chan time.Time
		if len(p.held) > 0 {
			timer.Reset(time.Until(p.held[0].at))
			tc = timer.C
		}
		var ms []*pb.Message
		select {
		case <-p.t.done:
			return
		case ms = <-p.q:
			p.queued.Add(-int64(len(ms)))
		case <-tc:
		}
		for i := 0; i < 64 && len(p.q) > 0; i++ {
			more := <-p.q
			p.queued.Add(-int64(len(more)))
			ms = append(ms, more...)
		}
		if f := p.faults.Load(); (f == nil || f.zero()) && len(p.held) == 0 {
			ms = coalesce(ms)
		}
		for _, m := range ms {
			p.accept(m)
		}
		p.release(time.Now())
		if p.bw != nil && p.bw.Buffered() > 0 {
			p.flush()
		}
	}
}

// coalesce drops the messages in ms (to one peer, in order) that another
// message next to them makes redundant. Under load raft often sends, to
// the same peer in quick succession,
//
//   - empty appends: to carry a newer commit index, or to have the
//     follower answer (after a heartbeat response while appends are in
//     flight). An empty append says nothing that a later append of the same
//     term, from the same or a later log position, with the same or a newer
//     commit index says too; nor anything that the append just before it
//     says, given its commit index, when it sits right at the end of that
//     one's entries (the one before then carries its commit index: the
//     follower commits min(commit, last new entry) either way);
//   - acknowledgements (MsgAppResp, not rejections): a later one of the same
//     term acknowledging as much or more says everything an earlier one
//     says.
//
// Dropping a message is always allowed (raft tolerates loss), and what
// stays tells the peer the same. ms is reused.
func coalesce(ms []*pb.Message) []*pb.Message {
	out := ms[:0]
	app, ack := -1, -1 // the latest append and acknowledgement in out
	drop := func(i int) {
		out = append(out[:i], out[i+1:]...)
		for _, j := range []*int{&app, &ack} {
			if *j > i {
				*j--
			}
		}
	}
	for _, m := range ms {
		switch m.GetType() {
		case pb.MsgApp:
			if app >= 0 {
				a := out[app]
				switch {
				case len(m.GetEntries()) == 0 && a.GetTerm() == m.GetTerm() &&
					a.GetIndex()+uint64(len(a.GetEntries())) == m.GetIndex() && a.GetCommit() <= m.GetCommit():
					a.Commit = m.Commit // a says what m says
					continue
				case len(a.GetEntries()) == 0 && a.GetTerm() == m.GetTerm() &&
					m.GetIndex() >= a.GetIndex() && m.GetCommit() >= a.GetCommit():
					drop(app) // m says what a says
				}
			}
			out = append(out, m)
			app = len(out) - 1
		case pb.MsgAppResp:
			if m.GetReject() {
				out = append(out, m)
				ack = -1 // the acks before it stay before it
				continue
			}
			if ack >= 0 {
				if a := out[ack]; a.GetTerm() == m.GetTerm() && m.GetIndex() >= a.GetIndex() {
					drop(ack)
				}
			}
			out = append(out, m)
			ack = len(out) - 1
		case pb.MsgSnap:
			out = append(out, m)
			app = -1 // the appends before it stay before it
		default:
			out = append(out, m)
		}
	}
	clear(ms[len(out):])
	return out
}

// accept sends m now, or holds it back if a delay fault is on.
func (p *peer) accept(m *pb.Message) {
	f := p.faults.Load()
	if (f == nil || f.zero()) && len(p.held) == 0 {
		p.write(m)
		return
	}
	if f == nil {
		f = &LinkFaults{}
	}
	now := time.Now()
	at := now.Add(f.Delay + p.jitter(f.Jitter))
	if f.Reorder > 0 && p.rng.Float64() < f.Reorder {
		at = at.Add(p.jitter(10 * (f.Delay + f.Jitter + time.Millisecond)))
	} else {
		// FIFO, like TCP, unless reordered.
		if at.Before(p.lastRelease) {
			at = p.lastRelease
		}
		p.lastRelease = at
	}
	p.hold(m, at)
	if f.Duplicate > 0 && p.rng.Float64() < f.Duplicate {
		p.hold(m, at.Add(p.jitter(f.Jitter+time.Millisecond)))
	}
}

func (p *peer) jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return time.Duration(p.rng.Int64N(int64(d)))
}

func (p *peer) hold(m *pb.Message, at time.Time) {
	p.seq++
	heap.Push(&p.held, heldMsg{m: m, at: at, seq: p.seq})
}

// release sends the held messages that are due.
func (p *peer) release(now time.Time) {
	for len(p.held) > 0 && !p.held[0].at.After(now) {
		p.write(heap.Pop(&p.held).(heldMsg).m)
	}
}

func (p *peer) write(m *pb.Message) {
	if p.conn == nil && !p.connect() {
		p.t.dropped(m)
		p.down = true
		return
	}
	b, err := proto.Marshal(m)
	if err == nil {
		p.conn.SetWriteDeadline(time.Now().Add(2 * time.Second))
		err = writeFrame(p.bw, b)
	}
	if err == nil && m.GetType() == pb.MsgSnap {
		p.t.flushes.Add(1)
		err = p.bw.Flush()
		if err == nil {
			p.t.cfg.Report(TransportEvent{Peer: p.id, Snapshot: true, OK: true})
		}
	}
	if err != nil {
		p.disconnect(err)
		p.t.dropped(m)
		p.down = true
		return
	}
	if typ := int(m.GetType()); typ >= 0 && typ < numMsgTypes {
		p.t.written[typ].Add(1)
	}
	p.down = false
}

func (p *peer) flush() {
	p.t.flushes.Add(1)
	p.conn.SetWriteDeadline(time.Now().Add(2 * time.Second))
	if err := p.bw.Flush(); err != nil {
		p.disconnect(err)
		p.t.cfg.Report(TransportEvent{Peer: p.id})
	}
}

// connect dials the peer unless a recent failure asks to wait.
func (p *peer) connect() bool {
	now := time.Now()
	if now.Before(p.retryAt) {
		return false
	}
	addr := p.getAddr()
	d := net.Dialer{Timeout: p.t.cfg.DialTimeout, Control: userTimeout(p.t.cfg.UserTimeout)}
	if p.t.localIP != nil {
		d.LocalAddr = &net.TCPAddr{IP: p.t.localIP}
	}
	c, err := d.Dial("tcp", addr)
	if err == nil {
		bw := bufio.NewWriterSize(c, 64<<10)
		c.SetWriteDeadline(time.Now().Add(2 * time.Second))
		err = writeFrame(bw, hello{From: p.t.cfg.ID, To: p.id, Addr: p.t.cfg.Addr}.marshal())
		if err == nil {
			err = bw.Flush()
		}
		if err == nil {
			p.conn, p.bw, p.connAddr, p.backoff, p.retryAt = c, bw, addr, 0, time.Time{}
			p.t.cfg.Logger.Info("connected to peer", "peer", p.id, "addr", addr)
			return true
		}
		c.Close()
	}
	p.backoff = min(max(2*p.backoff, 25*time.Millisecond), time.Second)
	p.retryAt = time.Now().Add(p.backoff)
	if !p.down {
		p.t.cfg.Logger.Info("cannot reach peer", "peer", p.id, "addr", addr, "err", err, "retry_in", p.backoff)
	}
	return false
}

func (p *peer) disconnect(err error) {
	if p.conn == nil {
		return
	}
	if err != nil {
		p.t.cfg.Logger.Info("lost connection to peer", "peer", p.id, "addr", p.connAddr, "err", err)
	}
	p.conn.Close()
	p.conn, p.bw = nil, nil
}

// userTimeout sets TCP_USER_TIMEOUT on a dialled socket.
func userTimeout(d time.Duration) func(string, string, syscall.RawConn) error {
	return func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, tcpUserTimeout, int(d.Milliseconds()))
		})
		if err != nil {
			return err
		}
		return serr
	}
}

// tcpUserTimeout is TCP_USER_TIMEOUT from linux/tcp.h.
const tcpUserTimeout = 0x12

type heldMsg struct {
	m   *pb.Message
	at  time.Time
	seq uint64
}

// heldQueue orders held messages by release time, then by arrival.
type heldQueue []heldMsg

func (h heldQueue) Len() int { return len(h) }
func (h heldQueue) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].seq < h[j].seq
}
func (h heldQueue) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *heldQueue) Push(x any)   { *h = append(*h, x.(heldMsg)) }
func (h *heldQueue) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
