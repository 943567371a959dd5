package sim

import (
	"bytes"
	cryptorand "crypto/rand"
	"io"
	"math/rand/v2"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
)

// etcd raft draws its randomized election timeouts with
// rand.Int(crypto/rand.Reader, …) (go.etcd.io/raft/v3 raft.go, globalRand),
// and crypto/rand.Read reads through crypto/rand.Reader whenever it is not
// the default one. For a run to repeat exactly, raft must draw from the
// run's PRNG; for the rest of the process, crypto/rand must stay what it
// is. So the sim installs, once, before any goroutine can read the
// variable, a reader that dispatches by goroutine: the goroutines of a
// running World (its loop goroutine and its lockstep tasks) read their
// run's seeded stream, every other goroutine the reader that was there
// before. Another goroutine reading crypto/rand during a run neither
// shifts the run's stream nor races on the variable, and independent runs
// may overlap: each draws from its own stream.
func init() {
	dispatch.outside = cryptorand.Reader
	cryptorand.Reader = dispatch
}

// dispatchReader is crypto/rand.Reader while this package is linked in.
type dispatchReader struct {
	outside io.Reader    // the reader crypto/rand had: the real one
	active  atomic.Int64 // goroutines registered; 0 is the fast path
	runs    sync.Map     // goroutine id (uint64) -> *seededReader
}

var dispatch = &dispatchReader{}

func (d *dispatchReader) Read(p []byte) (int, error) {
	if d.active.Load() > 0 {
		if r, ok := d.runs.Load(goid()); ok {
			return r.(*seededReader).Read(p)
		}
	}
	return d.outside.Read(p)
}

// serveSeeded makes crypto/rand.Reader serve r to the calling goroutine
// until the returned function is called (on the same goroutine), which
// restores what it was served before (a World run from a task of
// another).
func serveSeeded(r *seededReader) (stop func()) {
	id := goid()
	prev, had := dispatch.runs.Swap(id, r)
	dispatch.active.Add(1)
	return func() {
		if had {
			dispatch.runs.Store(id, prev)
		} else {
			dispatch.runs.Delete(id)
		}
		dispatch.active.Add(-1)
	}
}

// goid returns the calling goroutine's id, from the first line of its
// stack trace ("goroutine 42 [running]:"). Goroutine ids are never reused.
// It costs a few microseconds, and is only asked while a sim runs, by
// goroutines that read crypto/rand (raft, when it resets its election
// timer: some 50 times in a 30s run of BenchmarkSim; and whoever else
// reads it then), and once per task the run starts.
func goid() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	digits, ok := bytes.CutPrefix(b, []byte("goroutine "))
	var id uint64
	n := 0
	for ok && n < len(digits) && '0' <= digits[n] && digits[n] <= '9' {
		id = id*10 + uint64(digits[n]-'0')
		n++
	}
	if n == 0 {
		panic("sim: cannot read the goroutine id from " + strconv.Quote(string(b)))
	}
	return id
}

// seededReader is an io.Reader over a run's PRNG. Only the run's own
// goroutines read it, one at a time (they run in lockstep), so it needs
// no lock.
type seededReader struct {
	rng *rand.Rand
}

func (r *seededReader) Read(p []byte) (int, error) {
	for i := 0; i < len(p); i += 8 {
		v := r.rng.Uint64()
		for j := 0; j < 8 && i+j < len(p); j++ {
			p[i+j] = byte(v >> (8 * j))
		}
	}
	return len(p), nil
}
