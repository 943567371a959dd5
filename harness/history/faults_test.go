package history

import (
	"fmt"
	"testing"
)

func nem(i int64, f, v string) Event {
	return Event{Index: i, Time: i * 1000, Type: Info, Process: Nemesis, F: f, Value: Str(v)}
}

func TestFaultWindows(t *testing.T) {
	evs := []Event{
		nem(0, FaultKill, "n3"),
		nem(1, FaultKill, "n1"),
		nem(2, FaultPartition, "halves"),
		nem(3, FaultRestart, "n1"),
		nem(4, FaultPacket, "loss=0.1"),
		nem(5, FaultHeal, ""),
		nem(6, FaultAddNode, "n6"),
		nem(7, FaultPause, "n2"),
	}
	ws := FaultWindows(evs)
	type span struct {
		label      string
		start, end int64
	}
	want := []span{
		{"kill n3", 0, -1},
		{"kill n1", 1000, 3000},
		{"partition halves", 2000, 5000},
		{"packet loss=0.1", 4000, 5000},
		{"add-node n6", 6000, 6000},
		{"pause n2", 7000, -1},
	}
	if len(ws) != len(want) {
		t.Fatalf("got %d windows %+v, want %d", len(ws), ws, len(want))
	}
	for i, w := range want {
		if ws[i].Label != w.label || ws[i].Start != w.start || ws[i].End != w.end {
			t.Errorf("window %d = %q [%d, %d], want %q [%d, %d]", i, ws[i].Label, ws[i].Start, ws[i].End, w.label, w.start, w.end)
		}
	}
}

// spans renders windows as "label [start,end]" in units of the test
// events' index (time = index*1000).
func spans(ws []Window) []string {
	var out []string
	for _, w := range ws {
		end := "open"
		if w.End >= 0 {
			end = fmt.Sprint(w.End / 1000)
		}
		out = append(out, fmt.Sprintf("%s [%d,%s]", w.Label, w.Start/1000, end))
	}
	return out
}

func nodeEv(i int64, f, node, v, err string) Event {
	e := nem(i, f, v)
	e.Node, e.Error = node, err
	return e
}

// TestFaultWindowsPairing: windows pair by node, refused faults open
// none, a crash of a node already down is no new fault, and a replacement
// closes the window of the node it replaces. Each case is from a history
// that paired wrongly before.
func TestFaultWindowsPairing(t *testing.T) {
	for _, tc := range []struct {
		name string
		evs  []Event
		want []string
	}{
		{"a refused fault opens no window (process mode: torn-write is sim-only)", []Event{
			nodeEv(2, FaultTornWrite, "n3", "n3", "proc: torn-write needs a filesystem layer …: not supported in this world"),
			nem(5, FaultHeal, "heal-all"),
		}, nil},
		{"a refused partition leaves the one in force open", []Event{
			nem(1, FaultPartition, "halves"),
			{Index: 2, Time: 2000, Type: Info, Process: Nemesis, F: FaultPartition, Value: Str("bridge"), Error: "refused"},
			nem(3, FaultHeal, ""),
		}, []string{"partition halves [1,3]"}},
		{"a kill of a node already down (after a torn write) is no new fault", []Event{
			nodeEv(1, FaultTornWrite, "n3", "n3", ""),
			nodeEv(2, FaultKill, "n3", "n3", ""),
			nodeEv(3, FaultRestart, "n3", "n3", ""),
			nodeEv(4, FaultKill, "n3", "n3", ""),
			nodeEv(5, FaultRestart, "n3", "n3", ""),
		}, []string{"torn-write n3 [1,3]", "kill n3 [4,5]"}},
		{"a replacement closes the window of the node it replaces", []Event{
			nodeEv(1, FaultKill, "n2", "n2", ""),
			nodeEv(2, FaultWipe, "n5", "n5", ""),
			nodeEv(3, FaultRemoveNode, "n5", "n5 (cannot restart: data lost)", ""),
			nodeEv(4, FaultAddNode, "n6", "n6 voter (replaces n5)", ""),
			nodeEv(5, FaultRestart, "n5", "n5 replaced by n6", ""),
			nodeEv(6, FaultRestart, "n2", "n2", ""),
		}, []string{"kill n2 [1,6]", "wipe n5 [2,5]", "remove-node n5 (cannot restart: data lost) [3,3]", "add-node n6 voter (replaces n5) [4,4]"}},
		{"the node is read from the value when the event has none", []Event{
			nem(1, FaultKill, "n2"),
			nem(2, FaultKill, "n5"),
			nem(3, FaultRestart, "n5 replaced by n6"),
		}, []string{"kill n2 [1,open]", "kill n5 [2,3]"}},
		{"a restart of a node with nothing open closes nothing", []Event{
			nodeEv(1, FaultKill, "n2", "n2", ""),
			nodeEv(2, FaultRestart, "n4", "n4 (removed from the cluster)", ""),
		}, []string{"kill n2 [1,open]"}},
		{"a pause of a paused node is no new fault; a new clock change replaces the old", []Event{
			nodeEv(1, FaultPause, "n1", "n1", ""),
			nodeEv(2, FaultPause, "n1", "n1", ""),
			nodeEv(3, FaultClock, "n1", "n1 rate 2", ""),
			nodeEv(4, FaultClock, "n1", "n1 rate 0.5", ""),
			nodeEv(5, FaultResume, "n1", "n1", ""),
			nodeEv(6, FaultClockReset, "n1", "n1", ""),
		}, []string{"pause n1 [1,5]", "clock n1 rate 2 [3,4]", "clock n1 rate 0.5 [4,6]"}},
		{"a stalled disk is a window of its own, closed by unstall-disk; a second stall opens none", []Event{
			nodeEv(1, FaultStallDisk, "n2", "n2", ""),
			nodeEv(2, FaultPause, "n2", "n2", ""),
			nodeEv(3, FaultStallDisk, "n2", "n2", ""),
			nodeEv(4, FaultResume, "n2", "n2", ""),
			nodeEv(5, FaultUnstallDisk, "n2", "n2", ""),
			nodeEv(6, FaultStallDisk, "n3", "n3", "proc: a disk stall needs a filesystem layer …: not supported in this world"),
		}, []string{"stall-disk n2 [1,5]", "pause n2 [2,4]"}},
		{"closers that name no node: the same value, else the oldest", []Event{
			nem(1, FaultKill, ":majority"),
			nem(2, FaultKill, ":primaries"),
			nem(3, FaultRestart, ":primaries"),
			nem(4, FaultRestart, ":all"),
		}, []string{"kill :majority [1,4]", "kill :primaries [2,3]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := spans(FaultWindows(tc.evs)); fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("windows\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}
