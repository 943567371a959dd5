package history

import "testing"

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
