package proc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/splitbrain/splitbrain/harness/proc/node"
	"github.com/splitbrain/splitbrain/harness/raftkv"
	"github.com/splitbrain/splitbrain/harness/world"
)

// nodeProc is one node: its addresses and directories, and the process
// running it (if any). Lifecycle operations on a node are serialized by
// op; the fields below it are guarded by World.mu.
type nodeProc struct {
	id                            world.NodeID
	peerAddr, apiAddr, clientAddr string
	dataDir, logPath              string
	bootstrap, join               bool // how it first started

	op chan struct{} // a one-slot lock: lifecycle operations

	member   bool
	proc     *os.Process
	exited   chan struct{} // closed when proc has exited
	waitErr  error
	killed   bool // the exit is expected (crash, remove, close)
	starting bool // an exit now is startNode's to report
	paused   bool
	wiped    bool
	leaving  bool // being removed: it may exit on its own (etcd does)
	rate     float64
	stale    bool // clock rate or packet faults not yet delivered to the process
}

func (n *nodeProc) lock()   { n.op <- struct{}{} }
func (n *nodeProc) unlock() { <-n.op }

// newNode allocates the next node ID and its place on disk and network.
func (w *World) newNode(bootstrap, join bool) *nodeProc {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.nextID++
	id := w.nextID
	n := &nodeProc{id: id, bootstrap: bootstrap, join: join, member: true, rate: 1, op: make(chan struct{}, 1),
		peerAddr:   fmt.Sprintf("%s:%d", nodeIP(id), w.cfg.PeerPort),
		apiAddr:    fmt.Sprintf("%s:%d", nodeIP(id), w.cfg.APIPort),
		clientAddr: fmt.Sprintf("%s:%d", nodeIP(id), w.cfg.ClientPort),
		dataDir:    filepath.Join(w.dir, "data", id.String()),
		logPath:    filepath.Join(w.dir, "logs", id.String()+".log")}
	w.nodes[id] = n
	w.order = append(w.order, id)
	return n
}

// running reports whether n's process is up (paused or not).
func (w *World) running(n *nodeProc) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return n.proc != nil
}

// answering reports whether n can answer: running and not paused.
func (w *World) answering(n *nodeProc) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return n.proc != nil && !n.paused
}

// mark writes a harness line into a node's log, in the nodes' format.
func (w *World) mark(n *nodeProc, format string, args ...any) {
	f, err := os.OpenFile(n.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "time=%s level=INFO msg=%q source=harness\n", time.Now().Format(time.RFC3339Nano), "harness: "+fmt.Sprintf(format, args...))
}

// spec is n's NodeSpec as of now: the members and settings in force.
func (w *World) spec(n *nodeProc) NodeSpec {
	w.mu.Lock()
	defer w.mu.Unlock()
	sp := NodeSpec{ID: uint64(n.id), Name: n.id.String(), Host: nodeIP(n.id).String(),
		PeerPort: w.cfg.PeerPort, APIPort: w.cfg.APIPort, ClientPort: w.cfg.ClientPort,
		PeerAddr: n.peerAddr, APIAddr: n.apiAddr, ClientAddr: n.clientAddr,
		DataDir: n.dataDir, LogFile: n.logPath, Bootstrap: n.bootstrap, Join: n.join,
		Tick: w.cfg.TickPeriod, ClockRate: n.rate, Seed: w.cfg.Seed, Raft: w.cfg.Node,
		RequestTimeout: w.cfg.RequestTimeout, ReadConsistency: w.cfg.ReadConsistency,
		Splitbrain: w.cfg.Binary, Cluster: "splitbrain-" + w.tag.String()}
	for _, id := range w.order {
		o := w.nodes[id]
		if !o.member && id != n.id {
			continue
		}
		p := Peer{ID: uint64(id), Name: id.String(), Host: nodeIP(id).String(), PeerAddr: o.peerAddr, PeerPort: w.cfg.PeerPort}
		sp.Members = append(sp.Members, p)
		if id != n.id {
			sp.Peers = append(sp.Peers, p)
		}
	}
	return sp
}

// nodeGID is the group ID node id's processes run with: the firewall
// tells the nodes' packets apart by it (see firewall). The processes stay
// root (uid 0); only their group differs.
func nodeGID(id world.NodeID) uint32 { return gidBase + uint32(id) }

// gidBase is far above any group a system defines.
const gidBase = 1_900_000_000

// errClosed is a start refused because the world is closing.
var errClosed = errors.New("proc: world closed")

// Exit codes of a node process the harness tells apart (node's).
const (
	ExitDataLost = node.ExitDataLost // raftnode.ErrDataLost: replace the node under a new ID
	ExitCorrupt  = node.ExitCorrupt  // the store failed its checks
)

// startNode starts n's process and waits until its API answers.
func (w *World) startNode(n *nodeProc) error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return errClosed
	}
	w.mu.Unlock()
	logf, err := os.OpenFile(n.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("proc: %s log: %w", n.id, err)
	}
	defer logf.Close()
	argv, err := w.cfg.System.Command(w.spec(n))
	if err != nil {
		return fmt.Errorf("proc: %s: %w", n.id, err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), RunEnv+"="+w.tag.String())
	if w.cfg.NodeProcs > 0 {
		cmd.Env = append(cmd.Env, fmt.Sprintf("GOMAXPROCS=%d", w.cfg.NodeProcs))
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group (pause and kill reach all of it; a terminal's
	// Ctrl-C does not), and killed when the harness dies.
	// Its own group ID marks its packets for the firewall.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL,
		Credential: &syscall.Credential{Uid: uint32(os.Geteuid()), Gid: nodeGID(n.id), Groups: []uint32{}}}
	w.mark(n, "START %s", strings.Join(cmd.Args, " "))
	if err := w.spawn.start(cmd); err != nil {
		return fmt.Errorf("proc: start %s: %w", n.id, err)
	}
	exited := make(chan struct{})
	w.mu.Lock()
	n.proc, n.exited, n.waitErr, n.killed, n.paused, n.starting = cmd.Process, exited, nil, false, false, true
	w.mu.Unlock()
	go w.reap(n, cmd, exited)
	err = w.awaitReady(n, exited)
	w.mu.Lock()
	n.starting = false
	w.mu.Unlock()
	if err != nil {
		w.kill(n, "START FAILED")
		return err
	}
	return nil
}

// reap waits for a node process to exit and records how.
func (w *World) reap(n *nodeProc, cmd *exec.Cmd, exited chan struct{}) {
	err := cmd.Wait()
	w.mu.Lock()
	n.waitErr = err
	expected := n.killed || n.starting || n.leaving
	if n.exited == exited {
		n.proc = nil
	}
	if !expected && !w.closed {
		w.errs = append(w.errs, fmt.Errorf("proc: %s exited unexpectedly (%v): %s", n.id, err, lastLines(n.logPath, 3)))
	}
	w.mu.Unlock()
	close(exited)
	if !expected {
		w.mark(n, "EXITED unexpectedly: %v", err)
	}
}

// awaitReady polls the node's status until it answers, its process exits
// or the start timeout passes.
func (w *World) awaitReady(n *nodeProc, exited chan struct{}) error {
	deadline := time.Now().Add(w.cfg.StartTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		st, err := w.kv.Status(ctx, n.apiAddr)
		cancel()
		if err == nil && st.ID == uint64(n.id) {
			if want := w.cfg.NodeSystem; want != "" && st.System != want {
				return fmt.Errorf("proc: %s serves system %q, want %q: %s must serve it (node.Main, or node.ServeIfNode first in a test binary's TestMain)",
					n.id, st.System, want, w.cfg.Binary)
			}
			return nil
		}
		select {
		case <-exited:
			w.mu.Lock()
			werr := n.waitErr
			w.mu.Unlock()
			var ee *exec.ExitError
			if errors.As(werr, &ee) {
				switch ee.ExitCode() {
				case ExitDataLost:
					return fmt.Errorf("proc: %s: %w", n.id, raftkv.ErrDataLost)
				case ExitCorrupt:
					return fmt.Errorf("proc: %s refused its store: %s", n.id, lastLines(n.logPath, 1))
				}
			}
			hint := ""
			if w.cfg.NodeSystem != "" {
				hint = fmt.Sprintf(" (does %s serve %s? node.Main, or node.ServeIfNode first in a test binary's TestMain)", w.cfg.Binary, w.cfg.NodeSystem)
			}
			return fmt.Errorf("proc: %s exited during start (%v)%s: %s", n.id, werr, hint, lastLines(n.logPath, 3))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("proc: %s did not answer on %s within %v: %s", n.id, n.apiAddr, w.cfg.StartTimeout, lastLines(n.logPath, 3))
		}
	}
}

// down reports whether n's process is not running now (never started,
// or exited).
func (w *World) down(n *nodeProc) bool {
	w.mu.Lock()
	p, exited := n.proc, n.exited
	w.mu.Unlock()
	if p == nil || exited == nil {
		return true
	}
	select {
	case <-exited:
		return true
	default:
		return false
	}
}

// kill SIGKILLs n's process group and waits for the process to exit.
func (w *World) kill(n *nodeProc, why string) error {
	w.mu.Lock()
	p, exited := n.proc, n.exited
	if p != nil {
		n.killed = true
	}
	w.mu.Unlock()
	if p == nil {
		return nil
	}
	w.mark(n, "%s: SIGKILL", why)
	if err := syscall.Kill(-p.Pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("proc: kill %s (pid %d): %w", n.id, p.Pid, err)
	}
	select {
	case <-exited:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("proc: %s (pid %d) did not exit within 10s of SIGKILL", n.id, p.Pid)
	}
}

// signal sends sig to n's process group.
func (w *World) signal(n *nodeProc, sig syscall.Signal) error {
	w.mu.Lock()
	p := n.proc
	w.mu.Unlock()
	if p == nil {
		return nil
	}
	if err := syscall.Kill(-p.Pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("proc: %v to %s (pid %d): %w", sig, n.id, p.Pid, err)
	}
	return nil
}

// lastLines returns the last n non-empty lines of a file, joined.
func lastLines(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte(" | ")))
}

// spawner starts processes from one OS thread that lives as long as the
// world: Pdeathsig fires when the thread that started a child exits, not
// the process, and Go may retire threads.
type spawner struct {
	reqs chan spawnReq
	done chan struct{}
}

type spawnReq struct {
	cmd *exec.Cmd
	err chan error
}

func newSpawner() *spawner {
	s := &spawner{reqs: make(chan spawnReq), done: make(chan struct{})}
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		defer close(s.done)
		for r := range s.reqs {
			r.err <- r.cmd.Start()
		}
	}()
	return s
}

func (s *spawner) start(cmd *exec.Cmd) error {
	r := spawnReq{cmd: cmd, err: make(chan error, 1)}
	s.reqs <- r
	return <-r.err
}

func (s *spawner) stop() {
	close(s.reqs)
	<-s.done
}

// startWatchdog starts `splitbrain clean --watch <tag>`: it waits for this
// process to die and then removes what the run left.
func (w *World) startWatchdog() error {
	cmd := exec.Command(w.cfg.Binary, "clean", "--watch", w.tag.String())
	logf, err := os.OpenFile(filepath.Join(w.dir, "logs", "watchdog.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("proc: watchdog log: %w", err)
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := w.spawn.start(cmd); err != nil {
		return fmt.Errorf("proc: start the cleanup watchdog: %w", err)
	}
	w.watch = cmd.Process
	return nil
}
