package proc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/splitbrain/splitbrain/harness/proc/node"
	"github.com/splitbrain/splitbrain/harness/raftkv"
	"github.com/splitbrain/splitbrain/harness/world"
)

// Config configures a process world. Zero fields take the defaults noted.
type Config struct {
	Seed  uint64
	Nodes int // initial cluster size, default 5
	// TickPeriod is a node's raft tick at clock rate 1 (default 100ms).
	TickPeriod time.Duration
	// Node is the template of every node's raftkv.Config: tick counts,
	// snapshots, request timeout and bug canaries are passed to the node
	// processes as flags (ID, Join and Logger are per node).
	Node raftkv.Config
	// Dir is where the nodes' data (Dir/data/n3) and logs (Dir/logs/n3.log)
	// go: the run's results directory. Default: a temporary directory,
	// removed by Close.
	Dir string
	// KeepData keeps Dir/data after Close (default: removed; the logs
	// stay).
	KeepData bool
	// System is the system under test (default: the reference node,
	// ReferenceSystem).
	System System
	// Binary is the splitbrain executable (default: this process's own):
	// the reference node's command line and the cleanup watchdog run it.
	// Any binary that takes `splitbrain node`'s command line will do: one
	// whose main is node.Main, or a test binary whose TestMain calls
	// node.ServeIfNode.
	Binary string
	// NodeSystem, if set, names the node system (a raftnode.System) the
	// reference node's processes must serve: a node whose status names
	// another is refused at start, so that a binary serving the wrong node
	// (or none) is never tested by mistake.
	NodeSystem string
	// RequestTimeout is how long a node may take over a client request
	// before answering unknown, for systems that take it on their command
	// line (default 4s).
	RequestTimeout time.Duration
	// ReadConsistency is "linearizable" (default) or a consistency the
	// system offers (Caps.ReadConsistency).
	ReadConsistency string
	// NoNetFaults runs without nftables (and so without root): partitions
	// and packet loss are refused with world.ErrUnsupported; delay,
	// duplication and reordering (done by the nodes) still work.
	NoNetFaults bool
	// PeerPort, APIPort and ClientPort are every node's raft, KV protocol
	// and own client ports on its own loopback address 127.0.0.(10+id).
	// Default: three free ports below the kernel's ephemeral port range,
	// picked by New.
	PeerPort, APIPort, ClientPort int
	// AdminTimeout bounds a membership change (default 5s); StartTimeout
	// a node's start (default 15s); StatusTimeout a status query
	// (default 500ms).
	AdminTimeout, StartTimeout, StatusTimeout time.Duration
	// NodeProcs is each node process's GOMAXPROCS. Default 1: a cluster
	// of processes on a few cores spends less on Go's scheduler that way
	// (measured by BenchmarkProcess); -1 leaves the environment's.
	NodeProcs int
	// NoWatchdog: by default a `splitbrain clean --watch` process removes
	// the run's nodes and nftables table if this process dies without
	// closing the world (SIGKILL); tests of the cleanup turn it off to see
	// what `clean` finds.
	NoWatchdog bool
}

func (c *Config) defaults() error {
	if c.Nodes == 0 {
		c.Nodes = 5
	}
	if c.Nodes < 1 || c.Nodes > maxNodeID {
		return fmt.Errorf("proc: cluster size %d: want 1 to %d", c.Nodes, maxNodeID)
	}
	if c.TickPeriod == 0 {
		c.TickPeriod = 100 * time.Millisecond
	}
	if c.AdminTimeout == 0 {
		c.AdminTimeout = 5 * time.Second
	}
	if c.StartTimeout == 0 {
		c.StartTimeout = 15 * time.Second
	}
	if c.NodeProcs == 0 {
		c.NodeProcs = 1
	}
	if c.StatusTimeout == 0 {
		c.StatusTimeout = 500 * time.Millisecond
	}
	if c.System == nil {
		c.System = ReferenceSystem()
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = 4 * time.Second
	}
	switch rc := c.ReadConsistency; {
	case rc == "":
		c.ReadConsistency = "linearizable"
	case rc != "linearizable" && !slices.Contains(c.System.Caps().ReadConsistency, rc):
		return fmt.Errorf("proc: %s offers no %q reads: %w", c.System.Name(), rc, world.ErrUnsupported)
	}
	if c.Binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("proc: finding the splitbrain binary: %w", err)
		}
		c.Binary = exe
	}
	return nil
}

// maxNodeID is the highest node ID: node n listens on 127.0.0.(10+n).
const maxNodeID = 245

// nodeIP is node id's loopback address.
func nodeIP(id world.NodeID) net.IP { return net.IPv4(127, 0, 0, byte(10+id)).To4() }

// World is the process world: every node a `splitbrain node` process with
// its own loopback address, store (a write-ahead log) and log; faults are signals,
// nftables rules and the nodes' admin API. Its methods are safe for
// concurrent use: tasks are goroutines.
type World struct {
	cfg     Config
	tag     runTag
	dir     string
	tempDir bool
	kv      *node.Client
	fw      *firewall // nil with NoNetFaults
	spawn   *spawner
	watch   *os.Process

	start   atomic.Int64 // UnixNano when Run began
	rng     *rand.Rand
	session atomic.Uint64

	mu      sync.Mutex
	nodes   map[world.NodeID]*nodeProc
	order   []world.NodeID // every node ever created, ascending
	nextID  world.NodeID
	reach   world.Reach
	packets []world.Packet // in force, in the order set
	errs    []error        // unexpected node exits, task panics
	closed  bool

	// stopping is closed by Close; background starters (see
	// keepStarting) wait on it and are waited for by starters.
	stopping chan struct{}
	starters sync.WaitGroup

	closeOnce sync.Once
	closeErr  error
}

var _ world.World = (*World)(nil)

// New starts a cluster of cfg.Nodes node processes (n1…nN) bootstrapped
// together and waits until each serves its API. Without CAP_NET_ADMIN it
// fails at once (unless cfg.NoNetFaults).
func New(cfg Config) (w *World, err error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	if _, err := os.Stat(cfg.Binary); err != nil {
		return nil, fmt.Errorf("proc: splitbrain binary: %w", err)
	}
	tag, err := newRunTag()
	if err != nil {
		return nil, fmt.Errorf("proc: %w", err)
	}
	w = &World{cfg: cfg, tag: tag, dir: cfg.Dir, nodes: map[world.NodeID]*nodeProc{},
		rng: rand.New(&lockedSource{src: rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)})}
	w.stopping = make(chan struct{})
	self := w // w is nil by the time a failed New's deferred cleanup runs
	if cfg.PeerPort == 0 || cfg.APIPort == 0 || cfg.ClientPort == 0 {
		if w.cfg.PeerPort, w.cfg.APIPort, w.cfg.ClientPort, err = pickPorts(tag); err != nil {
			return nil, err
		}
	}
	if !cfg.NoNetFaults {
		if w.fw, err = newFirewall(TablePrefix+tag.String(), cfg.System.Caps().DialerSends, uint16(w.cfg.PeerPort)); err != nil {
			return nil, err
		}
	}
	defer func() {
		if err != nil {
			self.Close()
			w = nil
		}
	}()
	if w.dir == "" {
		if w.dir, err = os.MkdirTemp("", TempPrefix+tag.String()+"-"); err != nil {
			return nil, fmt.Errorf("proc: %w", err)
		}
		w.tempDir = true
	}
	for _, sub := range []string{"data", "logs"} {
		if err := os.MkdirAll(filepath.Join(w.dir, sub), 0o755); err != nil {
			return nil, fmt.Errorf("proc: %w", err)
		}
	}
	w.kv = node.NewClient(64)
	w.spawn = newSpawner()
	if !cfg.NoWatchdog {
		if err := w.startWatchdog(); err != nil {
			return nil, err
		}
	}
	var started []*nodeProc
	for i := 0; i < cfg.Nodes; i++ {
		n := w.newNode(true, false)
		started = append(started, n)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(started))
	for i, n := range started {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = w.startNode(n)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return w, nil
}

// TempPrefix starts the name of a world's temporary directory (used when
// Config.Dir is empty): splitbrain-<run tag>-….
const TempPrefix = "splitbrain-"

// pickPorts finds a peer, an API and a client port free on every address,
// below the ephemeral port range: a node's outgoing connections then never
// use a peer port as their source port, which the one-way partition rules
// rely on.
func pickPorts(tag runTag) (peer, api, client int, err error) {
	low := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if v, err := strconv.Atoi(f[0]); err == nil {
				low = v
			}
		}
	}
	const base = 10000
	if low < base+300 {
		return 0, 0, 0, fmt.Errorf("proc: the ephemeral port range starts at %d; process mode needs free ports below it (above %d)", low, base)
	}
	span := (low - base) / 3
	start := int((uint64(tag.pid)*7919 + tag.n*104729) % uint64(span))
	for i := 0; i < span; i++ {
		p := base + 3*((start+i)%span)
		if portFree(p) && portFree(p+1) && portFree(p+2) {
			return p, p + 1, p + 2, nil
		}
	}
	return 0, 0, 0, fmt.Errorf("proc: no three free TCP ports in a row between %d and %d", base, low)
}

func portFree(p int) bool {
	ln, err := net.Listen("tcp", fmt.Sprintf("0.0.0.0:%d", p))
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

// System is the system under test.
func (w *World) System() System { return w.cfg.System }

// Dir is where the world keeps data/ and logs/.
func (w *World) Dir() string { return w.dir }

// Tag is the run tag naming the world's table, processes and temp dir.
func (w *World) Tag() string { return w.tag.String() }

// TableName is the world's nftables table ("" with NoNetFaults).
func (w *World) TableName() string {
	if w.fw == nil {
		return ""
	}
	return w.fw.name
}

// Mode implements world.World.
func (w *World) Mode() string { return "process" }

// Now implements world.Env: time since Run began.
func (w *World) Now() time.Duration {
	s := w.start.Load()
	if s == 0 {
		return 0
	}
	return time.Duration(time.Now().UnixNano() - s)
}

// Sleep implements world.Env.
func (w *World) Sleep(d time.Duration) { time.Sleep(d) }

// Go implements world.Env: fn runs as a goroutine; a panic in it is
// recorded and returned by Run.
func (w *World) Go(name string, fn func()) { go w.task(name, fn, nil) }

func (w *World) task(name string, fn func(), wg *sync.WaitGroup) {
	if wg != nil {
		defer wg.Done()
	}
	defer func() {
		if r := recover(); r != nil {
			w.fail(fmt.Errorf("task %s panicked: %v\n%s", name, r, debug.Stack()))
		}
	}()
	fn()
}

func (w *World) fail(err error) {
	w.mu.Lock()
	w.errs = append(w.errs, err)
	w.mu.Unlock()
}

// NewGroup implements world.Env.
func (w *World) NewGroup() world.Group { return &group{w: w} }

type group struct {
	w  *World
	wg sync.WaitGroup
}

func (g *group) Go(name string, fn func()) {
	g.wg.Add(1)
	go g.w.task(name, fn, &g.wg)
}

func (g *group) Wait() { g.wg.Wait() }

// Rand implements world.Env: the run's seeded PRNG, safe for concurrent
// use (the order of draws across tasks is up to the scheduler).
func (w *World) Rand() *rand.Rand { return w.rng }

type lockedSource struct {
	mu  sync.Mutex
	src rand.Source
}

func (s *lockedSource) Uint64() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.src.Uint64()
}

// Run implements world.World: main runs on the calling goroutine. The
// error reports panics of main or its tasks and nodes that exited without
// being told to.
func (w *World) Run(main func()) (err error) {
	w.start.CompareAndSwap(0, time.Now().UnixNano())
	func() {
		defer func() {
			if r := recover(); r != nil {
				w.fail(fmt.Errorf("main task panicked: %v\n%s", r, debug.Stack()))
			}
		}()
		main()
	}()
	w.mu.Lock()
	defer w.mu.Unlock()
	return errors.Join(w.errs...)
}

// Checks implements world.World: the process world cannot see inside its
// nodes.
func (w *World) Checks() map[string]int { return nil }

// Nodes implements world.World: the members, running or not.
func (w *World) Nodes() []world.NodeID {
	w.mu.Lock()
	defer w.mu.Unlock()
	var ids []world.NodeID
	for _, id := range w.order {
		if w.nodes[id].member {
			ids = append(ids, id)
		}
	}
	return ids
}

// Status implements world.World.
func (w *World) Status(id world.NodeID) (world.NodeStatus, bool) {
	n := w.lookup(id)
	if n == nil || !w.answering(n) {
		return world.NodeStatus{}, false
	}
	ctx, cancel := context.WithTimeout(context.Background(), w.cfg.StatusTimeout)
	defer cancel()
	st, err := w.kv.Status(ctx, n.apiAddr)
	if err != nil || st.ID != uint64(id) {
		return world.NodeStatus{}, false
	}
	ns := world.NodeStatus{ID: id, Term: st.Term, Leader: world.NodeID(st.Leader), State: st.State,
		Commit: st.Commit, Applied: st.Applied, Learner: st.Learner}
	for _, v := range st.Voters {
		ns.Voters = append(ns.Voters, world.NodeID(v))
	}
	return ns, true
}

// Leader implements world.World: the node that says it leads with the
// highest term (all members asked at once).
func (w *World) Leader() (world.NodeID, bool) {
	ids := w.Nodes()
	sts := make([]world.NodeStatus, len(ids))
	oks := make([]bool, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sts[i], oks[i] = w.Status(id)
		}()
	}
	wg.Wait()
	var best world.NodeID
	var term uint64
	for i, st := range sts {
		if oks[i] && st.State == "StateLeader" && st.Term >= term {
			best, term = ids[i], st.Term
		}
	}
	return best, best != 0
}

// WriteLogs implements world.World: the node logs are written to
// Dir/logs as the nodes run; they are copied to dir unless dir is that
// directory.
func (w *World) WriteLogs(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	w.mu.Lock()
	var logs []string
	for _, id := range w.order {
		logs = append(logs, w.nodes[id].logPath)
	}
	w.mu.Unlock()
	var errs []error
	for _, src := range logs {
		dst := filepath.Join(dir, filepath.Base(src))
		if a, err := os.Stat(src); err == nil {
			if b, err := os.Stat(dst); err == nil && os.SameFile(a, b) {
				continue
			}
		}
		errs = append(errs, copyFile(src, dst))
	}
	return errors.Join(errs...)
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// Close implements world.World: every node process is killed, the
// nftables table deleted, the data (unless KeepData) and a temporary
// directory removed. It is idempotent and safe to call from any
// goroutine, also while tasks still run.
func (w *World) Close() error {
	w.closeOnce.Do(func() { w.closeErr = w.close() })
	return w.closeErr
}

func (w *World) close() error {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	close(w.stopping)
	w.starters.Wait()
	w.mu.Lock()
	var running []*nodeProc
	for _, id := range w.order {
		running = append(running, w.nodes[id])
	}
	w.mu.Unlock()
	var errs []error
	for _, n := range running {
		errs = append(errs, w.kill(n, "CLOSE"))
	}
	if w.fw != nil {
		errs = append(errs, w.fw.close())
	}
	if w.kv != nil {
		w.kv.Close()
	}
	if w.watch != nil {
		w.watch.Kill()
		w.watch.Wait()
	}
	if w.spawn != nil {
		w.spawn.stop()
	}
	if w.dir != "" {
		switch {
		case w.tempDir:
			errs = append(errs, os.RemoveAll(w.dir))
		case !w.cfg.KeepData:
			errs = append(errs, os.RemoveAll(filepath.Join(w.dir, "data")))
		}
	}
	return errors.Join(errs...)
}

func (w *World) lookup(id world.NodeID) *nodeProc {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.nodes[id]
}

func (w *World) node(id world.NodeID) (*nodeProc, error) {
	if n := w.lookup(id); n != nil {
		return n, nil
	}
	return nil, fmt.Errorf("proc: no node %s", id)
}

// NodesCPU is the CPU time the running node processes have used (for
// benchmarks: where the time goes).
func (w *World) NodesCPU() time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	var total time.Duration
	for _, n := range w.nodes {
		if n.proc != nil {
			total += procCPU(n.proc.Pid)
		}
	}
	return total
}

// systemName names the system under test in messages: the user's node
// system when the reference launcher serves one, else the System's name.
func (w *World) systemName() string {
	if w.cfg.NodeSystem != "" {
		return w.cfg.NodeSystem
	}
	return w.cfg.System.Name()
}
