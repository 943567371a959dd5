package history

import (
	"sort"
	"strings"
)

// Fault actions recorded as nemesis events (Event.F with Process ==
// Nemesis). A window-opening action stays in effect until its closing
// action; the others happen at an instant.
const (
	FaultPartition    = "partition"     // value: shape and groups; closed by heal
	FaultPacket       = "packet"        // delay, loss, duplication, reordering; closed by heal
	FaultHeal         = "heal"          // ends every partition and packet fault
	FaultKill         = "kill"          // value: node(s); closed by restart
	FaultRestart      = "restart"       //
	FaultPause        = "pause"         // value: node(s); closed by resume
	FaultResume       = "resume"        //
	FaultClock        = "clock"         // skew or strobe of tick rates; closed by clock-reset
	FaultClockReset   = "clock-reset"   //
	FaultLoseUnsynced = "lose-unsynced" // crash that also drops un-fsynced writes; closed by restart
	FaultTornWrite    = "torn-write"    // crash mid-write; closed by restart
	FaultWipe         = "wipe"          // crash and lose all data; closed by restart
	FaultAddNode      = "add-node"      // instant
	FaultRemoveNode   = "remove-node"   // instant
	FaultPromote      = "promote"       // a learner becomes a voter; instant
	FaultNote         = "note"          // a message from a scenario; instant
	FaultScriptError  = "script-error"  // a scenario failed; instant
)

// closers maps a window-opening action to the actions that close it.
var closers = map[string][]string{
	FaultPartition:    {FaultHeal},
	FaultPacket:       {FaultHeal},
	FaultKill:         {FaultRestart},
	FaultLoseUnsynced: {FaultRestart},
	FaultTornWrite:    {FaultRestart},
	FaultWipe:         {FaultRestart},
	FaultPause:        {FaultResume},
	FaultClock:        {FaultClockReset},
}

// Window is the span during which a fault was in effect. End is -1 when the
// fault was never closed before the history ended. Instant faults have
// Start == End.
type Window struct {
	F     string // the opening action
	Label string // the opening action and its description
	Start int64  // time, ns since test start
	End   int64
	// StartIndex and EndIndex are the history indices of the opening and
	// closing events (EndIndex -1 when open).
	StartIndex, EndIndex int64
}

// IsWindowOpener reports whether action f opens a fault window.
func IsWindowOpener(f string) bool { _, ok := closers[f]; return ok }

// FaultWindows pairs the nemesis events of a history into windows. A heal
// closes every open partition and packet window; a partition also closes
// the partition window before it (it replaces that partition). Every other closer
// (restart, resume, clock-reset) closes one window: the oldest open one
// with the same value (the same node: "restart n3" closes "kill n3"), or
// else the oldest open one of the kinds it closes. Events other than
// nemesis ones are ignored. The result is sorted by start time.
func FaultWindows(events []Event) []Window {
	var out []Window
	open := map[string][]int{} // opening action -> indices into out, oldest first
	var values []string        // per window: the opening event's value
	for _, e := range events {
		if e.Process != Nemesis {
			continue
		}
		label := e.F
		if e.Value != nil && *e.Value != "" {
			label += " " + *e.Value
		}
		if e.F == FaultPartition {
			// A partition replaces the one in force (the world's reach is
			// set, not added to): the previous window ends here.
			for _, i := range open[FaultPartition] {
				out[i].End, out[i].EndIndex = e.Time, e.Index
			}
			open[FaultPartition] = nil
		}
		if _, opens := closers[e.F]; opens {
			open[e.F] = append(open[e.F], len(out))
			values = append(values, deref(e.Value))
			out = append(out, Window{F: e.F, Label: label, Start: e.Time, End: -1, StartIndex: e.Index, EndIndex: -1})
			continue
		}
		closed := false
		// For closers other than heal: the open window they end — the
		// oldest one about the same thing (equal values: the same node),
		// else the oldest of any kind they close.
		oldest, same := -1, -1
		for _, opener := range sortedOpeners() {
			if !contains(closers[opener], e.F) || len(open[opener]) == 0 {
				continue
			}
			if e.F == FaultHeal {
				for _, i := range open[opener] {
					out[i].End, out[i].EndIndex = e.Time, e.Index
				}
				open[opener] = nil
				closed = true
				continue
			}
			for _, i := range open[opener] {
				if oldest < 0 || i < oldest {
					oldest = i
				}
				if e.Value != nil && values[i] == *e.Value && (same < 0 || i < same) {
					same = i
				}
			}
		}
		if same >= 0 {
			oldest = same
		}
		if oldest >= 0 {
			out[oldest].End, out[oldest].EndIndex = e.Time, e.Index
			op := out[oldest].F
			open[op] = remove(open[op], oldest)
			closed = true
		}
		if !closed && !isCloser(e.F) {
			values = append(values, deref(e.Value))
			out = append(out, Window{F: e.F, Label: label, Start: e.Time, End: e.Time, StartIndex: e.Index, EndIndex: e.Index})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start < out[j].Start })
	return out
}

func sortedOpeners() []string {
	ks := make([]string, 0, len(closers))
	for k := range closers {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func isCloser(f string) bool {
	for _, cs := range closers {
		if contains(cs, f) {
			return true
		}
	}
	return false
}

func remove(xs []int, x int) []int {
	out := xs[:0:0]
	for _, y := range xs {
		if y != x {
			out = append(out, y)
		}
	}
	return out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// A partition event's value may end with the set of nodes that still form
// a fully connected majority (every pair hears each other both ways):
// "bridge [n3 n5] <n2> [n1 n4] {connected majority n2 n3 n5}". Liveness
// checks use it: raft with PreVote and CheckQuorum must serve clients
// while such a majority exists and nothing else is wrong.
const connectedPrefix = " {connected majority "

// WithConnectedMajority appends the connected-majority note to desc.
func WithConnectedMajority(desc string, nodes []string) string {
	if len(nodes) == 0 {
		return desc
	}
	return desc + connectedPrefix + strings.Join(nodes, " ") + "}"
}

// ConnectedMajority returns the nodes of a partition event's
// connected-majority note, if it has one.
func ConnectedMajority(value string) ([]string, bool) {
	i := strings.LastIndex(value, connectedPrefix)
	if i < 0 || !strings.HasSuffix(value, "}") {
		return nil, false
	}
	return strings.Fields(value[i+len(connectedPrefix) : len(value)-1]), true
}
