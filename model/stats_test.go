package model

import (
	"math"
	"testing"

	"github.com/splitbrain/splitbrain/harness/history"
)

func TestShares(t *testing.T) {
	s := Stats{
		history.FRead:   {"ok": 30, "fail": 10, "info": 0},
		history.FWrite:  {"ok": 20, "fail": 20, "info": 5},
		history.FCAS:    {"ok": 0, "fail": 5, "info": 5},
		history.FDelete: {"ok": 5},
		NemesisStats:    {"kill": 40, "restart": 40},
	}
	got := s.Shares()
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
	if got.Ops != 100 || !near(got.OK, .55) || !near(got.Fail, .35) || !near(got.Info, .10) || !near(got.Informative, .65) {
		t.Fatalf("shares %+v, want 100 ops, ok .55, fail .35, info .10, informative .65 (nemesis events are not operations)", got)
	}
	if got.Low() {
		t.Fatalf("55%% ok flagged as low")
	}
	if low := (Stats{history.FRead: {"ok": 19, "fail": 81}}).Shares(); !low.Low() {
		t.Fatalf("19%% ok not flagged as low: %+v", low)
	}
	if at := (Stats{history.FRead: {"ok": 20, "fail": 80}}).Shares(); at.Low() {
		t.Fatalf("exactly %v ok flagged as low", MinOKShare)
	}
	if none := (Stats{NemesisStats: {"kill": 1}}).Shares(); none.Ops != 0 || !none.Low() {
		t.Fatalf("a history without operations: %+v, want 0 ops, flagged", none)
	}
}

func TestNoNodeUp(t *testing.T) {
	nem := func(at float64, f, node, err string) history.Event {
		return history.Event{Time: int64(at * 1e9), Type: history.Info, Process: history.Nemesis, F: f, Node: node, Value: history.Str(node), Error: err}
	}
	op := func(at float64) history.Event {
		return history.Event{Time: int64(at * 1e9), Type: history.Invoke, Process: 0, F: history.FRead, Key: "k"}
	}
	s := func(sec float64) int64 { return int64(sec * 1e9) }
	for _, tc := range []struct {
		name   string
		events []history.Event
		want   Downtime
	}{
		{"no faults", []history.Event{op(1), op(30)}, Downtime{}},
		{"a minority killed", []history.Event{nem(1, "kill", "n1", ""), nem(2, "kill", "n2", ""), op(30)}, Downtime{}},
		{"all killed, then one restarted", []history.Event{
			nem(10, "kill", "n1", ""), nem(10, "kill", "n2", ""), nem(12, "kill", "n3", ""),
			nem(23.5, "restart", "n2", ""), op(30)}, Downtime{Longest: s(11.5), LongestStart: s(12), Total: s(11.5), Spans: 1}},
		{"crashes of every kind and pauses add up", []history.Event{
			nem(1, "wipe", "n1", ""), nem(1, "torn-write", "n2", ""), nem(2, "pause", "n3", ""),
			nem(3, "resume", "n3", ""), nem(4, "lose-unsynced", "n3", ""), nem(6, "restart", "n1", ""), op(30)},
			Downtime{Longest: s(2), LongestStart: s(4), Total: s(3), Spans: 2}},
		{"a fault that failed does not count", []history.Event{
			nem(1, "kill", "n1", ""), nem(1, "kill", "n2", ""), nem(1, "kill", "n3", "no such node"), op(30)}, Downtime{}},
		{"a removed node does not count as up", []history.Event{
			nem(1, "remove-node", "n1", ""), nem(2, "remove-node", "n2", "timed out"), nem(3, "kill", "n2", ""),
			nem(3, "kill", "n3", ""), nem(5, "restart", "n1", ""), nem(7, "restart", "n3", ""), op(30)},
			Downtime{Longest: s(4), LongestStart: s(3), Total: s(4), Spans: 1}},
		{"an added node counts as up", []history.Event{
			nem(1, "add-node", "n4", "timed out"), nem(2, "kill", "n1", ""), nem(2, "kill", "n2", ""), nem(2, "kill", "n3", ""),
			nem(4, "kill", "n4", ""), nem(5, "restart", "n4", ""), op(30)},
			Downtime{Longest: s(1), LongestStart: s(4), Total: s(1), Spans: 1}},
		{"still down when the history ends", []history.Event{
			nem(1, "kill", "n1", ""), nem(1, "kill", "n2", ""), nem(1, "kill", "n3", ""), op(9)},
			Downtime{Longest: s(8), LongestStart: s(1), Total: s(8), Spans: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := NoNodeUp(tc.events, 3); got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}
