package harness

import (
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/splitbrain/splitbrain/harness/history"
	"github.com/splitbrain/splitbrain/harness/world"
	"github.com/splitbrain/splitbrain/nemesis"
)

// goWorld is a world whose tasks are goroutines, as in the process world,
// around a one-node store that answers every request at once. It runs
// drive without root or node processes, so that the race detector sees
// what the process world's goroutines share. Its clock is virtual: it
// stands still while any task runs, and when every task waits (in Sleep,
// or the caller in a group's Wait) it jumps to the earliest wake-up, so
// what the test sees does not depend on how fast the machine runs the
// goroutines (between wake-ups they run as concurrently as the process
// world's). Methods it does not define are those of the nil world.World
// it embeds: a call of one panics, which fails the test (drive must not
// need it).
type goWorld struct {
	world.World
	mu       sync.Mutex // guards everything below
	rng      *rand.Rand
	kv       map[string]string
	now      time.Duration
	running  int        // tasks not waiting; the caller of drive is one
	sleepers []*sleeper // tasks waiting in Sleep
}

type sleeper struct {
	wake time.Duration
	ch   chan struct{}
}

func newGoWorld() *goWorld {
	return &goWorld{rng: rand.New(rand.NewPCG(1, 2)), kv: map[string]string{}, running: 1}
}

func (w *goWorld) Mode() string { return "process" }

func (w *goWorld) Now() time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.now
}

func (w *goWorld) Sleep(d time.Duration) {
	w.mu.Lock()
	s := &sleeper{wake: w.now + max(d, 0), ch: make(chan struct{})}
	w.sleepers = append(w.sleepers, s)
	w.running--
	w.advance()
	w.mu.Unlock()
	<-s.ch
}

// advance, with mu held: when no task runs, the clock jumps to the
// earliest wake-up and every task due then runs again.
func (w *goWorld) advance() {
	if w.running > 0 || len(w.sleepers) == 0 {
		return
	}
	next := w.sleepers[0].wake
	for _, s := range w.sleepers {
		next = min(next, s.wake)
	}
	w.now = max(w.now, next)
	waiting := w.sleepers[:0]
	for _, s := range w.sleepers {
		if s.wake <= w.now {
			w.running++
			close(s.ch)
		} else {
			waiting = append(waiting, s)
		}
	}
	w.sleepers = waiting
}

// start counts a new task as running, and end counts it out.
func (w *goWorld) start() {
	w.mu.Lock()
	w.running++
	w.mu.Unlock()
}

func (w *goWorld) end() {
	w.mu.Lock()
	w.running--
	w.advance()
	w.mu.Unlock()
}

func (w *goWorld) Go(name string, fn func()) {
	w.start()
	go func() { defer w.end(); fn() }()
}
func (w *goWorld) NewGroup() world.Group { return &goGroup{w: w} }
func (w *goWorld) Nodes() []world.NodeID { return []world.NodeID{1} }
func (w *goWorld) Client() world.Client  { return goClient{w} }
func (w *goWorld) Leader() (world.NodeID, bool) {
	return 1, true
}
func (w *goWorld) Status(id world.NodeID) (world.NodeStatus, bool) {
	return world.NodeStatus{ID: 1, Leader: 1, State: "StateLeader", Voters: []world.NodeID{1}}, id == 1
}
func (w *goWorld) SetReach(world.Reach) error   { return nil }
func (w *goWorld) SetPacket(world.Packet) error { return nil }

// Rand is shared by the tasks, as the process world's (locked) source is.
func (w *goWorld) Rand() *rand.Rand { return rand.New(lockedSource{w}) }

type lockedSource struct{ w *goWorld }

func (s lockedSource) Uint64() uint64 {
	s.w.mu.Lock()
	defer s.w.mu.Unlock()
	return s.w.rng.Uint64()
}

type goGroup struct {
	w  *goWorld
	wg sync.WaitGroup
}

func (g *goGroup) Go(name string, fn func()) {
	g.wg.Add(1)
	g.w.Go(name, func() { defer g.wg.Done(); fn() })
}

// Wait counts its caller out while it waits, so the clock can move on.
func (g *goGroup) Wait() {
	g.w.end()
	g.wg.Wait()
	g.w.start()
}

type goClient struct{ w *goWorld }

func (c goClient) Do(node world.NodeID, op world.Op, timeout time.Duration) world.Result {
	c.w.mu.Lock()
	defer c.w.mu.Unlock()
	cur, ok := c.w.kv[op.Key]
	switch op.Kind {
	case world.Get:
		if !ok {
			return world.Result{Outcome: world.OK}
		}
		return world.Result{Outcome: world.OK, Value: &cur}
	case world.Put:
		c.w.kv[op.Key] = op.Value
	case world.Delete:
		delete(c.w.kv, op.Key)
	case world.CAS:
		if (op.Expected == nil) == ok || op.Expected != nil && *op.Expected != cur {
			return world.Result{Outcome: world.Fail, Err: "cas: value did not match"}
		}
		c.w.kv[op.Key] = op.Value
	}
	return world.Result{Outcome: world.OK}
}

// memRecorder keeps a history in memory for a goroutine world.
type memRecorder struct {
	mu     sync.Mutex
	w      world.World
	events []history.Event
}

func (m *memRecorder) Record(e history.Event) history.Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	e.Index, e.Time = int64(len(m.events)), int64(m.w.Now())
	m.events = append(m.events, e)
	return e
}

// TestDriveRaceFree runs drive in a world whose tasks are goroutines, as
// the process world's are: the nemesis task records when it healed while
// the client tasks read it to know when to stop. Under -race (CI runs
// `go test -race ./harness`) a plain variable there is a data race and
// fails the test; without -race the test still shows that drive ends and
// that the clients ran past the final heal.
func TestDriveRaceFree(t *testing.T) {
	w := newGoWorld()
	tt := Test{Mode: "process", Seed: 1, Duration: Duration(5 * time.Second), LivenessBound: Duration(time.Second)}
	tt.Defaults()
	tt.Workload.Clients = 4
	tt.Workload.Rate = 400
	rec := &memRecorder{w: w}
	if err := drive(w, &tt, nemesis.Schedule{}, rec, func() bool { return false }); err != nil {
		t.Fatal(err)
	}
	healed, lastInvoke := int64(-1), int64(-1)
	for _, e := range rec.events {
		switch {
		case e.Process == history.Nemesis && e.F == history.FaultHeal && healed < 0:
			healed = e.Time
		case e.Process != history.Nemesis && e.Type == history.Invoke:
			lastInvoke = e.Time
		}
	}
	if healed < 0 || lastInvoke < healed {
		t.Fatalf("final heal at %v, last operation invoked at %v: want operations after the heal (%d events)",
			time.Duration(healed), time.Duration(lastInvoke), len(rec.events))
	}
}
