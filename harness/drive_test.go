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
// what the process world's goroutines share. Its clock is the wall clock
// sped up by goWorldSpeed; only how many operations run depends on it.
// Methods it does not define are those of the nil world.World it embeds:
// a call of one panics, which fails the test (drive must not need it).
type goWorld struct {
	world.World
	start time.Time
	mu    sync.Mutex // guards rng and kv
	rng   *rand.Rand
	kv    map[string]string
}

const goWorldSpeed = 100

func newGoWorld() *goWorld {
	return &goWorld{start: time.Now(), rng: rand.New(rand.NewPCG(1, 2)), kv: map[string]string{}}
}

func (w *goWorld) Mode() string              { return "process" }
func (w *goWorld) Now() time.Duration        { return time.Since(w.start) * goWorldSpeed }
func (w *goWorld) Sleep(d time.Duration)     { time.Sleep(d / goWorldSpeed) }
func (w *goWorld) Go(name string, fn func()) { go fn() }
func (w *goWorld) NewGroup() world.Group     { return &goGroup{} }
func (w *goWorld) Nodes() []world.NodeID     { return []world.NodeID{1} }
func (w *goWorld) Client() world.Client      { return goClient{w} }
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

type goGroup struct{ wg sync.WaitGroup }

func (g *goGroup) Go(name string, fn func()) {
	g.wg.Add(1)
	go func() { defer g.wg.Done(); fn() }()
}
func (g *goGroup) Wait() { g.wg.Wait() }

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
