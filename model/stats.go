package model

import (
	"fmt"
	"sort"
	"strings"

	"github.com/splitbrain/splitbrain/harness/history"
)

// NemesisStats is the Stats entry under which fault events are counted.
const NemesisStats = "nemesis"

// Stats counts a history's outcomes: f → type → count.
//
// Client operations are counted by completion type (ok, fail, info) under
// their f (read, write, cas); an invocation the history never completed
// counts as info, as the checker treats it. Fault events are counted under
// NemesisStats, by action: {"nemesis": {"partition": 2, "heal": 2}}.
// encoding/json writes map keys sorted, so the JSON form is stable.
type Stats map[string]map[string]int

// ComputeStats counts the outcomes of a history.
func ComputeStats(events []history.Event) Stats {
	c := NewStatsCounter()
	for i := range events {
		c.Add(&events[i])
	}
	return c.Stats()
}

// StatsCounter counts a history's outcomes one event at a time, in memory
// that holds only the open operations: Stats is ComputeStats of the events
// added.
type StatsCounter struct {
	s    Stats
	open map[history.Process]string
}

// NewStatsCounter returns an empty counter.
func NewStatsCounter() *StatsCounter {
	return &StatsCounter{s: Stats{}, open: map[history.Process]string{}}
}

func (c *StatsCounter) add(f, t string) {
	if c.s[f] == nil {
		c.s[f] = map[string]int{}
	}
	c.s[f][t]++
}

// Add counts e.
func (c *StatsCounter) Add(e *history.Event) {
	switch {
	case e.Process == history.Nemesis:
		c.add(NemesisStats, e.F)
	case e.Type == history.Invoke:
		c.open[e.Process] = e.F
	default:
		delete(c.open, e.Process)
		c.add(e.F, string(e.Type))
	}
}

// Stats returns the counts so far, the operations still open counted as
// info.
func (c *StatsCounter) Stats() Stats {
	s := Stats{}
	for f, ts := range c.s {
		s[f] = map[string]int{}
		for t, n := range ts {
			s[f][t] = n
		}
	}
	for _, f := range c.open {
		if s[f] == nil {
			s[f] = map[string]int{}
		}
		s[f][string(history.Info)]++
	}
	return s
}

// String renders the counts one f a line, sorted: "read fail=1 info=2 ok=40".
func (s Stats) String() string {
	fs := make([]string, 0, len(s))
	for f := range s {
		fs = append(fs, f)
	}
	sort.Strings(fs)
	var b strings.Builder
	for _, f := range fs {
		ts := make([]string, 0, len(s[f]))
		for t := range s[f] {
			ts = append(ts, t)
		}
		sort.Strings(ts)
		b.WriteString(f)
		for _, t := range ts {
			fmt.Fprintf(&b, " %s=%d", t, s[f][t])
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// MinOKShare is the share of client operations that must end ok for a run
// to have tested much. An operation that failed observed nothing, and one
// of unknown outcome observed nothing either (though a write of unknown
// outcome may have taken effect, which later reads can see). Below this
// share the run is flagged — its verdict stands, but it rests on little:
// typically the cluster was down or unreachable for most of the test.
const MinOKShare = 0.20

// Shares is how a history's client operations ended, as fractions of all
// of them (an operation never completed counts as info).
type Shares struct {
	Ops  int     `json:"ops"`
	OK   float64 `json:"ok"`
	Fail float64 `json:"fail"`
	Info float64 `json:"info"`
	// Informative is the share that can constrain the checker: the ok
	// operations, and the writes, cas and deletes of unknown outcome
	// (they may have taken effect).
	Informative float64 `json:"informative"`
}

// Shares computes the outcome shares of the counted client operations.
func (s Stats) Shares() Shares {
	var ok, fail, info, infoWrites int
	for f, c := range s {
		if f == NemesisStats {
			continue
		}
		ok += c[string(history.OK)]
		fail += c[string(history.Fail)]
		info += c[string(history.Info)]
		if f != history.FRead {
			infoWrites += c[string(history.Info)]
		}
	}
	sh := Shares{Ops: ok + fail + info}
	if sh.Ops == 0 {
		return sh
	}
	n := float64(sh.Ops)
	sh.OK, sh.Fail, sh.Info = float64(ok)/n, float64(fail)/n, float64(info)/n
	sh.Informative = float64(ok+infoWrites) / n
	return sh
}

// Low reports whether too few operations ended ok (under MinOKShare, or
// none at all) for the run to have tested much.
func (s Shares) Low() bool { return s.OK < MinOKShare }

// Downtime is how long a test had no member node up, as its nemesis events
// tell: every member crashed (kill, lose-unsynced, torn-write, wipe; up
// again at its restart) or paused (until its resume). The members are the
// initial nodes n1…nN, plus every node an add-node event names, minus every
// node a remove-node event removed (one recorded without an error). Only
// the nemesis's own faults count: a node the system stopped by itself (one
// that applied its own removal, say) still counts as up.
type Downtime struct {
	// Longest is the longest span with no node up, from LongestStart; 0
	// when some node was up throughout. A span still open when the
	// history ends ends there.
	Longest      int64 `json:"longest_ns"`
	LongestStart int64 `json:"longest_start_ns"`
	Total        int64 `json:"total_ns"` // every such span together
	Spans        int   `json:"spans"`    // how many there were (of any length)
}

// NoNodeUp computes a history's Downtime; initial is the number of nodes
// the cluster started with (n1…n<initial>), at least 1.
func NoNodeUp(events []history.Event, initial int) Downtime {
	if initial < 1 {
		panic(fmt.Sprintf("model: NoNodeUp of a cluster of %d nodes", initial))
	}
	type state struct{ member, crashed, paused bool }
	nodes := map[string]*state{}
	for i := 1; i <= initial; i++ {
		nodes[fmt.Sprintf("n%d", i)] = &state{member: true}
	}
	up := func() bool {
		for _, s := range nodes {
			if s.member && !s.crashed && !s.paused {
				return true
			}
		}
		return false
	}
	var d Downtime
	var end int64
	downSince := int64(-1)
	closeSpan := func(at int64) {
		span := at - downSince
		d.Total += span
		if span > d.Longest {
			d.Longest, d.LongestStart = span, downSince
		}
		downSince = -1
	}
	for _, e := range events {
		end = e.Time
		if e.Process != history.Nemesis || e.Node == "" {
			continue
		}
		s := nodes[e.Node]
		if s == nil {
			s = &state{}
			nodes[e.Node] = s
		}
		switch e.F {
		case history.FaultKill, history.FaultLoseUnsynced, history.FaultTornWrite, history.FaultWipe:
			s.crashed = s.crashed || e.Error == ""
		case history.FaultRestart:
			s.crashed = false
		case history.FaultPause:
			s.paused = s.paused || e.Error == ""
		case history.FaultResume:
			s.paused = false
		case history.FaultAddNode:
			// Recorded with its ID even when the change timed out: the
			// node runs and may still join.
			s.member = true
		case history.FaultRemoveNode:
			s.member = s.member && e.Error != ""
		default:
			continue
		}
		switch isUp := up(); {
		case !isUp && downSince < 0:
			downSince = e.Time
			d.Spans++
		case isUp && downSince >= 0:
			closeSpan(e.Time)
		}
	}
	if downSince >= 0 {
		closeSpan(end)
	}
	return d
}
