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
	s := Stats{}
	add := func(f, t string) {
		if s[f] == nil {
			s[f] = map[string]int{}
		}
		s[f][t]++
	}
	open := map[history.Process]string{}
	for _, e := range events {
		switch {
		case e.Process == history.Nemesis:
			add(NemesisStats, e.F)
		case e.Type == history.Invoke:
			open[e.Process] = e.F
		default:
			delete(open, e.Process)
			add(e.F, string(e.Type))
		}
	}
	for _, f := range open {
		add(f, string(history.Info))
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
