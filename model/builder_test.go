package model

import (
	"testing"

	"github.com/splitbrain/splitbrain/harness/history"
)

// builder assembles hand-made histories: each event gets the next index
// and, unless at moved the clock, a time 10ms after the previous one.
type builder struct {
	events []history.Event
	now    int64
	open   map[int]history.Event
	nodes  map[int]string // node that serves each process's completions
}

func newBuilder() *builder {
	return &builder{open: map[int]history.Event{}, nodes: map[int]string{}}
}

func v(s string) *string { return &s }

// at sets the time of the next event, in seconds.
func (b *builder) at(sec float64) *builder { b.now = int64(sec * 1e9); return b }

func (b *builder) add(e history.Event) *builder {
	e.Index = int64(len(b.events))
	e.Time = b.now
	b.now += 10e6
	b.events = append(b.events, e)
	return b
}

// inv invokes f on key. For cas, vals are expected and new; for write, the
// value.
func (b *builder) inv(p int, f, key string, vals ...*string) *builder {
	e := history.Event{Type: history.Invoke, Process: history.Process(p), F: f, Key: key}
	switch f {
	case history.FWrite:
		e.Value = vals[0]
	case history.FCAS:
		e.Prev, e.Value = vals[0], vals[1]
	}
	b.open[p] = e
	return b.add(e)
}

func (b *builder) complete(p int, t history.Type, read *string) *builder {
	inv, ok := b.open[p]
	if !ok {
		panic("builder: no open operation")
	}
	delete(b.open, p)
	e := inv
	e.Type, e.Node = t, b.nodes[p]
	if inv.F == history.FRead {
		e.Value = read
	}
	return b.add(e)
}

func (b *builder) ok(p int) *builder                  { return b.complete(p, history.OK, nil) }
func (b *builder) okRead(p int, val *string) *builder { return b.complete(p, history.OK, val) }
func (b *builder) fail(p int) *builder                { return b.complete(p, history.Fail, nil) }
func (b *builder) info(p int) *builder                { return b.complete(p, history.Info, nil) }
func (b *builder) nemesis(f, desc string) *builder {
	e := history.Event{Type: history.Info, Process: history.Nemesis, F: f}
	if desc != "" {
		e.Value = &desc
	}
	return b.add(e)
}

// write, read and cas are whole operations by process p.
func (b *builder) write(p int, key, val string) *builder {
	return b.inv(p, history.FWrite, key, v(val)).ok(p)
}

func (b *builder) read(p int, key string, val *string) *builder {
	return b.inv(p, history.FRead, key).okRead(p, val)
}

func (b *builder) cas(p int, key, from, to string) *builder {
	return b.inv(p, history.FCAS, key, v(from), v(to)).ok(p)
}

func check(t *testing.T, events []history.Event, opts Options) Linearizability {
	t.Helper()
	res, err := CheckLinearizable(events, opts)
	if err != nil {
		t.Fatalf("CheckLinearizable: %v", err)
	}
	return res
}
