package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/splitbrain/splitbrain/harness/raftkv"
	"github.com/splitbrain/splitbrain/harness/raftnode"
	pb "go.etcd.io/raft/v3/raftpb"
)

// PeerKeyPrefix starts the reserved keys under which the cluster
// replicates its members' peer addresses ("\x00splitbrain/peer/4" →
// "127.0.0.14:7000"). Clients must not write keys with this prefix.
const PeerKeyPrefix = "\x00splitbrain/peer/"

// PeerKey is the reserved key of node id's peer address.
func PeerKey(id uint64) string { return PeerKeyPrefix + strconv.FormatUint(id, 10) }

// Config configures a node server. Zero fields take the defaults noted.
type Config struct {
	ID       uint64
	DataDir  string
	PeerAddr string // host:port for raft traffic
	APIAddr  string // host:port for the HTTP API
	// Peers are the addresses of the other nodes known at start (this
	// node's own entry, if present, is ignored). Nodes added later are
	// learned from the replicated address keys and from their hellos.
	Peers map[uint64]string
	// Bootstrap: if the store is empty, start a new cluster whose members
	// are this node and Peers. Join: if the store is empty, wait to be
	// added to a running cluster. Neither: an empty store means the node
	// lost its data, and Start fails with raftnode.ErrDataLost.
	Bootstrap bool
	Join      bool
	Tick      time.Duration // raft tick at clock rate 1, default 100ms
	ClockRate float64       // default 1
	// System is the node the server runs: any node written to the
	// contract in package raftnode (default: the reference node,
	// raftkv.System(nil)).
	System raftnode.System
	// Raft is the template of the core's configuration: the test's tuning
	// (ID, Join and Logger are set from the fields above).
	Raft   raftnode.Config
	Logger *slog.Logger
	Seed   uint64 // of the transport's fault PRNGs
}

// Server is one node: a sans-IO core (any raftnode.Node; the reference
// node by default) driven by one goroutine (the loop), a write-ahead log
// store, the TCP transport and the HTTP API.
type Server struct {
	cfg   Config
	log   *slog.Logger
	store *Store
	node  raftnode.Node
	tr    *Transport
	api   *http.Server
	apiLn net.Listener

	recvc chan []*pb.Message
	reqc  chan call
	execc chan func()
	evMu  sync.Mutex
	evq   []TransportEvent
	evc   chan struct{}

	done      chan struct{} // closed by Close: the loop stops
	stopped   chan struct{} // closed when the loop has stopped
	closeOnce sync.Once
	closeErr  error
	loopErr   error

	// Owned by the loop.
	pending  map[raftkv.RequestID]func(raftkv.Response)
	session  uint64
	seq      uint64
	rate     float64
	ticker   *time.Ticker
	unsaved  []*raftkv.Write // writes without Sync, saved with the next synced one
	unsavedT time.Time
	stats    stats
	statsT   time.Time
	written  [numMsgTypes]int64 // Transport.WrittenByType at statsT
	flushes  int64              // and its flushes
	missing  map[uint64]bool    // peers with no known address (logged once)
	lookups  map[uint64]bool    // peers whose address is being read from the replicated state
}

// stats count the loop's work; the node logs them every statsEvery.
type stats struct {
	Batches  int   // input batches processed
	Inputs   int   // inputs in them
	Saves    int   // synced store transactions
	Writes   int   // core writes saved
	Entries  int   // log entries saved
	Sent     int   // raft messages handed to the transport
	Written  int64 // raft messages it wrote (redundant ones coalesced)
	Received int   // raft messages stepped
	Requests int   // client requests
}

const statsEvery = 10 * time.Second

type call struct {
	req  raftkv.Request
	done func(raftkv.Response)
}

// Start opens the store, recovers the node from it and starts serving.
// A store that fails its checks gives a *CorruptError; a member with an
// empty store and neither Bootstrap nor Join gives raftnode.ErrDataLost.
func Start(cfg Config) (*Server, error) {
	if cfg.ID == 0 {
		return nil, errors.New("node: id must not be 0")
	}
	if cfg.System.New == nil {
		cfg.System = raftkv.System(nil)
	}
	if err := cfg.System.Validate(); err != nil {
		return nil, fmt.Errorf("node: %w", err)
	}
	if cfg.Tick == 0 {
		cfg.Tick = 100 * time.Millisecond
	}
	if cfg.ClockRate == 0 {
		cfg.ClockRate = 1
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, log: cfg.Logger,
		recvc: make(chan []*pb.Message, 1024), reqc: make(chan call, 1024), execc: make(chan func(), 64),
		evc: make(chan struct{}, 1), done: make(chan struct{}), stopped: make(chan struct{}),
		pending: map[raftkv.RequestID]func(raftkv.Response){}, rate: cfg.ClockRate, missing: map[uint64]bool{}, lookups: map[uint64]bool{}}
	store, durable, err := OpenStore(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	s.store = store
	if from, to, torn := store.Torn(); torn {
		s.log.Info("dropped a batch torn by the node's death while writing it (never synced, never acknowledged)",
			"store", store.Path(), "from", from, "to", to)
	}
	// Request IDs the node makes itself: a session no client uses (the
	// top bit set) and no earlier run of this node used (the boot count).
	s.session = 1<<63 | cfg.ID<<32 | store.Boots()&0xffffffff
	rc := cfg.Raft
	rc.ID, rc.Join, rc.Logger = cfg.ID, cfg.Join, coreLogger{s.log}
	var peers []uint64
	if cfg.Bootstrap {
		peers = append(peers, cfg.ID)
		for id := range cfg.Peers {
			if id != cfg.ID {
				peers = append(peers, id)
			}
		}
		sort.Slice(peers, func(i, j int) bool { return peers[i] < peers[j] })
	}
	s.log.Info("starting", "id", cfg.ID, "system", cfg.System.Name, "store", store.Path(), "boot", store.Boots(),
		"last_index", durable.LastIndex(), "commit", durable.HardState.GetCommit(), "snapshot", durable.Snapshot.GetMetadata().GetIndex())
	if s.node, err = cfg.System.New(rc, durable, peers); err != nil {
		store.Close()
		return nil, fmt.Errorf("node %d: %w", cfg.ID, err)
	}
	s.tr, err = NewTransport(TransportConfig{ID: cfg.ID, Addr: cfg.PeerAddr, Deliver: s.deliver, Report: s.report,
		Learn: s.learn, Logger: s.log, Seed: cfg.Seed})
	if err != nil {
		store.Close()
		return nil, err
	}
	for id, addr := range cfg.Peers {
		s.tr.AddPeer(id, addr)
	}
	st := s.node.Status()
	for _, id := range append(append([]uint64(nil), st.Voters...), st.Learners...) {
		s.lookupPeer(id)
	}
	if s.apiLn, err = net.Listen("tcp", cfg.APIAddr); err != nil {
		s.tr.Close()
		store.Close()
		return nil, fmt.Errorf("listen for the API: %w", err)
	}
	s.api = &http.Server{Handler: s.handler(), ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	s.ticker = time.NewTicker(s.tickPeriod())
	go s.loop()
	go func() {
		if err := s.api.Serve(s.apiLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("API server stopped", "err", err)
		}
	}()
	s.log.Info("serving", "peer_addr", s.tr.Addr(), "api_addr", s.apiLn.Addr().String(),
		"voters", st.Voters, "learners", st.Learners)
	return s, nil
}

// APIAddr is where the HTTP API listens.
func (s *Server) APIAddr() string { return s.apiLn.Addr().String() }

// PeerAddr is where the transport listens.
func (s *Server) PeerAddr() string { return s.tr.Addr() }

// Stopped is closed when the node has stopped (after Close, or after a
// fatal storage error: see Err).
func (s *Server) Stopped() <-chan struct{} { return s.stopped }

// Err is the fatal error that stopped the node, if any.
func (s *Server) Err() error {
	select {
	case <-s.stopped:
		return s.loopErr
	default:
		return nil
	}
}

// Close stops the node: the API and the transport close, requests in
// flight are answered (unknown for writes, fail for reads), writes not yet
// saved are saved, and the store is closed.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		close(s.done)
		<-s.stopped
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		if err := s.api.Shutdown(ctx); err != nil {
			s.api.Close()
		}
		cancel()
		s.tr.Close()
		s.ticker.Stop()
		var errs []error
		if len(s.unsaved) > 0 && s.loopErr == nil {
			errs = append(errs, s.store.Save(s.unsaved))
		}
		errs = append(errs, s.store.Close(), s.loopErr)
		s.closeErr = errors.Join(errs...)
		s.log.Info("stopped", "err", s.closeErr)
	})
	return s.closeErr
}

func (s *Server) tickPeriod() time.Duration {
	return max(time.Duration(float64(s.cfg.Tick)/s.rate), time.Millisecond)
}

// deliver hands incoming messages to the loop (transport goroutines).
func (s *Server) deliver(ms []*pb.Message) {
	select {
	case s.recvc <- ms:
	case <-s.done:
	}
}

// report queues a transport event for the loop; it never blocks.
func (s *Server) report(e TransportEvent) {
	s.evMu.Lock()
	s.evq = append(s.evq, e)
	s.evMu.Unlock()
	select {
	case s.evc <- struct{}{}:
	default:
	}
}

// learn logs a peer address the transport learned from a hello. It must
// not touch s.tr: it can run before NewTransport has returned (a peer
// that dials in at once), which is how a node once crashed on a nil
// transport at startup.
func (s *Server) learn(id uint64, addr string) {
	s.log.Info("learned peer address from its hello", "peer", id, "addr", addr)
}

// exec runs fn on the loop and waits for it; false if the node stopped.
func (s *Server) exec(fn func()) bool {
	ran := make(chan struct{})
	select {
	case s.execc <- func() { fn(); close(ran) }:
	case <-s.stopped:
		return false
	}
	select {
	case <-ran:
		return true
	case <-s.stopped:
		return false
	}
}

// submit hands a client request to the loop; done is called (from the
// loop, or from Close) exactly once with its response.
func (s *Server) submit(c call) bool {
	select {
	case s.reqc <- c:
		return true
	case <-s.stopped:
		return false
	}
}

// loop owns the core: every input goes through it, and after each batch
// of inputs it drains the core's Ready.
func (s *Server) loop() {
	defer close(s.stopped)
	defer s.failPending()
	for {
		select {
		case <-s.done:
			return
		case <-s.ticker.C:
			s.tick()
		case ms := <-s.recvc:
			s.step(ms)
		case c := <-s.reqc:
			s.request(c)
		case fn := <-s.execc:
			fn()
		case <-s.evc:
			s.transportEvents()
		}
		s.stats.Batches++
		s.stats.Inputs++
		// Batch: whatever else is waiting goes into the same Ready, so
		// that many proposals share one fsync.
		s.drain(1024)
		if err := s.process(); err != nil {
			s.loopErr = err
			s.log.Error("fatal: stopping", "err", err)
			return
		}
	}
}

func (s *Server) drain(limit int) {
	for i := 0; i < limit; i++ {
		select {
		case ms := <-s.recvc:
			s.step(ms)
		case c := <-s.reqc:
			s.request(c)
		case fn := <-s.execc:
			fn()
		case <-s.evc:
			s.transportEvents()
		default:
			return
		}
		s.stats.Inputs++
	}
}

func (s *Server) step(ms []*pb.Message) {
	s.stats.Received += len(ms)
	for _, m := range ms {
		s.node.Step(m)
	}
}

func (s *Server) tick() {
	s.node.Tick()
	if time.Since(s.statsT) >= statsEvery {
		byType, flushes := s.tr.WrittenByType()
		if !s.statsT.IsZero() {
			st := s.stats
			var types []byte
			for typ, n := range byType {
				if d := n - s.written[typ]; d > 0 {
					st.Written += d
					if len(types) > 0 {
						types = append(types, ' ')
					}
					types = fmt.Appendf(types, "%s:%d", pb.MessageType(typ), d)
				}
			}
			s.log.Info("stats", "batches", st.Batches, "inputs", st.Inputs, "saves", st.Saves, "writes", st.Writes,
				"entries", st.Entries, "sent", st.Sent, "written", st.Written, "flushes", flushes-s.flushes, "received", st.Received,
				"requests", st.Requests, "period", time.Since(s.statsT).Round(time.Millisecond), "written_by_type", string(types))
		}
		s.stats, s.statsT, s.written, s.flushes = stats{}, time.Now(), byType, flushes
	}
	// Writes without Sync need not be durable before the node goes on;
	// save them within a second even if no synced write comes.
	if len(s.unsaved) > 0 && time.Since(s.unsavedT) > time.Second {
		if err := s.store.Save(s.unsaved); err != nil {
			s.loopErr = err
			return
		}
		s.unsaved = nil
	}
}

// process drains the core: write, send, answer, then sync. The messages
// and responses of an output never depend on its synced write (the core
// holds back those that do until WriteDone), so they go out while the
// write is synced: a leader's appends reach its followers while it syncs
// the same entries itself.
func (s *Server) process() error {
	if s.loopErr != nil {
		return s.loopErr
	}
	for {
		out := s.node.Ready()
		if out.Empty() {
			return nil
		}
		var synced *raftkv.Write
		if n := len(out.Writes); n > 0 {
			if out.Writes[n-1].Sync {
				synced = out.Writes[n-1]
				ws := append(s.unsaved, out.Writes...)
				s.unsaved = nil
				if err := s.store.Write(ws); err != nil {
					return err
				}
				s.stats.Saves++
				s.stats.Writes += len(ws)
				for _, w := range ws {
					s.stats.Entries += len(w.Entries)
				}
			} else {
				if len(s.unsaved) == 0 {
					s.unsavedT = time.Now()
				}
				s.unsaved = append(s.unsaved, out.Writes...)
			}
		}
		s.send(out.Messages)
		for _, r := range out.Responses {
			s.respond(r)
		}
		if synced != nil {
			if len(out.Messages) > 0 {
				// Let the transport write them before the loop blocks in
				// the sync (a node runs on one P: until the runtime takes
				// it back from the syscall, nothing else would run).
				runtime.Gosched()
			}
			if err := s.store.Sync(); err != nil {
				return err
			}
			s.node.WriteDone(synced.Seq)
		}
	}
}

// send hands a Ready's messages to the transport; those to peers with no
// known address are reported unreachable at once.
func (s *Server) send(msgs []*pb.Message) {
	out := msgs[:0:0]
	for _, m := range msgs {
		if to := m.GetTo(); !s.tr.Has(to) && !s.lookupPeer(to) {
			s.node.ReportUnreachable(to)
			if m.GetType() == pb.MsgSnap {
				s.node.ReportSnapshot(to, false)
			}
			continue
		}
		out = append(out, m)
	}
	s.stats.Sent += len(out)
	s.tr.Send(out...)
}

// lookupPeer reports whether id's address is known. If not, it reads the
// address from the replicated address keys — a read through the node, as
// any client's, so that it works for any node — and drops the message
// meanwhile (raft resends).
func (s *Server) lookupPeer(id uint64) bool {
	if id == s.cfg.ID || s.tr.Has(id) {
		return true
	}
	if !s.missing[id] {
		s.missing[id] = true
		s.log.Warn("no address known for peer: dropping its messages until the replicated state has it", "peer", id)
	}
	if !s.lookups[id] {
		s.lookups[id] = true
		req := raftkv.Request{ID: s.nextID(), Op: raftkv.OpGet, Key: PeerKey(id)}
		s.pending[req.ID] = func(r raftkv.Response) {
			delete(s.lookups, id)
			if r.Outcome == raftkv.OK && r.Value != nil && !s.tr.Has(id) {
				s.log.Info("peer address from the replicated state", "peer", id, "addr", *r.Value)
				s.tr.AddPeer(id, *r.Value)
				delete(s.missing, id)
			}
		}
		s.node.Request(req)
	}
	return false
}

func (s *Server) transportEvents() {
	s.evMu.Lock()
	evs := s.evq
	s.evq = nil
	s.evMu.Unlock()
	unreachable := map[uint64]bool{}
	for _, e := range evs {
		switch {
		case e.Snapshot:
			s.node.ReportSnapshot(e.Peer, e.OK)
		case !unreachable[e.Peer]:
			unreachable[e.Peer] = true
			s.node.ReportUnreachable(e.Peer)
		}
	}
}

func (s *Server) nextID() raftkv.RequestID {
	s.seq++
	return raftkv.RequestID{Client: s.session, Seq: s.seq}
}

func (s *Server) request(c call) {
	s.stats.Requests++
	if c.req.ID == (raftkv.RequestID{}) {
		c.req.ID = s.nextID()
	}
	if _, dup := s.pending[c.req.ID]; dup {
		c.done(raftkv.Response{ID: c.req.ID, Outcome: raftkv.Fail, Err: "a request with this client and seq is already in flight"})
		return
	}
	s.pending[c.req.ID] = c.done
	s.node.Request(c.req)
}

func (s *Server) respond(r raftkv.Response) {
	if done := s.pending[r.ID]; done != nil {
		delete(s.pending, r.ID)
		done(r)
	}
}

// failPending answers every request still waiting when the loop stops.
func (s *Server) failPending() {
	for id, done := range s.pending {
		done(raftkv.Response{ID: id, Outcome: raftkv.Unknown, Err: "node stopping"})
	}
	s.pending = nil
}

// confChange proposes a membership change; for an added node its address
// is first replicated under its PeerKey, so that every member can reach
// it (the conf change is applied after the address on every node).
func (s *Server) confChange(req ConfRequest, done func(raftkv.Response)) {
	var typ pb.ConfChangeType
	switch req.Op {
	case "add", "promote":
		typ = pb.ConfChangeAddNode
	case "add-learner":
		typ = pb.ConfChangeAddLearnerNode
	case "remove":
		typ = pb.ConfChangeRemoveNode
	}
	cc := &pb.ConfChangeV2{Changes: []*pb.ConfChangeSingle{{Type: &typ, NodeId: &req.ID}}}
	propose := func() {
		id := s.nextID()
		s.pending[id] = done
		s.node.ProposeConfChange(id, cc)
	}
	if req.PeerAddr == "" {
		propose()
		return
	}
	s.tr.AddPeer(req.ID, req.PeerAddr)
	put := raftkv.Request{ID: s.nextID(), Op: raftkv.OpPut, Key: PeerKey(req.ID), Value: req.PeerAddr}
	s.pending[put.ID] = func(r raftkv.Response) {
		if r.Outcome != raftkv.OK {
			r.Err = "replicating the new node's address: " + r.Err
			done(r)
			return
		}
		propose()
	}
	s.node.Request(put)
}

func (s *Server) status() Status {
	st := s.node.Status()
	out := Status{System: s.cfg.System.Name, ID: st.ID, Term: st.Term, Leader: st.Lead, State: st.State.String(), Commit: st.Commit,
		Applied: st.Applied, Voters: nonNil(st.Voters), Learners: nonNil(st.Learners), Removed: st.Removed, Replaying: st.Replaying}
	for _, l := range st.Learners {
		out.Learner = out.Learner || l == st.ID
	}
	return out
}

func nonNil(xs []uint64) []uint64 {
	if xs == nil {
		return []uint64{}
	}
	return append([]uint64(nil), xs...)
}

func (s *Server) setRate(r float64) {
	s.rate = r
	s.ticker.Reset(s.tickPeriod())
	s.log.Info("clock rate set", "rate", r, "tick", s.tickPeriod())
}

// coreLogger sends the core's (and raft's) log lines to slog.
type coreLogger struct{ l *slog.Logger }

func (c coreLogger) Logf(format string, args ...any) { c.l.Info(fmt.Sprintf(format, args...)) }
