package workloads

import (
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/splitbrain/splitbrain/harness/history"
	"github.com/splitbrain/splitbrain/harness/world"
)

// Mix weighs the operations; a zero Mix means 40/40/20.
type Mix struct {
	Read  int `json:"read"`
	Write int `json:"write"`
	CAS   int `json:"cas"`
}

// RegisterOptions configures the register workload. Zero fields take the
// defaults noted.
type RegisterOptions struct {
	Clients   int           `json:"clients"`     // concurrent workers, default 10
	Keys      int           `json:"keys"`        // active keys, default 8
	OpsPerKey int           `json:"ops_per_key"` // operations before a key is retired, default 200
	Rate      float64       `json:"rate"`        // target operations per second over all workers, default 200
	Mix       Mix           `json:"mix"`         // default read 40, write 40, cas 20
	Timeout   time.Duration `json:"timeout_ns"`  // per operation, default 5s
}

// Defaults fills in zero fields.
func (o *RegisterOptions) Defaults() {
	if o.Clients == 0 {
		o.Clients = 10
	}
	if o.Keys == 0 {
		o.Keys = 8
	}
	if o.OpsPerKey == 0 {
		o.OpsPerKey = 200
	}
	if o.Rate == 0 {
		o.Rate = 200
	}
	if o.Mix == (Mix{}) {
		o.Mix = Mix{Read: 40, Write: 40, CAS: 20}
	}
	if o.Timeout == 0 {
		o.Timeout = 5 * time.Second
	}
}

// Validate reports options that cannot work.
func (o RegisterOptions) Validate() error {
	switch {
	case o.Clients < 1:
		return fmt.Errorf("clients must be at least 1, got %d", o.Clients)
	case o.Keys < 1:
		return fmt.Errorf("keys must be at least 1, got %d", o.Keys)
	case o.OpsPerKey < 1:
		return fmt.Errorf("ops per key must be at least 1, got %d", o.OpsPerKey)
	case o.Rate <= 0:
		return fmt.Errorf("rate must be positive, got %v", o.Rate)
	case o.Mix.Read < 0 || o.Mix.Write < 0 || o.Mix.CAS < 0 || o.Mix.Read+o.Mix.Write+o.Mix.CAS == 0:
		return fmt.Errorf("operation mix must be non-negative and not all zero, got %d/%d/%d", o.Mix.Read, o.Mix.Write, o.Mix.CAS)
	case o.Timeout <= 0:
		return fmt.Errorf("op timeout must be positive, got %v", o.Timeout)
	}
	return nil
}

// Recorder takes history events (a *history.Recorder).
type Recorder interface {
	Record(history.Event) history.Event
}

// keyState is one register key's generator state.
type keyState struct {
	name   string
	ops    int      // operations invoked on it
	next   int      // next unique value
	recent []string // the last few values written or cas'd in (cas expectations)
}

// Register is a running register workload. Its workers share the key
// state under mu: in the process world they are real goroutines.
type Register struct {
	mu     sync.Mutex
	opts   RegisterOptions
	w      world.World
	rec    Recorder
	active []*keyState
	nextID int
	rate   float64
	procs  int // next fresh process number
	ops    int // operations invoked so far
}

// NewRegister prepares the workload; Run starts it.
func NewRegister(w world.World, rec Recorder, opts RegisterOptions) (*Register, error) {
	opts.Defaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	r := &Register{opts: opts, w: w, rec: rec, rate: opts.Rate, procs: opts.Clients}
	for i := 0; i < opts.Keys; i++ {
		r.active = append(r.active, r.newKey())
	}
	return r, nil
}

func (r *Register) newKey() *keyState {
	k := &keyState{name: "k" + strconv.Itoa(r.nextID), next: 1}
	r.nextID++
	return k
}

// SetRate changes the target rate (operations per second over all
// workers) while the workload runs.
func (r *Register) SetRate(rate float64) {
	if rate > 0 {
		r.mu.Lock()
		r.rate = rate
		r.mu.Unlock()
	}
}

func (r *Register) interval() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return time.Duration(float64(r.opts.Clients) / r.rate * float64(time.Second))
}

// freshProcess hands out the next unused process number.
func (r *Register) freshProcess() history.Process {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := history.Process(r.procs)
	r.procs++
	return p
}

// Run starts the workers as tasks of g and returns at once; they stop
// when stop() reports true (checked before each operation). Wait on g.
func (r *Register) Run(g world.Group, stop func() bool) {
	for i := 0; i < r.opts.Clients; i++ {
		g.Go(fmt.Sprintf("client-%d", i), func() { r.worker(i, stop) })
	}
}

// pick chooses the next operation. It draws from the world's PRNG only.
func (r *Register) pick() (*keyState, history.Event, world.Op) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rng := r.w.Rand()
	ki := rng.IntN(len(r.active))
	k := r.active[ki]
	k.ops++
	r.ops++
	if k.ops >= r.opts.OpsPerKey {
		r.active[ki] = r.newKey() // retire it: this is its last operation
	}
	m := r.opts.Mix
	n := rng.IntN(m.Read + m.Write + m.CAS)
	switch {
	case n < m.Read:
		return k, history.Event{F: history.FRead, Key: k.name}, world.Op{Kind: world.Get, Key: k.name}
	case n < m.Read+m.Write:
		v := strconv.Itoa(k.next)
		k.next++
		k.remember(v)
		return k, history.Event{F: history.FWrite, Key: k.name, Value: history.Str(v)}, world.Op{Kind: world.Put, Key: k.name, Value: v}
	default:
		v := strconv.Itoa(k.next)
		k.next++
		var exp *string
		if len(k.recent) > 0 {
			exp = history.Str(k.recent[rng.IntN(len(k.recent))])
		}
		k.remember(v)
		return k, history.Event{F: history.FCAS, Key: k.name, Prev: exp, Value: history.Str(v)},
			world.Op{Kind: world.CAS, Key: k.name, Value: v, Expected: exp}
	}
}

func (k *keyState) remember(v string) {
	k.recent = append(k.recent, v)
	if len(k.recent) > 3 {
		k.recent = k.recent[1:]
	}
}

func (r *Register) worker(i int, stop func() bool) {
	w := r.w
	proc := history.Process(i)
	client := w.Client()
	next := w.Now()
	for !stop() {
		interval := r.interval()
		// Jitter the pace (±50%) so workers do not march in step.
		next += interval/2 + time.Duration(w.Rand().Int64N(int64(interval)+1))
		if d := next - w.Now(); d > 0 {
			w.Sleep(d)
		} else {
			next = w.Now() // behind schedule: do not burst to catch up
		}
		if stop() {
			return
		}
		nodes := w.Nodes()
		if len(nodes) == 0 {
			return
		}
		node := nodes[i%len(nodes)]
		_, inv, op := r.pick()
		inv.Type, inv.Process, inv.Node = history.Invoke, proc, node.String()
		r.rec.Record(inv)
		res := client.Do(node, op, r.opts.Timeout)
		done := inv
		done.Error = res.Err
		switch res.Outcome {
		case world.OK:
			done.Type = history.OK
			if op.Kind == world.Get {
				done.Value = res.Value
			}
		case world.Fail:
			done.Type = history.Fail
		default:
			done.Type = history.Info
		}
		r.rec.Record(done)
		if done.Type == history.Info {
			// The operation may still take effect at any time: this
			// process can never invoke again. Carry on as a new one.
			proc = r.freshProcess()
			client = w.Client()
		}
	}
}
