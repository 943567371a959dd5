package sim

import (
	cryptorand "crypto/rand"
	"io"
	"math/rand/v2"
	"sync"
)

// runMu serializes sim runs in one process: while a run is on, the
// process-wide crypto/rand.Reader is pointed at the run's PRNG (etcd raft
// draws its randomized election timeouts from it), so two runs at once
// would draw from each other's streams.
var runMu sync.Mutex

// seededReader is an io.Reader over the run's PRNG. Raft reads it only from
// the loop goroutine; the mutex guards against any other goroutine of the
// process reading crypto/rand while a sim runs (which would perturb the
// run, but must not corrupt it).
type seededReader struct {
	mu  sync.Mutex
	rng *rand.Rand
}

func (r *seededReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := 0; i < len(p); i += 8 {
		v := r.rng.Uint64()
		for j := 0; j < 8 && i+j < len(p); j++ {
			p[i+j] = byte(v >> (8 * j))
		}
	}
	return len(p), nil
}

// seedCryptoRand points crypto/rand.Reader at rng and returns a function
// that restores it. The caller holds runMu.
func seedCryptoRand(rng *rand.Rand) (restore func()) {
	prev := cryptorand.Reader
	cryptorand.Reader = io.Reader(&seededReader{rng: rng})
	return func() { cryptorand.Reader = prev }
}
