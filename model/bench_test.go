package model

import (
	"math/rand/v2"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/splitbrain/splitbrain/harness/history"
)

// benchHistory is a realistic linearizable history: 100k operations by 10
// processes over 100 keys, five keys in use at a time (so operations on a
// key overlap), 2% of them ending info and 2% failing, with partitions
// coming and going. Fixed seed: the same history every run.
func benchHistory() ([]history.Event, int) {
	cfg := simConfig{processes: 10, keys: 100, activeKeys: 5, ops: 100_000, infoPct: 2, failPct: 2, faults: true}
	events := simulate(randChooser{rand.New(rand.NewPCG(1, 2))}, cfg)
	return events, cfg.ops
}

// BenchmarkCheckManyUnknown: 10% of operations end info and take effect
// late, if at all (1 in 200 steps), so many writes of unknown outcome are
// pending at once on a key, the checker's hard case.
func BenchmarkCheckManyUnknown(b *testing.B) {
	cfg := simConfig{processes: 10, keys: 100, activeKeys: 5, ops: 100_000, infoPct: 10, failPct: 2, faults: true, lateOdds: 200}
	events := simulate(randChooser{rand.New(rand.NewPCG(3, 4))}, cfg)
	defer reportCPU(b)()
	for b.Loop() {
		res, err := CheckLinearizable(events, Options{Timeout: time.Minute})
		if err != nil || res.Valid != Valid {
			b.Fatalf("%v %v: %s", res.Valid, err, res.Explanation)
		}
	}
	b.ReportMetric(float64(cfg.ops)*float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

func BenchmarkCheck(b *testing.B) {
	events, ops := benchHistory()
	b.Run("valid-100k-ops-100-keys", func(b *testing.B) {
		defer reportCPU(b)()
		for b.Loop() {
			res, err := CheckLinearizable(events, Options{})
			if err != nil || res.Valid != Valid {
				b.Fatalf("%v %v: %s", res.Valid, err, res.Explanation)
			}
		}
		b.ReportMetric(float64(ops)*float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	})
	// One read in the middle changed to a value never written: the fast
	// check fails one key, the verbose check and explanation run on it.
	bad := append([]history.Event(nil), events...)
	for i := len(bad) / 2; i < len(bad); i++ {
		if bad[i].Type == history.OK && bad[i].F == history.FRead {
			bad[i].Value = history.Str("never-written")
			break
		}
	}
	b.Run("invalid-100k-ops-100-keys", func(b *testing.B) {
		defer reportCPU(b)()
		for b.Loop() {
			res, err := CheckLinearizable(bad, Options{})
			if err != nil || res.Valid != Invalid {
				b.Fatalf("%v %v", res.Valid, err)
			}
		}
		b.ReportMetric(float64(ops)*float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	})
	b.Run("invalid-with-html", func(b *testing.B) {
		path := filepath.Join(b.TempDir(), "l.html")
		defer reportCPU(b)()
		for b.Loop() {
			res, err := CheckLinearizable(bad, Options{HTMLPath: path})
			if err != nil || res.Valid != Invalid || res.HTML == "" {
				b.Fatalf("%v %v", res.Valid, err)
			}
		}
		b.ReportMetric(float64(ops)*float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	})
}

// reportCPU reports the process's CPU time (user and system, all threads)
// per iteration: on a shared machine wall time per op swings with the
// neighbours' load, CPU time much less. Call it before the loop and defer
// the function it returns.
func reportCPU(b *testing.B) func() {
	start := cpuTime()
	return func() { b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op") }
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
