package report

import (
	"sort"

	"github.com/splitbrain/splitbrain/harness/history"
)

// HistoryInfo is what the report must know of a history before it reads
// its events one at a time: what a first pass over it (a Survey) finds.
type HistoryInfo struct {
	Nemesis    []history.Event // every nemesis event, in order
	NemesisPos []int           // the position of each in the history
	Events     int             // events in all
	End        int64           // the latest time of any event, ns
	Ops        int             // client operations (invocations)
	OKOps      int             // of them, those that completed ok
	Fs         []string        // the client functions present, sorted
	Orphans    int             // completions with no open invoke
}

// Survey is the first pass over a history for the report: Add every
// event, in order, then Info. Its memory holds the nemesis events and the
// open operations, not the history.
type Survey struct {
	info HistoryInfo
	fs   map[string]bool
	open map[history.Process]bool
}

// NewSurvey returns an empty survey.
func NewSurvey() *Survey {
	return &Survey{fs: map[string]bool{}, open: map[history.Process]bool{}}
}

// Add reads the next event.
func (s *Survey) Add(e *history.Event) {
	i := &s.info
	i.End = max(i.End, e.Time)
	pos := i.Events
	i.Events++
	switch {
	case e.Process == history.Nemesis:
		i.Nemesis = append(i.Nemesis, *e)
		i.NemesisPos = append(i.NemesisPos, pos)
	case e.Type == history.Invoke:
		i.Ops++
		s.open[e.Process] = true
		s.fs[e.F] = true
	case !s.open[e.Process]:
		i.Orphans++
	default:
		delete(s.open, e.Process)
		if e.Type == history.OK {
			i.OKOps++
		}
	}
}

// Info is what the survey found.
func (s *Survey) Info() HistoryInfo {
	info := s.info
	info.Fs = nil
	for f := range s.fs {
		info.Fs = append(info.Fs, f)
	}
	sort.Strings(info.Fs)
	return info
}

// SurveyOf surveys a history in memory.
func SurveyOf(events []history.Event) HistoryInfo {
	s := NewSurvey()
	for i := range events {
		s.Add(&events[i])
	}
	return s.Info()
}

// opStream pairs a history's events into ops as they are read, as parse
// does in memory, and hands each op to emit once it is complete: at its
// completion, when its process invokes again first (it never completed),
// or at close (still open when the history ended). Ops are numbered
// (Ordinal) in invocation order; they are emitted in completion order.
// Invoke and Done point to copies owned by the op.
type opStream struct {
	end     int64 // the end of the history, for ops never completed
	pos     int
	next    int
	open    map[history.Process]*opEvents
	orphans int
	emit    func(*op)
	invoked func(*op) // if set, told of each op at its invoke
}

func newOpStream(end int64, emit func(*op)) *opStream {
	return &opStream{end: end, open: map[history.Process]*opEvents{}, emit: emit}
}

func (s *opStream) add(e *history.Event) {
	pos := s.pos
	s.pos++
	if e.Process == history.Nemesis {
		return
	}
	if e.Type == history.Invoke {
		if o := s.open[e.Process]; o != nil {
			s.finish(&o.op) // never completed
		}
		// One allocation for the op and both its events.
		b := &opEvents{inv: *e}
		b.op = op{Process: e.Process, F: e.F, Key: e.Key, Invoke: &b.inv, InvPos: pos, DonePos: -1,
			Type: history.Info, Ordinal: s.next}
		s.open[e.Process] = b
		s.next++
		if s.invoked != nil {
			s.invoked(&b.op)
		}
		return
	}
	o := s.open[e.Process]
	if o == nil {
		s.orphans++
		return
	}
	delete(s.open, e.Process)
	o.done = *e
	o.Done, o.DonePos, o.HasDone, o.Type = &o.done, pos, true, e.Type
	s.finish(&o.op)
}

// opEvents is an op with its events, in one allocation.
type opEvents struct {
	op
	inv, done history.Event
}

func (s *opStream) finish(o *op) {
	if o.HasDone {
		o.Complete = o.Done.Time
	} else {
		o.Complete = s.end
	}
	o.Complete = max(o.Complete, o.Invoke.Time)
	s.emit(o)
}

// close emits the ops still open, in invocation order.
func (s *opStream) close() {
	open := make([]*op, 0, len(s.open))
	for _, o := range s.open {
		open = append(open, &o.op)
	}
	sort.Slice(open, func(i, j int) bool { return open[i].Ordinal < open[j].Ordinal })
	clear(s.open)
	for _, o := range open {
		s.finish(o)
	}
}
