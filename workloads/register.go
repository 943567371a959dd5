package workloads

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/splitbrain/splitbrain/harness/history"
	"github.com/splitbrain/splitbrain/harness/world"
)

// Mix weighs the operations; a zero Mix means DefaultMix. A Mix written
// before deletes existed reads with Delete 0.
type Mix struct {
	Read   int `json:"read"`
	Write  int `json:"write"`
	CAS    int `json:"cas"`
	Delete int `json:"delete"`
}

// DefaultMix is the operation mix a zero Mix takes: reads 40, writes 30,
// cas 20, deletes 10.
var DefaultMix = Mix{Read: 40, Write: 30, CAS: 20, Delete: 10}

func (m Mix) total() int { return m.Read + m.Write + m.CAS + m.Delete }

// String is the mix as --mix takes it: "read/write/cas/delete", or
// "read/write/cas" when there are no deletes.
func (m Mix) String() string {
	if m.Delete == 0 {
		return fmt.Sprintf("%d/%d/%d", m.Read, m.Write, m.CAS)
	}
	return fmt.Sprintf("%d/%d/%d/%d", m.Read, m.Write, m.CAS, m.Delete)
}

// ParseMix reads operation weights "read/write/cas" or
// "read/write/cas/delete" (non-negative integers, not all zero); three
// weights mean no deletes, as before deletes existed.
func ParseMix(s string) (Mix, error) {
	parts := strings.Split(s, "/")
	if len(parts) != 3 && len(parts) != 4 {
		return Mix{}, fmt.Errorf("%q: want read/write/cas or read/write/cas/delete weights, like %s", s, DefaultMix)
	}
	var v [4]int
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > maxWeight {
			return Mix{}, fmt.Errorf("%q: weight %q is not an integer from 0 to %d", s, p, maxWeight)
		}
		v[i] = n
	}
	m := Mix{Read: v[0], Write: v[1], CAS: v[2], Delete: v[3]}
	if m.total() == 0 {
		return Mix{}, fmt.Errorf("%q: every weight is zero", s)
	}
	return m, nil
}

// maxWeight bounds one weight, so that sums cannot overflow.
const maxWeight = 1 << 20

// DefaultClients is the number of client workers a zero
// RegisterOptions.Clients takes: four for each node of a 5-node cluster.
// A worker does one operation at a time, so one stuck on a write to a cut
// off node (up to its timeout) issues nothing else meanwhile; with four a
// node, a node that is cut off, deposed or lagging still has clients
// reading from it through most of a fault — the window in which stale
// reads and wrong outcomes show.
const DefaultClients = 20

// RegisterOptions configures the register workload. Zero fields take the
// defaults noted.
type RegisterOptions struct {
	Clients   int           `json:"clients"`     // concurrent workers, default 20
	Keys      int           `json:"keys"`        // active keys, default 8
	OpsPerKey int           `json:"ops_per_key"` // operations before a key is retired, default 200
	Rate      float64       `json:"rate"`        // target operations per second over all workers, default 200
	Mix       Mix           `json:"mix"`         // default DefaultMix
	Timeout   time.Duration `json:"timeout_ns"`  // per operation, default 5s
}

// Defaults fills in zero fields.
func (o *RegisterOptions) Defaults() {
	if o.Clients == 0 {
		o.Clients = DefaultClients
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
		o.Mix = DefaultMix
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
	case o.Mix.Read < 0 || o.Mix.Write < 0 || o.Mix.CAS < 0 || o.Mix.Delete < 0 || o.Mix.total() == 0 ||
		max(o.Mix.Read, o.Mix.Write, o.Mix.CAS, o.Mix.Delete) > maxWeight:
		return fmt.Errorf("operation mix must be weights from 0 to %d, not all zero, got %s", maxWeight, o.Mix)
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
	ops    int       // operations invoked on it
	next   int       // next unique value
	recent []*string // the last few values written, cas'd in or deleted (nil): cas expectations
}

// Register is a running register workload. Its workers share the key
// state under mu: in the process world they are real goroutines.
type Register struct {
	mu      sync.Mutex
	opts    RegisterOptions
	w       world.World
	rec     Recorder
	active  []*keyState
	nextID  int
	rate    float64
	procs   int              // next fresh process number
	ops     int              // operations invoked so far
	pins    []world.NodeID   // each worker's node (0: not chosen yet)
	seen    [][]world.NodeID // the members each worker saw last
	recheck []time.Duration  // when each worker looks again (0: on a change)
}

// NewRegister prepares the workload; Run starts it.
func NewRegister(w world.World, rec Recorder, opts RegisterOptions) (*Register, error) {
	opts.Defaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	r := &Register{opts: opts, w: w, rec: rec, rate: opts.Rate, procs: opts.Clients, pins: make([]world.NodeID, opts.Clients), seen: make([][]world.NodeID, opts.Clients), recheck: make([]time.Duration, opts.Clients)}
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
//
// Every value written to a key is unique (a counter per key), so a read
// tells which write it saw; a delete writes no value, and the next write
// after it writes a new one. A cas expects one of the key's last few
// values, absent included once a delete is among them (or before the key
// was ever written).
func (r *Register) pick() (history.Event, world.Op) {
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
	n := rng.IntN(m.total())
	switch {
	case n < m.Read:
		return history.Event{F: history.FRead, Key: k.name}, world.Op{Kind: world.Get, Key: k.name}
	case n < m.Read+m.Write:
		v := k.fresh()
		k.remember(&v)
		return history.Event{F: history.FWrite, Key: k.name, Value: history.Str(v)}, world.Op{Kind: world.Put, Key: k.name, Value: v}
	case n < m.Read+m.Write+m.CAS:
		v := k.fresh()
		var exp *string
		if len(k.recent) > 0 {
			exp = k.recent[rng.IntN(len(k.recent))]
		}
		k.remember(&v)
		return history.Event{F: history.FCAS, Key: k.name, Prev: exp, Value: history.Str(v)},
			world.Op{Kind: world.CAS, Key: k.name, Value: v, Expected: exp}
	default:
		k.remember(nil)
		return history.Event{F: history.FDelete, Key: k.name}, world.Op{Kind: world.Delete, Key: k.name}
	}
}

// fresh returns the key's next unique value.
func (k *keyState) fresh() string {
	v := strconv.Itoa(k.next)
	k.next++
	return v
}

// remember keeps v (nil: absent) among the key's recent values.
func (k *keyState) remember(v *string) {
	k.recent = append(k.recent, v)
	if len(k.recent) > 3 {
		k.recent = k.recent[1:]
	}
}
