package model

import (
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"pgregory.net/rapid"

	"github.com/splitbrain/splitbrain/harness/history"
)

// slowToExplain is one key written and read by ten clients, with many
// writes of unknown outcome that take effect late (the checker's hard
// case), and, at its end, a read that returns a value replaced long before:
// porcupine's search must go through every order of the whole key to find
// that nothing explains the last read, while a window of the last few
// operations shows it at once. Nobody read the newer value: a lost write.
func slowToExplain() []history.Event {
	cfg := simConfig{processes: 10, keys: 1, activeKeys: 1, ops: 600, infoPct: 10, failPct: 2, lateOdds: 200}
	events := simulate(randChooser{rand.New(rand.NewPCG(3, 4))}, cfg)
	// The value of the first write acknowledged: long replaced.
	var old *string
	for _, e := range events {
		if e.Type == history.OK && e.F == history.FWrite {
			old = e.Value
			break
		}
	}
	b := newBuilder()
	b.events, b.now = events, events[len(events)-1].Time+1e6
	// Processes 20 and 21 are new: every simulated client may still have
	// an operation open.
	return b.write(20, "k0", "fresh").read(21, "k0", old).events
}

// stepsOf runs porcupine's verbose check of ops and counts the model's
// steps.
func stepsOf(t *testing.T, m porcupine.Model, ops []porcupine.Operation) int64 {
	t.Helper()
	var left atomic.Int64
	var spent atomic.Bool
	left.Store(1 << 62)
	m.Partition = nil
	if res, _ := porcupine.CheckOperationsVerbose(budgetModel(m, &left, &spent), ops, 0); res != porcupine.Illegal {
		t.Fatalf("the whole key is %v, want illegal", res)
	}
	return 1<<62 - left.Load()
}

// TestExplanationDoesNotDependOnSpeed: the explanation of a key that is
// slow to explain over all of its operations comes from a window that is
// fast to search; it is the same under any budget at least what that
// window needs and any wall-clock safety net that does not trip; a budget
// too small is spent the same way every time, and a safety net that trips
// claims no anomaly kind.
func TestExplanationDoesNotDependOnSpeed(t *testing.T) {
	events := slowToExplain()
	h, err := newKVHistory(events, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := kvModel(h.values, h.initial)
	full := stepsOf(t, m, h.operations("k0"))
	m.Partition = nil
	verdict, reach := h.checkKey(m, "k0", time.Time{})
	if verdict != Invalid {
		t.Fatalf("key k0 is %v, want invalid", verdict)
	}
	s := h.searchFailure("k0", reach, DefaultExplainSteps, 0)
	if s.outcome != searchDone {
		t.Fatalf("search outcome %v after %d steps", s.outcome, s.steps)
	}
	t.Logf("the whole key's search takes %d steps, the explaining search %d over %d operations", full, s.steps, len(s.ops))
	if s.steps*100 > full {
		t.Errorf("the explaining search took %d steps, the whole key's %d: want it 100 times cheaper", s.steps, full)
	}

	want := check(t, events, Options{})
	if want.Anomaly != AnomalyLostWrite || !strings.Contains(want.Explanation, `by process 21`) || want.VerboseTimedOut || want.ExplainBudgetSpent {
		t.Fatalf("anomaly %q (timed out %v, budget spent %v): %s", want.Anomaly, want.VerboseTimedOut, want.ExplainBudgetSpent, want.Explanation)
	}
	for _, opts := range []Options{
		{ExplainSteps: s.steps}, // just enough
		{ExplainSteps: 1 << 40, VerboseTimeout: time.Hour},
		{VerboseTimeout: time.Hour},
	} {
		got := check(t, events, opts)
		if got.Explanation != want.Explanation || got.Anomaly != want.Anomaly || got.AnomalyTime != want.AnomalyTime {
			t.Errorf("with %d steps and a %v safety net:\n%s\nwant\n%s", opts.ExplainSteps, opts.VerboseTimeout, got.Explanation, want.Explanation)
		}
	}

	short := check(t, events, Options{ExplainSteps: s.steps - 1})
	if !short.ExplainBudgetSpent || !strings.Contains(short.Explanation, "spent its budget") {
		t.Errorf("one step short: budget spent %v: %s", short.ExplainBudgetSpent, short.Explanation)
	}
	if again := check(t, events, Options{ExplainSteps: s.steps - 1}); again.Explanation != short.Explanation || again.Anomaly != short.Anomaly {
		t.Errorf("a spent budget explains differently on a second run:\n%s\n%s", short.Explanation, again.Explanation)
	}

	// A safety net that trips: an hour passes between two readings of its
	// clock, so it trips before the first window, on any machine.
	defer func(clock func() time.Time) { safetyClock = clock }(safetyClock)
	var readings time.Duration
	safetyClock = func() time.Time { readings++; return time.Unix(0, 0).Add(readings * time.Hour) }
	tripped := check(t, events, Options{VerboseTimeout: time.Minute})
	if !tripped.VerboseTimedOut || tripped.Anomaly != AnomalyUnexplained || !strings.Contains(tripped.Explanation, "Explanation incomplete (timed out)") {
		t.Errorf("a tripped safety net: timed out %v, anomaly %q: %s", tripped.VerboseTimedOut, tripped.Anomaly, tripped.Explanation)
	}
}

// TestStaticExplanationsNeedNoSearch: what the history alone proves is
// explained without the search, so not even a tripped safety net changes
// it.
func TestStaticExplanationsNeedNoSearch(t *testing.T) {
	events := slowToExplain()
	events[len(events)-1].Value = v("never-written")
	want := check(t, events, Options{})
	got := check(t, events, Options{VerboseTimeout: 1, ExplainSteps: 1})
	if want.Anomaly != AnomalyPhantomRead || got.Explanation != want.Explanation || got.Anomaly != want.Anomaly || got.VerboseTimedOut || got.ExplainBudgetSpent {
		t.Fatalf("anomaly %q / %q (timed out %v, budget spent %v):\n%s\n%s", want.Anomaly, got.Anomaly, got.VerboseTimedOut, got.ExplainBudgetSpent, want.Explanation, got.Explanation)
	}
}

// TestReachIsTheFirstFailure checks what the explaining search rests on,
// over simulated histories with one read changed: when a key is not
// linearizable, its operations invoked up to the fast check's reach are
// not linearizable either (operations completing after the next
// invocation taken as of unknown outcome), while those invoked before the
// reach, cut at it, are: the reach is the last invocation before the first
// point where the key fails. And every window the search checks relaxes
// the key: a window not linearizable means a key that is not.
func TestReachIsTheFirstFailure(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := drawConfig(t)
		events := simulate(rapidChooser{t}, cfg)
		i := drawOKRead(t, events)
		events[i].Value = history.Str(rapid.SampledFrom([]string{"0", "1", "2", "3", "4", "5"}).Draw(t, "value"))
		h, err := newKVHistory(events, cfg.initial)
		if err != nil {
			t.Fatal(err)
		}
		m := kvModel(h.values, h.initial)
		m.Partition = nil
		for _, key := range h.keys {
			verdict, reach := h.checkKey(m, key, time.Time{})
			if verdict != Invalid {
				continue
			}
			checked := h.checked[key]
			slice, cut := sliceTo(checked, reach, h.end)
			ops, _ := window(slice, -1, cut, h.end)
			if porcupine.CheckOperations(m, porcupineOps(ops)) {
				t.Fatalf("key %s: the operations invoked up to its reach %d are linearizable", key, reach)
			}
			before, _ := sliceTo(checked, reach-1, h.end)
			ops, _ = window(before, -1, reach, h.end)
			if !porcupine.CheckOperations(m, porcupineOps(ops)) {
				t.Fatalf("key %s: the operations invoked before its reach %d, cut there, are not linearizable", key, reach)
			}
			s := h.searchFailure(key, reach, DefaultExplainSteps, 0)
			if s.outcome != searchDone {
				t.Fatalf("key %s: search outcome %v", key, s.outcome)
			}
		}
	})
}

// TestWindowsRelax: a window of a linearizable key's operations is
// linearizable, wherever it opens, so a window that is not proves the key
// is not.
func TestWindowsRelax(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := drawConfig(t)
		events := simulate(rapidChooser{t}, cfg)
		h, err := newKVHistory(events, cfg.initial)
		if err != nil {
			t.Fatal(err)
		}
		for _, key := range h.keys {
			checked := h.checked[key]
			if len(checked) == 0 {
				continue
			}
			reach := checked[rapid.IntRange(0, len(checked)-1).Draw(t, "reach")].call
			slice, cut := sliceTo(checked, reach, h.end)
			from := slice[rapid.IntRange(0, len(slice)-1).Draw(t, "opening")].call
			ops, _ := window(slice, from, cut, h.end)
			if !porcupine.CheckOperations(kvModel(h.values, unknownValue), porcupineOps(ops)) {
				t.Fatalf("key %s: the window from %d to %d of a linearizable history is not linearizable", key, from, cut)
			}
		}
	})
}
