package model

import (
	"fmt"
	"sort"

	"github.com/anishathalye/porcupine"

	"github.com/splitbrain/splitbrain/harness/history"
)

// op is one client operation of a history: its invocation, its completion
// if there was one, and what the model makes of it.
type op struct {
	inv    *history.Event // points into the checked history, never written
	comp   *history.Event // nil if the history ended first
	status history.Type   // OK, Fail or Info; Info also when the history ended first
	in     kvInput
	out    kvOutput
	// call and ret are the porcupine timestamps: history indexes. ret is
	// the end of the history (past every event) when the outcome is unknown.
	call, ret int64
}

// node is the node that served the operation, if the history knows it.
func (o *op) node() string {
	if o.comp != nil && o.comp.Node != "" {
		return o.comp.Node
	}
	return o.inv.Node
}

// unknown reports whether the operation's outcome is unknown (info, or no
// completion at all).
func (o *op) unknown() bool { return o.status == history.Info }

// produces reports whether the operation (if it took effect) set the
// register to a value, and which (absent for a delete).
func (o *op) produces() (valueID, bool) {
	if o.in.kind == opRead {
		return absent, false
	}
	return o.in.value, true
}

// observes reports the value an operation saw: the result of an ok read, or
// the expected value of an ok cas.
func (o *op) observes() (valueID, bool) {
	if o.status != history.OK {
		return absent, false
	}
	switch o.in.kind {
	case opRead:
		return o.out.value, true
	case opCAS:
		return o.in.expect, true
	}
	return absent, false
}

// describeTiming is the operation's who, where and when, for the
// visualization's tooltips.
func (o *op) describeTiming() string {
	s := "process " + o.inv.Process.String()
	if n := o.node(); n != "" {
		s += " on " + n
	}
	s += ", invoked " + secs(o.inv.Time)
	switch {
	case o.status == history.OK:
		s += ", ok " + secs(o.comp.Time)
	case o.comp != nil:
		s += fmt.Sprintf(", %s %s", o.comp.Type, secs(o.comp.Time))
	default:
		s += ", never completed"
	}
	if o.comp != nil && o.comp.Error != "" {
		s += " (" + o.comp.Error + ")"
	}
	return s
}

// kvHistory is a history converted for checking.
type kvHistory struct {
	values  *valueTable
	initial valueID
	keys    []string         // sorted
	all     map[string][]*op // every client operation by key, in invocation order
	checked map[string][]*op // the operations handed to porcupine, by key
	end     int64            // the timestamp of "after everything"
}

// newKVHistory pairs invocations with completions and decides which
// operations the checker needs:
//
//   - fail: the operation did not take effect; it is left out.
//   - info, or no completion before the history ended: the outcome is
//     unknown. The operation ends at the end of the history with an
//     unconstrained output. A read with an unknown outcome constrains
//     nothing and is left out; so is a write, cas or delete with an unknown
//     outcome whose new value nothing needs (see keep).
//   - ok: checked as it returned.
//
// Histories that are not well formed (indexes not strictly increasing, a
// completion with no open invocation, mismatched f or key, a client event
// without a key) are an error naming the index.
func newKVHistory(events []history.Event, initial *string) (*kvHistory, error) {
	return newKVHistoryEnd(events, initial, -1)
}

// newKVHistoryEnd is newKVHistory with the end of the history given (the
// index past every event of the whole history, when events are only some
// keys' of it), or -1 to take it from events.
func newKVHistoryEnd(events []history.Event, initial *string, end int64) (*kvHistory, error) {
	invokes := 0
	for i := range events {
		if events[i].Process != history.Nemesis && events[i].Type == history.Invoke {
			invokes++
		}
	}
	// One allocation for every op: the pointers below stay valid because
	// the slice never grows past its capacity.
	arena := make([]op, 0, invokes)
	h := &kvHistory{values: newValueTable(invokes), all: map[string][]*op{}, checked: map[string][]*op{}}
	h.initial = h.values.intern(initial)
	open := map[history.Process]*op{}
	last := int64(-1)
	for i := range events {
		e := &events[i]
		if i > 0 && e.Index <= last {
			return nil, fmt.Errorf("model: history index %d follows index %d: indexes must increase strictly", e.Index, last)
		}
		last = e.Index
		if e.Process == history.Nemesis {
			continue
		}
		if e.Key == "" {
			return nil, fmt.Errorf("model: history index %d: client %s without a key", e.Index, e.F)
		}
		if e.F != history.FRead && e.F != history.FWrite && e.F != history.FCAS && e.F != history.FDelete {
			return nil, fmt.Errorf("model: history index %d: unknown client operation %q", e.Index, e.F)
		}
		o := open[e.Process]
		if e.Type == history.Invoke {
			if o != nil {
				return nil, fmt.Errorf("model: history index %d: process %s invokes %s while its %s at index %d is still open",
					e.Index, e.Process, e.F, o.inv.F, o.inv.Index)
			}
			arena = append(arena, op{inv: &events[i], status: history.Info, call: e.Index})
			o = &arena[len(arena)-1]
			switch e.F {
			case history.FRead:
				o.in = kvInput{kind: opRead, key: e.Key}
			case history.FWrite:
				o.in = kvInput{kind: opWrite, key: e.Key, value: h.values.intern(e.Value)}
			case history.FCAS:
				o.in = kvInput{kind: opCAS, key: e.Key, value: h.values.intern(e.Value), expect: h.values.intern(e.Prev)}
			case history.FDelete:
				o.in = kvInput{kind: opDelete, key: e.Key, value: absent}
			}
			open[e.Process] = o
			h.all[e.Key] = append(h.all[e.Key], o)
			continue
		}
		if o == nil {
			return nil, fmt.Errorf("model: history index %d: process %s completes %s with no open invoke", e.Index, e.Process, e.F)
		}
		if o.inv.F != e.F || o.inv.Key != e.Key {
			return nil, fmt.Errorf("model: history index %d: completion %s %q does not match the open invoke %s %q at index %d",
				e.Index, e.F, e.Key, o.inv.F, o.inv.Key, o.inv.Index)
		}
		delete(open, e.Process)
		o.comp, o.status = &events[i], e.Type
		if e.Type == history.OK {
			o.ret = e.Index
			if o.in.kind == opRead {
				o.out.value = h.values.intern(e.Value)
			}
		}
	}
	h.end = last + 1
	if end >= 0 {
		if end < h.end {
			panic(fmt.Sprintf("model: history end %d before its event %d", end, last))
		}
		h.end = end
	}
	for k, ops := range h.all {
		h.keys = append(h.keys, k)
		h.checked[k] = keep(ops, h.end)
	}
	sort.Strings(h.keys)
	return h, nil
}

// operations returns the porcupine operations of the given keys, key by key
// in the order given.
func (h *kvHistory) operations(keys ...string) []porcupine.Operation {
	n := 0
	for _, k := range keys {
		n += len(h.checked[k])
	}
	out := make([]porcupine.Operation, 0, n)
	for _, k := range keys {
		for _, o := range h.checked[k] {
			out = append(out, porcupine.Operation{
				ClientId: int(o.inv.Process),
				Input:    &o.in,
				Call:     o.call,
				Output:   &o.out,
				Return:   o.ret,
				Metadata: o,
			})
		}
	}
	return out
}

// keep returns the operations of one key the checker needs, in order, and
// gives those with an unknown outcome their open end.
//
// A write, cas or delete whose outcome is unknown is needed only if its new
// value (absent, for a delete) is needed: returned by an ok read, expected by an ok cas, or expected by
// a needed cas of unknown outcome (which may have applied on top of it).
// An unneeded one can be dropped without changing the verdict: in any
// linearization that includes it, nothing reads the value it wrote before
// the next write replaces it, so removing it (and moving any unknown cas
// that would now apply to the end, where it is invisible) leaves a
// linearization; and if the rest is linearizable, the dropped operation
// fits at the end. Keeping them would cost the search a factor of two
// each, since the checker would try every subset of them at every step.
func keep(ops []*op, end int64) []*op {
	needed := map[valueID]bool{}
	for _, o := range ops {
		if v, ok := o.observes(); ok {
			needed[v] = true
		}
	}
	kept := map[*op]bool{}
	for changed := true; changed; {
		changed = false
		for _, o := range ops {
			if kept[o] || !o.unknown() || o.in.kind == opRead || !needed[o.in.value] {
				continue
			}
			kept[o], changed = true, true
			if o.in.kind == opCAS && !needed[o.in.expect] {
				needed[o.in.expect] = true
			}
		}
	}
	var out []*op
	for _, o := range ops {
		switch {
		case o.status == history.Fail:
			continue
		case o.unknown():
			o.ret, o.out = end, kvOutput{unknown: true}
			if !kept[o] {
				continue
			}
		}
		out = append(out, o)
	}
	return out
}
