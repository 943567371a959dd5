package model

import (
	"cmp"
	"slices"

	"github.com/splitbrain/splitbrain/harness/history"
)

// LivenessEvents keeps, of a history read one event at a time, the few
// events that CheckLiveness and NoNodeUp look at, so that a history too
// large for memory can be judged from them: CheckLiveness(Events()) is
// CheckLiveness of the whole history, and so is NoNodeUp
// (TestLivenessEventsSuffice).
//
// Both read every nemesis event, the time of the last event, and of the
// client events only firsts after some nemesis event: the first ok read
// and the first ok write (or cas, or delete) after the final heal, the
// first write invoked on each node during a partition, the first ok write
// invoked after a partition began, with its invocation. Each of these is
// the first of its kind after some nemesis event, so keeping, after every
// nemesis event (and from the start), the first ok read, the first ok
// non-read, the first ok non-read invoked since (and its invocation) and
// the first non-read invocation on each node keeps them all. That is a
// handful of events per fault, and the open invocation of each process:
// memory grows with the faults and the clients, not with the operations.
type LivenessEvents struct {
	kept    []history.Event
	last    history.Event
	any     bool
	okRead  bool
	okWrite bool
	invoked map[string]bool // nodes a non-read was invoked on since the last nemesis event
	// open is each process's open non-read invocation; since the index of
	// the last nemesis event (-1: none), and okSince whether an ok
	// non-read invoked after it was kept.
	open    map[history.Process]history.Event
	since   int64
	okSince bool
}

// NewLivenessEvents returns an empty LivenessEvents.
func NewLivenessEvents() *LivenessEvents {
	return &LivenessEvents{invoked: map[string]bool{}, open: map[history.Process]history.Event{}, since: -1}
}

// Add reads the next event of the history.
func (l *LivenessEvents) Add(e *history.Event) {
	l.last, l.any = *e, true
	keep := false
	switch {
	case e.Process == history.Nemesis:
		keep = true
		l.okRead, l.okWrite = false, false
		clear(l.invoked)
		l.since, l.okSince = e.Index, false
	case e.Type == history.OK && e.F == history.FRead:
		keep, l.okRead = !l.okRead, true
	case e.Type == history.Invoke && e.F != history.FRead:
		l.open[e.Process] = *e
		if !l.invoked[e.Node] {
			keep, l.invoked[e.Node] = true, true
		}
	case e.F != history.FRead: // a completion
		inv, open := l.open[e.Process]
		delete(l.open, e.Process)
		if e.Type != history.OK {
			break
		}
		keep, l.okWrite = !l.okWrite, true
		if open && inv.Index > l.since && !l.okSince {
			keep, l.okSince = true, true
			if !l.isKept(inv.Index) {
				l.kept = append(l.kept, inv)
			}
		}
	}
	if keep {
		l.kept = append(l.kept, *e)
	}
}

// isKept reports whether the event at index was kept (kept events after
// the last nemesis event are few).
func (l *LivenessEvents) isKept(index int64) bool {
	for i := len(l.kept) - 1; i >= 0 && l.kept[i].Index >= index; i-- {
		if l.kept[i].Index == index {
			return true
		}
	}
	return false
}

// Events returns the events kept, in history order, the last event of the
// history among them.
func (l *LivenessEvents) Events() []history.Event {
	// An invocation is kept when its ok comes: put it back in order.
	out := slices.Clone(l.kept)
	slices.SortStableFunc(out, func(a, b history.Event) int { return cmp.Compare(a.Index, b.Index) })
	if l.any && (len(out) == 0 || out[len(out)-1].Index != l.last.Index) {
		out = append(out[:len(out):len(out)], l.last)
	}
	return out
}
