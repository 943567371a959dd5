package campaign

import (
	"context"
	"testing"
	"time"
)

// BenchmarkCampaign measures campaign throughput: b.N default sim runs
// (60s of virtual time, 5 nodes, 200 ops/s) with 2 workers, reported as
// runs per minute of wall time. On a 2-core machine this is the nightly
// campaign's pace:
//
//	go test ./harness/campaign -run XXX -bench Campaign -benchtime 40x
func BenchmarkCampaign(b *testing.B) {
	p := Params{Mode: "sim", Seeds: b.N, FirstSeed: 1, Nemesis: [][]string{{"partition", "kill"}}, Workers: 2}
	start := time.Now()
	b.ResetTimer()
	x, err := Run(context.Background(), p, Options{Exe: exe, Results: b.TempDir()})
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	if x.Totals.Runs != b.N {
		b.Fatalf("%d runs of %d", x.Totals.Runs, b.N)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Minutes(), "runs/min")
}
