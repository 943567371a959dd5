package model

import (
	"sync/atomic"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/splitbrain/splitbrain/harness/history"
)

// The explaining search: what the explanation of a failing key rests on.
//
// Porcupine's verbose check yields the longest linearizable orders that
// explain a failure, but on a long key it can run for minutes, and a
// wall-clock bound would make the explanation (and the anomaly kind in
// selftest's and campaign's signatures) depend on the machine's speed. So
// the search is bounded by what the history holds, never by the clock:
//
//   - The fast check that found the key not linearizable also finds where:
//     its search never gets past the first point at which the history is
//     already not linearizable, and it tries every operation invoked before
//     that point (reachModel). The latest invocation it tried, its reach,
//     bounds a slice of the key, its operations invoked up to the reach,
//     that is not linearizable either (an operation that completed after
//     the slice's cut, the next invocation, has an unknown outcome there).
//   - Within the slice, the search checks windows of its last 8, 16, 32, …
//     operations, until one is not linearizable or the window is the whole
//     slice. A window forgets what came before it: the register opens at an
//     unknown value, operations that completed before it are left out, and
//     those that straddle its opening lose their outcome (a read says
//     nothing, a write, cas or delete may or may not have taken effect).
//     Each of these only relaxes the history, so a window that is not
//     linearizable proves the whole key is not, and its longest
//     linearizable order is about the operations near the failure.
//   - Every step of the model in these checks counts against
//     Options.ExplainSteps. Spending it is deterministic: the same history
//     gives the same explanation on any machine. Options.VerboseTimeout is
//     a safety net behind it; when that trips, the explanation says so and
//     claims no anomaly kind (AnomalyUnexplained).

// DefaultExplainSteps bounds the explaining search, in model steps, when
// Options.ExplainSteps is zero. A failure in a simulated run needs a few
// hundred to a few thousand.
const DefaultExplainSteps = 1_000_000

// firstWindowOps is the size of the first window the search checks.
const firstWindowOps = 8

// safetyClock is the clock of the explaining search's safety net (tests
// replace it, so that it trips whatever the machine's speed).
var safetyClock = time.Now

// searchOutcome says how the explaining search ended.
type searchOutcome int

const (
	// searchDone: a window not linearizable was found and searched whole.
	searchDone searchOutcome = iota
	// searchBudget: the step budget was spent first (deterministic).
	searchBudget
	// searchTimedOut: the wall-clock safety net tripped first.
	searchTimedOut
)

// explainSearch is the explaining search of one failing key.
type explainSearch struct {
	outcome searchOutcome
	// ops are the operations of the window searched, as the search saw
	// them (a copy, with its outcome forgotten, of an operation that
	// straddles the window's opening or completed after the slice's cut);
	// porcupine's operation ids index it. orig holds, for each, the
	// history's operation.
	ops, orig []*op
	// initial is the register's value when the window opens: the key's
	// initial value when the window is the whole slice, else unknownValue.
	initial valueID
	// from is the invocation index from which the window takes operations
	// (operations that completed earlier are left out); -1 for the whole
	// slice.
	from int64
	// prefix is the longest linearizable order found (ids into ops), when
	// outcome is searchDone.
	prefix []int
	// steps counts the model steps spent, budget is what was allowed, and
	// timeout the safety net.
	steps, budget int64
	timeout       time.Duration
}

// reachModel wraps m to record in reach the latest invocation index of an
// operation the search tried (every Step is a try). When porcupine finds a
// history not linearizable it has tried every operation invoked before the
// first return it could not get past, and none invoked after it.
func reachModel(m porcupine.Model, reach *atomic.Int64) porcupine.Model {
	inner := m.Step
	m.Step = func(state, input, output interface{}) (bool, interface{}) {
		if c := input.(*kvInput).call; c > reach.Load() {
			reach.Store(c) // one goroutine searches a partition: no lost update
		}
		return inner(state, input, output)
	}
	return m
}

// budgetModel wraps m to count its steps against left; once left is spent
// every step is refused and spent is set, so porcupine's search unwinds at
// once (its verdict is then meaningless).
func budgetModel(m porcupine.Model, left *atomic.Int64, spent *atomic.Bool) porcupine.Model {
	inner := m.Step
	m.Step = func(state, input, output interface{}) (bool, interface{}) {
		if left.Add(-1) < 0 {
			spent.Store(true)
			return false, state
		}
		return inner(state, input, output)
	}
	return m
}

// searchFailure runs the explaining search of the failing key, whose fast
// check reached reach (see reachModel), within budget model steps and, as a
// safety net, timeout of wall time (0: none).
func (h *kvHistory) searchFailure(key string, reach, budget int64, timeout time.Duration) *explainSearch {
	s := &explainSearch{budget: budget, timeout: timeout}
	var started time.Time
	if timeout > 0 {
		started = safetyClock()
	}
	checked := h.checked[key] // in invocation order
	slice, cut := sliceTo(checked, reach, h.end)
	for w := firstWindowOps; ; w *= 2 {
		whole := w >= len(slice)
		s.from, s.initial = -1, h.initial
		if !whole {
			s.from, s.initial = slice[len(slice)-w].call, unknownValue
		}
		s.ops, s.orig = window(slice, s.from, cut, h.end)
		left := timeout
		if timeout > 0 {
			if left = timeout - safetyClock().Sub(started); left <= 0 {
				s.outcome = searchTimedOut
				return s
			}
		}
		var remaining atomic.Int64
		var spent atomic.Bool
		remaining.Store(budget - s.steps)
		m := budgetModel(kvModel(h.values, s.initial), &remaining, &spent)
		m.Partition = nil // one key
		result, info := porcupine.CheckOperationsVerbose(m, porcupineOps(s.ops), left)
		s.steps = budget - max(remaining.Load(), 0)
		switch {
		case spent.Load():
			s.outcome = searchBudget
			return s
		case result == porcupine.Unknown:
			s.outcome = searchTimedOut
			return s
		case result == porcupine.Illegal:
			s.prefix = []int{} // not even one operation fits first
			if partials := info.PartialLinearizations(); len(partials) > 0 && len(partials[0]) > 0 {
				s.prefix = longestPartial(partials[0])
			}
			s.outcome = searchDone
			return s
		case whole && len(slice) < len(checked):
			// The slice should not be linearizable (see reachModel); if it
			// is, search the whole key rather than give up.
			slice, cut, w = checked, h.end, len(checked)
		case whole:
			// The whole key passed a search that its fast check failed:
			// the two disagree, which porcupine's search never does.
			panic("model: key " + key + " is not linearizable, yet its explaining search over every operation found an order")
		}
	}
}

// sliceTo returns the operations of checked (in invocation order) invoked
// up to reach, and the slice's cut: the next invocation, or end.
func sliceTo(checked []*op, reach, end int64) ([]*op, int64) {
	for i, o := range checked {
		if o.call > reach {
			return checked[:i], o.call
		}
	}
	return checked, end
}

// window returns the operations the search checks, as copies, and the
// history's operation for each: the slice's operations, those that
// returned after cut with their outcome unknown; and, when the window opens
// at from (not -1), without those that completed before from, and with
// those invoked earlier forgetting their outcome (a read's is dropped).
// Writes of unknown outcome that nothing in the window needs are dropped,
// as keep does for the whole key.
func window(slice []*op, from, cut, end int64) (ops, orig []*op) {
	copies := make([]op, 0, len(slice))
	origOf := make(map[*op]*op, len(slice))
	var kept []*op
	for _, o := range slice {
		c := *o
		forget := c.ret > cut
		if from >= 0 {
			if !c.unknown() && c.ret < from {
				continue
			}
			forget = forget || c.call < from
		}
		if forget {
			c.status = history.Info // keep drops it if it is a read, or nothing needs it
		}
		copies = append(copies, c)
		p := &copies[len(copies)-1]
		origOf[p] = o
		kept = append(kept, p)
	}
	ops = keep(kept, end)
	orig = make([]*op, len(ops))
	for i, c := range ops {
		orig[i] = origOf[c]
	}
	return ops, orig
}

// porcupineOps turns operations into porcupine's, ids in order.
func porcupineOps(ops []*op) []porcupine.Operation {
	out := make([]porcupine.Operation, len(ops))
	for i, o := range ops {
		out[i] = porcupine.Operation{
			ClientId: int(o.inv.Process),
			Input:    &o.in,
			Call:     o.call,
			Output:   &o.out,
			Return:   o.ret,
			Metadata: o,
		}
	}
	return out
}
