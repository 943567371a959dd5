package model

import "github.com/splitbrain/splitbrain/harness/history"

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
// after a partition began. Each of these is the first of its kind after
// some nemesis event, so keeping, after every nemesis event (and from the
// start), the first ok read, the first ok non-read and the first non-read
// invocation on each node keeps them all. That is a handful of events per
// fault: memory grows with the faults, not with the operations.
type LivenessEvents struct {
	kept    []history.Event
	last    history.Event
	any     bool
	okRead  bool
	okWrite bool
	invoked map[string]bool // nodes a non-read was invoked on since the last nemesis event
}

// NewLivenessEvents returns an empty LivenessEvents.
func NewLivenessEvents() *LivenessEvents { return &LivenessEvents{invoked: map[string]bool{}} }

// Add reads the next event of the history.
func (l *LivenessEvents) Add(e *history.Event) {
	l.last, l.any = *e, true
	keep := false
	switch {
	case e.Process == history.Nemesis:
		keep = true
		l.okRead, l.okWrite = false, false
		clear(l.invoked)
	case e.Type == history.OK && e.F == history.FRead:
		keep, l.okRead = !l.okRead, true
	case e.Type == history.OK:
		keep, l.okWrite = !l.okWrite, true
	case e.Type == history.Invoke && e.F != history.FRead && !l.invoked[e.Node]:
		keep, l.invoked[e.Node] = true, true
	}
	if keep {
		l.kept = append(l.kept, *e)
	}
}

// Events returns the events kept, in history order, the last event of the
// history among them.
func (l *LivenessEvents) Events() []history.Event {
	out := l.kept
	if l.any && (len(out) == 0 || out[len(out)-1].Index != l.last.Index) {
		out = append(out[:len(out):len(out)], l.last)
	}
	return out
}
