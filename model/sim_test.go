package model

import (
	"math/rand/v2"
	"strconv"

	"pgregory.net/rapid"

	"github.com/splitbrain/splitbrain/harness/history"
)

// chooser draws the simulation's choices: rapid in properties (so failures
// shrink), a seeded PRNG in benchmarks.
type chooser interface{ intn(n int, label string) int }

type rapidChooser struct{ t *rapid.T }

func (c rapidChooser) intn(n int, label string) int { return rapid.IntRange(0, n-1).Draw(c.t, label) }

type randChooser struct{ r *rand.Rand }

func (c randChooser) intn(n int, _ string) int { return c.r.IntN(n) }

type simConfig struct {
	processes  int
	keys       int
	activeKeys int // keys in use at a time, a window rotating through all keys
	ops        int // operations to invoke
	infoPct    int // percent of operations that end with info
	failPct    int // percent of writes and cas that fail without taking effect
	initial    *string
	faults     bool // sprinkle partition/heal events
	lateOdds   int  // 1 in lateOdds steps applies an info operation late; 0 means 10
	deletes    bool // some operations are deletes
}

type simOp struct {
	inv     history.Event
	applied bool
	result  *string // a read's result
	casOK   bool
}

// simulate runs clients against one atomic register per key: each
// operation takes effect at a single instant between its invocation and
// its completion, so the history it records is linearizable by
// construction. Completions may be ok, fail (only for operations that did
// not take effect) or info (either way, and an operation reported info
// before it took effect may still take effect any time later, as a raft
// proposal can commit after its client gave up); operations still open
// when the budget is spent never complete. Times advance by 0–2ms a step, so many
// events share a time.
func simulate(c chooser, cfg simConfig) []history.Event {
	var events []history.Event
	var now int64
	emit := func(e history.Event) {
		e.Index, e.Time = int64(len(events)), now
		events = append(events, e)
	}
	regs := map[string]*string{}
	written := map[string][]string{}
	reg := func(k string) *string {
		if v, ok := regs[k]; ok {
			return v
		}
		return cfg.initial
	}
	// apply is an operation's linearization point.
	apply := func(o *simOp) {
		o.applied = true
		k := o.inv.Key
		switch o.inv.F {
		case history.FRead:
			o.result = reg(k)
		case history.FWrite:
			regs[k] = o.inv.Value
			written[k] = append(written[k], *o.inv.Value)
		case history.FCAS:
			if eq(reg(k), o.inv.Prev) {
				regs[k], o.casOK = o.inv.Value, true
				written[k] = append(written[k], *o.inv.Value)
			}
		case history.FDelete:
			regs[k] = nil
		}
	}
	open := make([]*simOp, cfg.processes)
	var late []*simOp // reported info before taking effect; may still take effect
	invoked, seq := 0, 0
	partitioned := false
	for invoked < cfg.ops {
		now += int64(c.intn(3, "dt")) * 1e6
		if cfg.faults && c.intn(200, "fault") == 0 {
			if partitioned {
				emit(history.Event{Type: history.Info, Process: history.Nemesis, F: history.FaultHeal})
			} else {
				emit(history.Event{Type: history.Info, Process: history.Nemesis, F: history.FaultPartition, Value: history.Str("halves [n1 n2] [n3 n4 n5]")})
			}
			partitioned = !partitioned
			continue
		}
		if cfg.lateOdds == 0 {
			cfg.lateOdds = 10
		}
		if len(late) > 0 && c.intn(cfg.lateOdds, "late effect") == 0 {
			i := c.intn(len(late), "late op")
			apply(late[i])
			late = append(late[:i], late[i+1:]...)
			continue
		}
		p := c.intn(cfg.processes, "process")
		node := "n" + strconv.Itoa(1+p%5)
		o := open[p]
		switch {
		case o == nil:
			window := invoked * cfg.keys / cfg.ops
			key := "k" + strconv.Itoa((window+c.intn(cfg.activeKeys, "key"))%cfg.keys)
			e := history.Event{Type: history.Invoke, Process: history.Process(p), Key: key}
			fs := 10
			if cfg.deletes {
				fs = 12
			}
			switch c.intn(fs, "f") {
			case 0, 1, 2, 3, 4:
				e.F = history.FRead
			case 5, 6, 7:
				e.F = history.FWrite
				seq++
				e.Value = history.Str(strconv.Itoa(seq))
			case 10, 11:
				e.F = history.FDelete
			default:
				e.F = history.FCAS
				seq++
				e.Value = history.Str(strconv.Itoa(seq))
				e.Prev = reg(key)
				if ws := written[key]; len(ws) > 0 && c.intn(3, "stale cas") == 0 {
					e.Prev = history.Str(ws[c.intn(len(ws), "cas expects")])
				}
			}
			open[p] = &simOp{inv: e}
			invoked++
			emit(e)
		case !o.applied:
			comp := o.inv
			comp.Node = node
			switch roll := c.intn(100, "outcome"); {
			case roll < cfg.infoPct && o.inv.F != history.FRead:
				comp.Type = history.Info // timed out; may still take effect later
				if c.intn(2, "in flight") == 0 {
					late = append(late, o)
				}
			case roll < cfg.infoPct+cfg.failPct && o.inv.F != history.FRead:
				comp.Type = history.Fail
			default:
				apply(o)
				continue
			}
			open[p] = nil
			emit(comp)
		default:
			comp := o.inv
			comp.Node, comp.Type = node, history.OK
			switch {
			case c.intn(100, "info after effect") < cfg.infoPct:
				comp.Type = history.Info
			case o.inv.F == history.FRead:
				comp.Value = o.result
			case o.inv.F == history.FCAS && !o.casOK:
				comp.Type = history.Fail
			}
			open[p] = nil
			emit(comp)
		}
	}
	return events
}

func eq(a, b *string) bool { return a == nil && b == nil || a != nil && b != nil && *a == *b }
