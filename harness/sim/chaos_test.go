package sim

import (
	"bytes"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/splitbrain/splitbrain/harness/raftkv"
	"github.com/splitbrain/splitbrain/harness/raftnode"
	"github.com/splitbrain/splitbrain/harness/world"
)

// chaos is a workload plus random faults, all drawn from the world's
// PRNG: the shared driver of the determinism test and the benchmark.
type chaos struct {
	clients  int
	rate     float64 // total ops per second
	duration time.Duration
	faults   bool
	stats    map[world.Outcome]int
	start    func() // if set, called first in the main task
}

func (c *chaos) run(w *World) error {
	c.stats = map[world.Outcome]int{}
	return w.Run(func() {
		if c.start != nil {
			c.start()
		}
		g := w.NewGroup()
		for i := 0; i < c.clients; i++ {
			g.Go(fmt.Sprint("client", i), func() {
				cl := w.Client()
				interval := time.Duration(float64(c.clients) / c.rate * float64(time.Second))
				next := w.Now() + time.Duration(w.Rand().Int64N(int64(interval)))
				for n := 0; w.Now() < c.duration; n++ {
					if d := next - w.Now(); d > 0 {
						w.Sleep(d) // pace to the target rate
					}
					next += interval
					nodes := w.Nodes()
					node := nodes[w.Rand().IntN(len(nodes))]
					key := fmt.Sprint("k", w.Rand().IntN(4))
					var op world.Op
					switch w.Rand().IntN(3) {
					case 0:
						op = world.Op{Kind: world.Get, Key: key}
					case 1:
						op = world.Op{Kind: world.Put, Key: key, Value: fmt.Sprint(i, ".", n)}
					default:
						exp := fmt.Sprint(w.Rand().IntN(c.clients), ".", w.Rand().IntN(n+1))
						op = world.Op{Kind: world.CAS, Key: key, Value: fmt.Sprint(i, ".", n), Expected: &exp}
					}
					c.stats[cl.Do(node, op, 2*time.Second).Outcome]++
				}
			})
		}
		if c.faults {
			g.Go("nemesis", func() {
				for w.Now() < c.duration-3*time.Second {
					w.Sleep(time.Duration(500+w.Rand().IntN(2000)) * time.Millisecond)
					nodes := w.Nodes()
					victim := nodes[w.Rand().IntN(len(nodes))]
					switch w.Rand().IntN(4) {
					case 0:
						w.Rand().Shuffle(len(nodes), func(i, j int) { nodes[i], nodes[j] = nodes[j], nodes[i] })
						k := 1 + w.Rand().IntN(len(nodes)-1)
						w.SetReach(world.Groups(nodes[:k], nodes[k:]))
					case 1:
						w.Crash(victim, world.DiskFate(w.Rand().IntN(3)))
						w.Sleep(time.Duration(w.Rand().IntN(1500)) * time.Millisecond)
						w.Restart(victim)
					case 2:
						w.Pause(victim)
						w.Sleep(time.Duration(w.Rand().IntN(1500)) * time.Millisecond)
						w.Resume(victim)
					case 3:
						w.SetPacket(world.Packet{Loss: 0.1, Duplicate: 0.1, Reorder: 0.1, Jitter: 5 * time.Millisecond})
					}
					w.Sleep(time.Duration(500+w.Rand().IntN(2000)) * time.Millisecond)
					w.SetReach(world.Reach{})
					w.SetPacket(world.Packet{})
				}
			})
		}
		g.Wait()
	})
}

func newChaosWorld(t testing.TB, seed uint64, trace io.Writer) *World {
	w, err := New(Config{Seed: seed, Trace: trace, System: raftkv.System(nil), Node: raftnode.Config{SnapshotEvery: 50, CompactKeep: 10}})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// transcript runs one seed and returns everything it printed: the trace
// of every delivery, drop and client answer, and every node's log.
func transcript(t *testing.T, seed uint64) []byte {
	b, err := runTranscript(seed, nil)
	if err != nil {
		t.Fatalf("seed %d: %v", seed, err)
	}
	return b
}

// runTranscript is transcript for any goroutine; start, if set, runs
// first in the run's main task.
func runTranscript(seed uint64, start func()) ([]byte, error) {
	var trace bytes.Buffer
	w, err := New(Config{Seed: seed, Trace: &trace, System: raftkv.System(nil), Node: raftnode.Config{SnapshotEvery: 50, CompactKeep: 10}})
	if err != nil {
		return nil, err
	}
	c := &chaos{clients: 10, rate: 200, duration: 8 * time.Second, faults: true, start: start}
	if err := c.run(w); err != nil {
		return nil, err
	}
	for _, id := range w.order {
		trace.WriteString("== log " + id.String() + "\n")
		trace.Write(w.nodes[id].log.Bytes())
	}
	return trace.Bytes(), nil
}

// TestDeterminism runs 20 seeds twice each: the transcripts must be
// byte-identical, and different seeds must give different runs.
func TestDeterminism(t *testing.T) {
	seen := map[string]uint64{}
	for seed := uint64(1); seed <= 20; seed++ {
		a, b := transcript(t, seed), transcript(t, seed)
		if !bytes.Equal(a, b) {
			i := 0
			for i < len(a) && i < len(b) && a[i] == b[i] {
				i++
			}
			lo := max(0, i-200)
			t.Fatalf("seed %d: transcripts differ at byte %d of %d/%d:\nfirst:  %q\nsecond: %q", seed, i, len(a), len(b), a[lo:min(len(a), i+200)], b[lo:min(len(b), i+200)])
		}
		if prev, dup := seen[string(a)]; dup {
			t.Fatalf("seeds %d and %d gave the same transcript: the seed is not used", prev, seed)
		}
		seen[string(a)] = seed
	}
}
