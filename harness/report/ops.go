package report

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/splitbrain/splitbrain/harness/history"
)

// op is one client operation: its invoke and, when the history has one,
// its completion.
type op struct {
	Process  history.Process
	F, Key   string
	Invoke   *history.Event // points into the parsed events
	InvPos   int            // position of the invoke in the events slice
	Done     *history.Event // the completion; nil when none
	DonePos  int            // position of the completion, -1 when none
	HasDone  bool
	Type     history.Type // ok, fail or info; info when never completed
	Ordinal  int          // 0-based position among the history's ops
	Complete int64        // completion time, or the end of the history when none
}

// Latency is the time from invoke to completion (or to the end of the
// history for an op that never completed), in nanoseconds.
func (o *op) Latency() int64 { return o.Complete - o.Invoke.Time }

// parsed is a history split into client operations, the windows of the
// faults that happened, and marks: nemesis events that are not faults.
type parsed struct {
	Events  []history.Event
	Ops     []op // ordered by invoke position
	Windows []history.Window
	// Marks are notes (a scenario's message), faults the nemesis skipped
	// (recorded as notes saying why: no node matched, no leader) and
	// faults that failed (recorded with their error), as instants of kind
	// history.FaultNote whose label says which. They open no window; a
	// closer among them (a heal recorded with an error) still closes
	// what it closes, as history.FaultWindows pairs it.
	Marks []history.Window
	End   int64 // the latest time of any event, ns
	// Orphans counts completions with no open invoke of their process;
	// they are left out of the report.
	Orphans int
	// pos maps a history index to its position in Events; nil when every
	// event's index is its position, as in any history Read accepts.
	pos map[int64]int
}

// parse pairs each invoke with the next completion of its process. It
// accepts histories that history.Read would reject (an invoke while the
// process still has an op open closes the earlier op as never completed;
// a completion with no open invoke is counted as an orphan) so a report
// can still be drawn for a damaged history.
func parse(events []history.Event) *parsed {
	p := &parsed{Events: events}
	invokes := 0
	for i := range events {
		e := &events[i]
		if e.Index != int64(i) && p.pos == nil {
			p.pos = make(map[int64]int, len(events))
			for j := range events {
				if _, dup := p.pos[events[j].Index]; !dup {
					p.pos[events[j].Index] = j
				}
			}
		}
		if e.Time > p.End {
			p.End = e.Time
		}
		if e.Process != history.Nemesis && e.Type == history.Invoke {
			invokes++
		}
	}
	p.Ops = make([]op, 0, invokes)
	open := map[history.Process]int{} // process -> index into p.Ops
	for i := range events {
		e := &events[i]
		if e.Process == history.Nemesis {
			continue
		}
		if e.Type == history.Invoke {
			// An op still open here is never completed; its entry is
			// already in p.Ops as info and stays so.
			open[e.Process] = len(p.Ops)
			p.Ops = append(p.Ops, op{Process: e.Process, F: e.F, Key: e.Key, Invoke: e,
				InvPos: i, DonePos: -1, Type: history.Info, Ordinal: len(p.Ops)})
			continue
		}
		k, ok := open[e.Process]
		if !ok {
			p.Orphans++
			continue
		}
		delete(open, e.Process)
		o := &p.Ops[k]
		o.Done, o.DonePos, o.HasDone, o.Type = e, i, true, e.Type
	}
	for i := range p.Ops {
		o := &p.Ops[i]
		if o.HasDone {
			o.Complete = o.Done.Time
		} else {
			o.Complete = p.End
		}
		if o.Complete < o.Invoke.Time {
			o.Complete = o.Invoke.Time
		}
	}
	p.Windows, p.Marks = splitFaults(events)
	return p
}

// splitFaults pairs the nemesis events among events into the windows of
// the faults that happened, and the marks: notes, skipped and failed
// faults.
//
// Every nemesis event goes to history.FaultWindows, the one pairing of
// windows that liveness uses too, so that the plots, the timeline and the
// verdict agree: a heal or clock-reset recorded with an error still closes
// its window there, and a refused opener opens none. What is a mark (a
// note, an event with an error) is drawn as one, and is no instant window
// besides.
func splitFaults(events []history.Event) (windows, marks []history.Window) {
	var nemesis []history.Event
	marked := map[int64]bool{}
	for i := range events {
		e := &events[i]
		if e.Process != history.Nemesis {
			continue
		}
		if m, ok := markOf(e); ok {
			marks = append(marks, m)
			marked[e.Index] = true
		}
		nemesis = append(nemesis, *e)
	}
	for _, w := range history.FaultWindows(nemesis) {
		if w.StartIndex == w.EndIndex && marked[w.StartIndex] {
			continue
		}
		windows = append(windows, w)
	}
	return windows, marks
}

// markOf returns the mark of nemesis event e, if e is not a fault that
// happened: a note, or an event recorded with an error.
func markOf(e *history.Event) (history.Window, bool) {
	if e.F != history.FaultNote && e.Error == "" {
		return history.Window{}, false
	}
	what := e.F
	if e.Value != nil && *e.Value != "" {
		what += " " + *e.Value
	}
	label := what
	switch {
	case e.F == history.FaultNote && e.Error != "":
		label = "skipped: " + strings.TrimPrefix(what, history.FaultNote+" ") + " (" + e.Error + ")"
	case e.Error != "":
		label = "failed: " + what + " (" + e.Error + ")"
	}
	return history.Window{F: history.FaultNote, Label: label, Start: e.Time, End: e.Time, StartIndex: e.Index, EndIndex: e.Index}, true
}

// position returns the slice position of history index idx.
func (p *parsed) position(idx int64) (int, bool) {
	if p.pos == nil {
		return int(idx), idx >= 0 && idx < int64(len(p.Events))
	}
	i, ok := p.pos[idx]
	return i, ok
}

// fKinds are the client functions in legend order; other functions (a
// history from a future workload) follow, sorted.
var fKinds = []string{history.FRead, history.FWrite, history.FCAS}

// typeKinds are the completion types in legend order.
var typeKinds = []history.Type{history.OK, history.Fail, history.Info}

// seconds formats a nanosecond time as seconds with microsecond precision.
func seconds(ns int64) string {
	return strconv.FormatFloat(float64(ns)/1e9, 'f', 6, 64) + " s"
}

// duration formats a nanosecond span in the unit that reads best.
func duration(ns int64) string {
	switch {
	case ns < 1e3:
		return fmt.Sprintf("%d ns", ns)
	case ns < 1e6:
		return strconv.FormatFloat(float64(ns)/1e3, 'f', 1, 64) + " µs"
	case ns < 1e9:
		return strconv.FormatFloat(float64(ns)/1e6, 'f', 3, 64) + " ms"
	default:
		return strconv.FormatFloat(float64(ns)/1e9, 'f', 3, 64) + " s"
	}
}

// valueText renders an op's value the way Jepsen prints it: nil for
// absent, [expected new] for cas.
func valueText(e *history.Event) string {
	str := func(s *string) string {
		if s == nil {
			return "nil"
		}
		return strconv.Quote(*s)
	}
	if e.F == history.FCAS && e.Process != history.Nemesis {
		return "[" + str(e.Prev) + " " + str(e.Value) + "]"
	}
	return str(e.Value)
}

// shortValue is valueText without quotes, cut to n runes, for box labels.
func shortValue(e *history.Event, n int) string {
	str := func(s *string) string {
		if s == nil {
			return "nil"
		}
		return *s
	}
	var v string
	if e.F == history.FCAS && e.Process != history.Nemesis {
		v = str(e.Prev) + "→" + str(e.Value)
	} else {
		v = str(e.Value)
	}
	return truncate(v, n)
}

// truncate cuts s to at most n runes, marking the cut with an ellipsis.
func truncate(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	if n <= 1 {
		return "…"
	}
	return string(r[:n-1]) + "…"
}

// thousands formats n with thin separators: 12,345.
func thousands(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
