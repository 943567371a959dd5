package sim

import (
	"testing"
	"time"
)

// BenchmarkSim measures simulated seconds per wall-clock second: 5 nodes,
// 10 clients at 200 ops/s in total, random faults on. Goal: ≥ 200×.
func BenchmarkSim(b *testing.B) {
	const simTime = 30 * time.Second
	// The package's tests prune the checker's records at every call; a
	// run prunes every defaultPruneEvery.
	pruneEvery = defaultPruneEvery
	defer func() { pruneEvery = 1 }()
	var ops, events uint64
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		w := newChaosWorld(b, uint64(i+1), nil)
		c := &chaos{clients: 10, rate: 200, duration: simTime, faults: true}
		if err := c.run(w); err != nil {
			b.Fatal(err)
		}
		for _, n := range c.stats {
			ops += uint64(n)
		}
		events += w.Events()
	}
	wall := b.Elapsed().Seconds()
	b.ReportMetric(simTime.Seconds()*float64(b.N)/wall, "sim-s/wall-s")
	b.ReportMetric(float64(ops)/float64(b.N), "ops/run")
	b.ReportMetric(float64(events)/float64(b.N), "events/run")
}
