package sim

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/splitbrain/splitbrain/harness/world"
)

// event is something that happens at a virtual time. Events at the same
// time run in the order they were scheduled (seq).
type event struct {
	at  time.Duration
	seq uint64
	fn  func()
}

// eventQueue is a binary min-heap of events by (at, seq), written out
// rather than through container/heap: the sim spends a good part of its
// time here, and the interface calls showed in profiles.
type eventQueue []*event

func (e *event) before(f *event) bool {
	return e.at < f.at || e.at == f.at && e.seq < f.seq
}

func (q *eventQueue) push(e *event) {
	h := append(*q, e)
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !h[i].before(h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
	*q = h
}

func (q *eventQueue) pop() *event {
	h := *q
	top := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h[n] = nil
	h = h[:n]
	for i := 0; ; {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && h[r].before(h[l]) {
			m = r
		}
		if !h[m].before(h[i]) {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	*q = h
	return top
}

// task is a goroutine that runs in lockstep with the loop: it runs only
// between a resume (loop → task) and a yield (task → loop).
type task struct {
	name string
	wake chan struct{}
	done bool
}

// loop is the discrete-event core: virtual time, the event queue, the
// run's one PRNG, and lockstep tasks.
type loop struct {
	now      time.Duration
	seq      uint64
	q        eventQueue
	rng      *rand.Rand
	seeded   *seededReader // rng as crypto/rand.Reader, for the run's goroutines
	yield    chan struct{}
	current  *task
	tasks    []*task
	stopping bool
	halted   error // set to stop the run early (an invariant violation)
	panicked error // a task's panic, returned by run
	events   uint64
	// inNode is the node whose code is running (a call into its
	// raftnode.Node), 0 outside one: a panic while it is set is the
	// node's own, turned into an error by nodePanic.
	inNode    world.NodeID
	nodeCalls int
	nodePanic func(id world.NodeID, r any, stack []byte) error
}

func newLoop(seed uint64) *loop {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	return &loop{rng: rng, seeded: &seededReader{rng: rng}, yield: make(chan struct{})}
}

// at schedules fn to run at time t (never in the past).
func (l *loop) at(t time.Duration, fn func()) {
	if t < l.now {
		t = l.now
	}
	l.seq++
	l.q.push(&event{at: t, seq: l.seq, fn: fn})
}

// after schedules fn to run d from now.
func (l *loop) after(d time.Duration, fn func()) { l.at(l.now+d, fn) }

// spawn starts fn as a lockstep task; it first runs at the current time,
// after the events already scheduled for it.
func (l *loop) spawn(name string, fn func()) *task {
	t := &task{name: name, wake: make(chan struct{})}
	l.tasks = append(l.tasks, t)
	go func() {
		stopSeeded := serveSeeded(l.seeded)
		defer func() {
			if r := recover(); r != nil {
				l.panicked = l.panicError(fmt.Sprintf("task %s panicked", name), r)
			}
			t.done = true
			stopSeeded()
			l.yield <- struct{}{}
		}()
		<-t.wake
		if l.stopping {
			return
		}
		fn()
	}()
	l.after(0, func() { l.resume(t) })
	return t
}

// resume runs task t until it blocks or ends. Called on the loop goroutine.
func (l *loop) resume(t *task) {
	if t.done {
		return
	}
	l.current = t
	t.wake <- struct{}{}
	<-l.yield
	l.current = nil
	if l.panicked != nil && l.halted == nil {
		l.halted = l.panicked
	}
}

// block parks the current task until something resumes it. Called on a
// task goroutine.
func (l *loop) block() {
	t := l.current
	if t == nil {
		panic("sim: a blocking call was made outside a task (use World.Run / Env.Go)")
	}
	if l.stopping {
		runtime.Goexit() // a deferred call of an unwinding task blocked again
	}
	l.yield <- struct{}{}
	<-t.wake
	if l.stopping {
		runtime.Goexit() // the run is over: unwind the task
	}
}

// sleep blocks the current task for d of virtual time.
func (l *loop) sleep(d time.Duration) {
	t := l.current
	if t == nil {
		panic("sim: Sleep called outside a task")
	}
	l.after(d, func() { l.resume(t) })
	l.block()
}

// panicError is the error for a recovered panic: the node's (nodePanic)
// if it came from a node's code, else the sim's, with the stack.
func (l *loop) panicError(what string, r any) error {
	stack := debug.Stack()
	if l.inNode != 0 && l.nodePanic != nil {
		if err := l.nodePanic(l.inNode, r, stack); err != nil {
			return err
		}
	}
	return fmt.Errorf("sim: %s: %v\n%s", what, r, stack)
}

// run executes events until main returns, the run is halted, or nothing is
// left to do; then it unwinds every task still blocked.
func (l *loop) run(main func()) (err error) {
	defer serveSeeded(l.seeded)()
	mt := l.spawn("main", main)
	defer l.stopTasks()
	defer func() {
		// A panic in an event (a node's broken invariant, a raft panic)
		// ends the run with an error rather than the process.
		if r := recover(); r != nil {
			err = l.panicError(fmt.Sprintf("panic at %v", l.now), r)
		}
	}()
	for !mt.done {
		if l.halted != nil {
			return l.halted
		}
		if len(l.q) == 0 {
			return fmt.Errorf("sim: deadlock at %v: no events left and the main task is blocked", l.now)
		}
		e := l.q.pop()
		l.now = e.at
		l.events++
		e.fn()
	}
	return l.halted
}

func (l *loop) stopTasks() {
	l.stopping = true
	for _, t := range l.tasks {
		if !t.done {
			t.wake <- struct{}{}
			<-l.yield
		}
	}
	l.tasks = nil
	l.q = nil
}

// group is a world.Group of lockstep tasks.
type group struct {
	l      *loop
	n      int
	waiter *task
}

func (g *group) Go(name string, fn func()) {
	g.n++
	g.l.spawn(name, func() {
		defer g.doneOne()
		fn()
	})
}

func (g *group) doneOne() {
	g.n--
	if g.n == 0 && g.waiter != nil {
		w := g.waiter
		g.waiter = nil
		g.l.after(0, func() { g.l.resume(w) })
	}
}

func (g *group) Wait() {
	if g.n == 0 {
		return
	}
	g.waiter = g.l.current
	g.l.block()
}

var _ world.Group = (*group)(nil)
