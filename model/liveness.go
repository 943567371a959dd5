package model

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/splitbrain/splitbrain/harness/history"
)

// Liveness is the verdict of CheckLiveness: did the system serve clients
// again soon after the last fault ended?
type Liveness struct {
	Valid Validity `json:"valid"`
	// FinalHeal is when the last fault window closed, ns since the start of
	// the test; 0 when the history has no faults. -1 when a fault was never
	// healed.
	FinalHeal int64 `json:"final_heal_ns"`
	Bound     int64 `json:"bound_ns"`
	// FirstOKRead and FirstOKWrite are how long after the final heal the
	// first ok read and the first ok write or cas completed, in ns; -1 if
	// none did.
	FirstOKRead  int64 `json:"first_ok_read_ns"`
	FirstOKWrite int64 `json:"first_ok_write_ns"`
	// HistoryEnd is the time of the last event.
	HistoryEnd int64  `json:"history_end_ns"`
	Detail     string `json:"detail"`
}

// notFaults are nemesis actions that record something without being a
// fault.
var notFaults = map[string]bool{history.FaultNote: true, history.FaultScriptError: true}

// CheckLiveness checks that the system recovers: within bound of the final
// heal (the end of the last fault window; the start of the test if there
// were no faults), at least one read and one write or cas complete ok.
// It is Invalid if the history runs past the final heal plus bound without
// both, and Unknown if it ends before the bound elapsed, or if some fault
// was never healed. bound ≤ 0 means DefaultLivenessBound.
func CheckLiveness(events []history.Event, bound time.Duration) Liveness {
	if bound <= 0 {
		bound = DefaultLivenessBound
	}
	l := Liveness{Bound: int64(bound), FirstOKRead: -1, FirstOKWrite: -1}
	if len(events) > 0 {
		l.HistoryEnd = events[len(events)-1].Time
	}
	healIndex := int64(-1)
	for _, w := range history.FaultWindows(events) {
		if notFaults[w.F] {
			continue
		}
		if w.EndIndex < 0 {
			l.FinalHeal = -1
			l.Detail = fmt.Sprintf("the fault %q from %s was never healed, so there is no final heal to recover from", w.Label, secs(w.Start))
			return l
		}
		if w.EndIndex > healIndex {
			healIndex, l.FinalHeal = w.EndIndex, w.End
		}
	}
	for _, e := range events {
		if e.Index <= healIndex || e.Process == history.Nemesis || e.Type != history.OK {
			continue
		}
		after := e.Time - l.FinalHeal
		switch {
		case e.F == history.FRead && l.FirstOKRead < 0:
			l.FirstOKRead = after
		case e.F != history.FRead && l.FirstOKWrite < 0:
			l.FirstOKWrite = after
		}
	}
	if stall := partitionStall(events, l.Bound); stall != "" {
		l.Valid, l.Detail = Invalid, stall
		return l
	}
	within := func(d int64) bool { return d >= 0 && d <= l.Bound }
	from := "the final heal at " + secs(l.FinalHeal)
	if healIndex < 0 {
		from = "the start of the test (there were no faults)"
	}
	seen := fmt.Sprintf("%s; %s", firstDesc("write", l.FirstOKWrite, from), firstDesc("read", l.FirstOKRead, ""))
	switch {
	case within(l.FirstOKRead) && within(l.FirstOKWrite):
		l.Valid = Valid
		l.Detail = seen + fmt.Sprintf(", within the %v bound", bound)
	case l.HistoryEnd > l.FinalHeal+l.Bound:
		l.Valid = Invalid
		l.Detail = fmt.Sprintf("no ok %s within %v of %s: %s; the history runs to %s",
			missing(within(l.FirstOKRead), within(l.FirstOKWrite)), bound, from, seen, secs(l.HistoryEnd))
	default:
		l.Valid = Unknown
		l.Detail = fmt.Sprintf("the history ends at %s, %s after %s, before the %v bound elapsed, with no ok %s yet",
			secs(l.HistoryEnd), secs(l.HistoryEnd-l.FinalHeal), from, bound, missing(within(l.FirstOKRead), within(l.FirstOKWrite)))
	}
	return l
}

// firstDesc is "first ok write 1.200s after the final heal at 28.000s", or
// "no ok write after ..." when there was none. from may be empty ("after").
func firstDesc(what string, d int64, from string) string {
	if from != "" {
		from = " " + from
	}
	if d < 0 {
		return fmt.Sprintf("no ok %s after%s", what, from)
	}
	return fmt.Sprintf("first ok %s %s after%s", what, secs(d), from)
}

func missing(readOK, writeOK bool) string {
	switch {
	case !readOK && !writeOK:
		return "read and no ok write"
	case !readOK:
		return "read"
	}
	return "write"
}

// partitionStall checks availability under partial partitions. While a
// partition leaves a fully connected majority of the voters (noted on the
// event by the nemesis, see history.ConnectedMajority) and no other fault
// is in effect, raft with PreVote and CheckQuorum elects or keeps a leader
// among that majority, so a client that sends writes to one of its nodes
// must see one succeed. The rule demands only what some client could have
// observed: its clock starts at the first write or cas sent, during the
// partition, to a node of the majority (the events' node); if no client
// sent one there, nothing is demanded. From then on, a write (or cas)
// invoked during the partition must complete ok within bound, for
// partitions that last that long with nothing else going on (a write
// already in flight when the partition began proves nothing: it may have
// committed before). It returns a description of the first stall, or "".
func partitionStall(events []history.Event, bound int64) string {
	windows := history.FaultWindows(events)
	end := int64(0)
	if len(events) > 0 {
		end = events[len(events)-1].Time
	}
	for i, w := range windows {
		if w.F != history.FaultPartition {
			continue
		}
		maj, ok := history.ConnectedMajority(w.Label)
		if !ok {
			continue
		}
		asked := firstWriteTo(events, w, maj)
		if asked == nil {
			continue // no client asked the majority for anything it could observe
		}
		deadline := asked.Time + bound
		if w.End >= 0 && w.End < deadline || w.End < 0 && end < deadline {
			continue // healed, or the history ended, before the bound elapsed
		}
		quiet := true // nothing else in effect until the deadline
		for j, o := range windows {
			if j == i || notFaults[o.F] {
				continue
			}
			if o.Start < deadline && (o.End < 0 || o.End > w.Start) && !(o.Start == o.End && o.Start < w.Start) {
				quiet = false
				break
			}
		}
		if !quiet {
			continue
		}
		// Progress is an ok write invoked during the partition: one
		// already in flight when it began may have committed before it.
		served := false
		invoked := map[history.Process]int64{} // each process's open invocation
		for _, e := range events {
			if e.Process == history.Nemesis || e.Time > deadline {
				continue
			}
			if e.Type == history.Invoke {
				invoked[e.Process] = e.Index
				continue
			}
			if e.Type == history.OK && e.F != history.FRead && invoked[e.Process] > w.StartIndex {
				served = true
				break
			}
		}
		if !served {
			return fmt.Sprintf("no ok write within %s of the first write sent to the connected majority during the partition (%s to %s at %s; the partition at %s: %s), although a majority of the voters (%s) stayed fully connected and no other fault was in effect",
				secs(bound), asked.F, asked.Node, secs(asked.Time), secs(w.Start), w.Label, strings.Join(maj, " "))
		}
	}
	return ""
}

// firstWriteTo returns the first write or cas invoked during w on a node
// of nodes, or nil.
func firstWriteTo(events []history.Event, w history.Window, nodes []string) *history.Event {
	for i := range events {
		e := &events[i]
		if e.Index <= w.StartIndex || w.EndIndex >= 0 && e.Index >= w.EndIndex {
			continue
		}
		if e.Process != history.Nemesis && e.Type == history.Invoke && e.F != history.FRead && slices.Contains(nodes, e.Node) {
			return e
		}
	}
	return nil
}
