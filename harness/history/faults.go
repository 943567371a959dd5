package history

import (
	"slices"
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
	FaultStallDisk    = "stall-disk"    // fsyncs hang, the node runs on; closed by unstall-disk
	FaultUnstallDisk  = "unstall-disk"  //
	FaultAddNode      = "add-node"      // instant
	FaultRemoveNode   = "remove-node"   // instant
	FaultPromote      = "promote"       // a learner becomes a voter; instant
	FaultNote         = "note"          // a message from a scenario; instant
	FaultScriptError  = "script-error"  // a scenario failed; instant
)

// openers are the actions that open a fault window: partition and packet
// (closed by heal), and the node faults of nodeState.
var openers = map[string]bool{
	FaultPartition: true, FaultPacket: true,
	FaultKill: true, FaultLoseUnsynced: true, FaultTornWrite: true, FaultWipe: true,
	FaultPause: true, FaultClock: true, FaultStallDisk: true,
}

// faultFamilies maps a recorded fault action to its fault family (the
// families of nemesis.Families); actions that end faults or only record
// something have none.
var faultFamilies = map[string]string{
	FaultPartition: "partition", FaultPacket: "packet",
	FaultKill: "kill", FaultPause: "pause", FaultClock: "clock",
	FaultLoseUnsynced: "disk", FaultTornWrite: "disk", FaultWipe: "disk", FaultStallDisk: "disk",
	FaultAddNode: "membership", FaultRemoveNode: "membership", FaultPromote: "membership",
}

// FaultFamily returns the fault family of a recorded action ("" for
// actions that end faults or only record something).
func FaultFamily(action string) string { return faultFamilies[action] }

// nodeState names the state a node fault, or its closer, is about: a node
// is down (crashed: kill, lose-unsynced, torn-write, wipe; until restart),
// paused (until resume), clocked (until clock-reset) or stalled (its disk,
// until unstall-disk), or none of these. Partitions
// and packet faults are of the network, not of one node.
var nodeState = map[string]string{
	FaultKill: "down", FaultLoseUnsynced: "down", FaultTornWrite: "down", FaultWipe: "down", FaultRestart: "down",
	FaultPause: "paused", FaultResume: "paused",
	FaultClock: "clocked", FaultClockReset: "clocked",
	FaultStallDisk: "stalled", FaultUnstallDisk: "stalled",
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
func IsWindowOpener(f string) bool { return openers[f] }

// FaultWindows pairs the nemesis events of a history into windows, sorted
// by start time. Events other than nemesis ones are ignored. The rules:
//
//   - A window-opening event recorded with an error did not take effect
//     (the world refused it, or cannot do it): it opens no window and
//     yields nothing.
//   - Network faults: a heal closes every open partition and packet
//     window; a partition also closes the partition window before it (it
//     replaces that partition).
//   - Node faults are paired by node: the event's node, or else the first
//     word of its value when that names a node ("n5 replaced by n6" is
//     about n5). A node is down from a crash (kill, lose-unsynced,
//     torn-write, wipe) until a restart of it, paused until a resume,
//     clocked until a clock-reset, stalled until an unstall-disk. A crash
//     of a node that is already down, a pause of one already paused or a
//     stall of a disk already stalled, is no new fault: it opens no
//     window (the first one is still open). A new clock change replaces
//     the one before it. A restart (resume, clock-reset, unstall-disk) closes the open
//     window of its node and nothing else; one that names no node closes
//     the oldest open window with its exact value, else the oldest of the
//     kinds it closes (for histories that do not name nodes).
//   - A closer recorded with an error still closes: the nemesis no longer
//     holds the fault in effect.
//   - Every other nemesis event (add-node, remove-node, promote, a note) is
//     an instant window, Start == End.
func FaultWindows(events []Event) []Window {
	var out []Window
	type opened struct {
		window      int
		node, value string
	}
	network := map[string][]int{}  // partition, packet -> open windows
	nodes := map[string][]opened{} // node state -> open windows, oldest first
	closeAt := func(i int, e Event) { out[i].End, out[i].EndIndex = e.Time, e.Index }
	// find returns the position in nodes[state] of the open window of
	// node, or -1.
	find := func(state, node string) int {
		for k, o := range nodes[state] {
			if o.node == node {
				return k
			}
		}
		return -1
	}
	for _, e := range events {
		if e.Process != Nemesis {
			continue
		}
		label := e.F
		if e.Value != nil && *e.Value != "" {
			label += " " + *e.Value
		}
		w := Window{F: e.F, Label: label, Start: e.Time, End: -1, StartIndex: e.Index, EndIndex: -1}
		state, node := nodeState[e.F], subject(e)
		switch {
		case IsWindowOpener(e.F) && e.Error != "":
			// Refused: nothing happened.
		case e.F == FaultPartition || e.F == FaultPacket:
			if e.F == FaultPartition {
				// A partition replaces the one in force (the world's
				// reach is set, not added to).
				for _, i := range network[FaultPartition] {
					closeAt(i, e)
				}
				network[FaultPartition] = nil
			}
			network[e.F] = append(network[e.F], len(out))
			out = append(out, w)
		case e.F == FaultHeal:
			for _, f := range []string{FaultPartition, FaultPacket} {
				for _, i := range network[f] {
					closeAt(i, e)
				}
				network[f] = nil
			}
		case IsWindowOpener(e.F):
			if k := find(state, node); node != "" && k >= 0 {
				if state != "clocked" {
					continue // already down (paused): its window stays open
				}
				closeAt(nodes[state][k].window, e) // a new clock change replaces the old one
				nodes[state] = slices.Delete(nodes[state], k, k+1)
			}
			nodes[state] = append(nodes[state], opened{len(out), node, deref(e.Value)})
			out = append(out, w)
		case state != "":
			k := -1
			if node != "" {
				k = find(state, node) // its node's window, or none
			} else if len(nodes[state]) > 0 {
				// A closer that names no node: the oldest open window with
				// its value, else the oldest open one of its kinds.
				k = 0
				for j, o := range nodes[state] {
					if o.value == deref(e.Value) {
						k = j
						break
					}
				}
			}
			if k >= 0 {
				closeAt(nodes[state][k].window, e)
				nodes[state] = slices.Delete(nodes[state], k, k+1)
			}
		default:
			w.End, w.EndIndex = e.Time, e.Index
			out = append(out, w)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start < out[j].Start })
	return out
}

// subject is the node a node-level event is about: its node, or else the
// first word of its value if that is a node name ("n3", "n5 replaced by
// n6"); "" if neither.
func subject(e Event) string {
	if e.Node != "" {
		return e.Node
	}
	first, _, _ := strings.Cut(deref(e.Value), " ")
	if len(first) > 1 && first[0] == 'n' && strings.Trim(first[1:], "0123456789") == "" {
		return first
	}
	return ""
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
