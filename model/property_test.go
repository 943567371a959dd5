package model

import (
	"testing"

	"pgregory.net/rapid"

	"github.com/splitbrain/splitbrain/harness/history"
)

func drawConfig(t *rapid.T) simConfig {
	cfg := simConfig{
		processes: rapid.IntRange(1, 5).Draw(t, "processes"),
		keys:      rapid.IntRange(1, 3).Draw(t, "keys"),
		ops:       rapid.IntRange(1, 60).Draw(t, "ops"),
		infoPct:   rapid.IntRange(0, 30).Draw(t, "info percent"),
		failPct:   rapid.IntRange(0, 20).Draw(t, "fail percent"),
		faults:    true,
		deletes:   rapid.Bool().Draw(t, "deletes"),
	}
	cfg.activeKeys = cfg.keys
	if rapid.Bool().Draw(t, "initial 0") {
		cfg.initial = history.Str("0")
	}
	return cfg
}

// TestSimulatedHistoriesAreLinearizable: a history in which every
// operation took effect atomically between its invocation and completion is
// linearizable, whatever the concurrency, failures and unknown outcomes.
func TestSimulatedHistoriesAreLinearizable(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := drawConfig(t)
		events := simulate(rapidChooser{t}, cfg)
		res, err := CheckLinearizable(events, Options{Initial: cfg.initial})
		if err != nil {
			t.Fatal(err)
		}
		if res.Valid != Valid {
			t.Fatalf("simulated history judged %v: %s", res.Valid, res.Explanation)
		}
	})
}

// TestPhantomReadsAreCaught: change one ok read of a simulated history to
// a value nobody wrote, and the history is not linearizable, blamed on a
// phantom read of that key.
func TestPhantomReadsAreCaught(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := drawConfig(t)
		events := simulate(rapidChooser{t}, cfg)
		i := drawOKRead(t, events)
		events[i].Value = history.Str("never-written")
		res, err := CheckLinearizable(events, Options{Initial: cfg.initial})
		if err != nil {
			t.Fatal(err)
		}
		if res.Valid != Invalid {
			t.Fatalf("a read of a value never written passed: %v", res.Valid)
		}
		if res.FirstFailingKey != events[i].Key || res.Anomaly != AnomalyPhantomRead {
			t.Fatalf("blamed key %q anomaly %q, want %q phantom-read: %s", res.FirstFailingKey, res.Anomaly, events[i].Key, res.Explanation)
		}
	})
}

// TestWithoutPruningVerdictsAgree: dropping unneeded operations of unknown
// outcome never changes the verdict. Compared against porcupine on the
// full history, on both simulated and randomly corrupted histories.
func TestWithoutPruningVerdictsAgree(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := drawConfig(t)
		cfg.infoPct = rapid.IntRange(10, 50).Draw(t, "info percent")
		events := simulate(rapidChooser{t}, cfg)
		if len(events) > 0 && rapid.Bool().Draw(t, "corrupt") {
			i := rapid.IntRange(0, len(events)-1).Draw(t, "corrupted event")
			if e := &events[i]; e.Process != history.Nemesis && e.Type == history.OK && e.F == history.FRead {
				e.Value = history.Str(rapid.SampledFrom([]string{"0", "1", "2", "3", "4", "5"}).Draw(t, "value"))
			}
		}
		res, err := CheckLinearizable(events, Options{Initial: cfg.initial})
		if err != nil {
			t.Fatal(err)
		}
		full := unprunedVerdict(t, events, cfg.initial)
		if res.Valid != full {
			t.Fatalf("pruned verdict %v, full verdict %v", res.Valid, full)
		}
	})
}

// drawOKRead draws the index of one ok read of events, skipping the case
// when there is none.
func drawOKRead(t *rapid.T, events []history.Event) int {
	var reads []int
	for i, e := range events {
		if e.Type == history.OK && e.F == history.FRead {
			reads = append(reads, i)
		}
	}
	if len(reads) == 0 {
		t.Skip("no ok read to change")
	}
	return reads[rapid.IntRange(0, len(reads)-1).Draw(t, "read")]
}
