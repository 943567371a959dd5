package sim

import (
	"bytes"
	cryptorand "crypto/rand"
	"fmt"
	"math/big"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/splitbrain/splitbrain/harness/raftkv"
)

// outsideReaders starts goroutines that read crypto/rand in a loop, both
// ways the process may (crypto/rand.Read, and rand.Int(rand.Reader, …)
// as etcd raft does), until the returned function is called. reads counts
// their reads.
func outsideReaders(reads *atomic.Int64) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	for _, read := range []func(){
		func() {
			var b [16]byte
			cryptorand.Read(b[:])
		},
		func() {
			if _, err := cryptorand.Int(cryptorand.Reader, big.NewInt(1000)); err != nil {
				panic(err)
			}
		},
	} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
					read()
					reads.Add(1)
				}
			}
		}()
	}
	return func() { close(done); wg.Wait() }
}

// TestDeterminismAgainstOutsideReaders: goroutines of the process that
// read crypto/rand while a sim runs neither change its transcript (they
// used to draw from the run's seeded stream) nor race with it (run under
// -race).
func TestDeterminismAgainstOutsideReaders(t *testing.T) {
	seeds := []uint64{1, 2}
	quiet := map[uint64][]byte{}
	for _, seed := range seeds {
		quiet[seed] = transcript(t, seed)
	}
	var reads atomic.Int64
	stop := outsideReaders(&reads)
	defer stop()
	for _, seed := range seeds {
		before := reads.Load()
		got := transcript(t, seed)
		if reads.Load() == before {
			t.Fatalf("seed %d: the outside readers did not read during the run", seed)
		}
		if !bytes.Equal(got, quiet[seed]) {
			t.Fatalf("seed %d: the transcript changed when other goroutines read crypto/rand", seed)
		}
	}
}

// TestRunGoroutinesDrawSeeded: the loop goroutine (events) and the tasks
// of a run read crypto/rand from the run's seed: the same seed gives the
// same bytes, another seed other bytes.
func TestRunGoroutinesDrawSeeded(t *testing.T) {
	draw := func(seed uint64) string {
		w, err := New(Config{Seed: seed, Nodes: 1, System: raftkv.System(nil)})
		if err != nil {
			t.Fatal(err)
		}
		var out []byte
		read := func() {
			var b [8]byte
			cryptorand.Read(b[:])
			out = append(out, b[:]...)
		}
		if err := w.Run(func() {
			read() // the main task
			w.loop.after(time.Millisecond, read)
			w.Sleep(time.Second)
			g := w.NewGroup()
			g.Go("other", read)
			g.Wait()
		}); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("%x", out)
	}
	a, b, c := draw(1), draw(1), draw(2)
	if len(a) != 3*16 || a != b || a == c {
		t.Fatalf("seed 1 drew %s then %s; seed 2 drew %s", a, b, c)
	}
}

// TestOverlappingRuns: independent runs at once in one process each give
// the transcript they give alone. The runs surely overlap: each main task
// first waits until every run has started.
func TestOverlappingRuns(t *testing.T) {
	seeds := []uint64{5, 6}
	alone := map[uint64][]byte{}
	for _, seed := range seeds {
		alone[seed] = transcript(t, seed)
	}
	got := make([][]byte, len(seeds))
	errs := make([]error, len(seeds))
	var wg, started sync.WaitGroup
	started.Add(len(seeds))
	for i, seed := range seeds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = runTranscript(seed, func() { started.Done(); started.Wait() })
		}()
	}
	wg.Wait()
	for i, seed := range seeds {
		if errs[i] != nil {
			t.Fatalf("seed %d: %v", seed, errs[i])
		}
		if !bytes.Equal(got[i], alone[seed]) {
			t.Fatalf("seed %d: the transcript changed when it ran alongside other runs", seed)
		}
	}
}
