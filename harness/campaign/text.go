package campaign

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/splitbrain/splitbrain/model"
)

// Throughput is runs per minute of wall time (0 if unknown).
func (x *Index) Throughput() float64 {
	if x.WallSeconds <= 0 {
		return 0
	}
	return float64(x.Totals.Runs) / (x.WallSeconds / 60)
}

// describe is the campaign in one line: what ran, how fast, the counts.
func (x *Index) describe() string {
	t := x.Totals
	var b strings.Builder
	fmt.Fprintf(&b, "%d runs", t.Runs)
	if x.Planned > 0 && t.Runs != x.Planned {
		fmt.Fprintf(&b, " of %d planned", x.Planned)
	}
	if len(x.Merged) > 0 {
		fmt.Fprintf(&b, " from %d shards", len(x.Merged))
	} else {
		fmt.Fprintf(&b, " in %s (%.1f runs/min, %d workers)", time.Duration(x.WallSeconds*float64(time.Second)).Round(time.Second), x.Throughput(), x.Params.Workers)
	}
	fmt.Fprintf(&b, ": %d valid, %d invalid, %d unknown, %d errors", t.Valid, t.Invalid, t.Unknown, t.Errors)
	if x.Interrupted {
		b.WriteString(" (interrupted)")
	}
	return b.String()
}

// Text is the summary the campaign prints when it ends: counts, the
// failures grouped by signature with a repro command each, the git stamp
// and where the index and the HTML summary are.
func Text(x *Index, color bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "campaign: %s\n", x.describe())
	groups := Groups(x.Runs)
	heading := map[Verdict]string{Invalid: "failures", Unknown: "no verdict (unknown)", Error: "errors (no verdict)"}
	var last Verdict
	for _, g := range groups {
		if g.Verdict != last {
			fmt.Fprintf(&b, "%s, by signature:\n", heading[g.Verdict])
			last = g.Verdict
		}
		fmt.Fprintf(&b, "  %4d× %s  (%s)\n", len(g.Runs), g.Signature, runList(g.Runs, 8))
		fmt.Fprintf(&b, "         repro: %s\n", g.Runs[0].Repro)
		if g.Verdict == Error && g.Runs[0].Error != "" {
			fmt.Fprintf(&b, "         error: %s\n", oneLine(g.Runs[0].Error, 200))
		}
		if first := g.Runs[0]; g.Verdict == Unknown && (first.Incomplete != "" || first.CheckTimedOut != "") {
			fmt.Fprintf(&b, "         why:   %s\n", oneLine(strings.Trim(first.Incomplete+"; "+first.CheckTimedOut, "; "), 200))
		}
	}
	var low []Entry
	for _, e := range x.Runs {
		if e.LowOKShare {
			low = append(low, e)
		}
	}
	if len(low) > 0 {
		fmt.Fprintf(&b, "tested little: %d run(s) with under %.0f%% of operations ok (%s)\n", len(low), 100*model.MinOKShare, runList(low, 8))
	}
	if x.Git.Status != "" {
		g := x.Git.String()
		if color {
			g = x.Git.ANSI()
		}
		fmt.Fprintf(&b, "git:      %s\n", g)
	}
	if t := timeLine(x); t != "" {
		fmt.Fprintf(&b, "time:     %s\n", t)
	}
	fmt.Fprintf(&b, "index:    %s\n", filepath.Join(x.dir, IndexFile))
	fmt.Fprintf(&b, "summary:  %s\n", filepath.Join(x.dir, SummaryFile))
	return b.String()
}

// runList names runs by seed ("seeds 3 7 12") or, when they span cells,
// by cell and seed ("kill seed 3, partition seed 3"), at most n of them.
func runList(runs []Entry, n int) string {
	oneCell := true
	for _, e := range runs {
		oneCell = oneCell && e.Cell == runs[0].Cell
	}
	var parts []string
	for i, e := range runs {
		if i == n {
			parts = append(parts, "…")
			break
		}
		if oneCell {
			parts = append(parts, fmt.Sprint(e.Seed))
		} else {
			parts = append(parts, fmt.Sprintf("%s seed %d", e.Cell, e.Seed))
		}
	}
	if oneCell {
		return runs[0].Cell + ", seeds " + strings.Join(parts, " ")
	}
	return strings.Join(parts, ", ")
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}

// timeLine says how fast the campaign ran and where a run's time went:
// "40 runs in 65.2s, 36.8 runs/min with 2 workers; a run's mean: start
// 0.021s · world 0.004s · test 2.913s · check 0.402s · artefacts 0.000s ·
// write 0.012s · exit 0.003s".
func timeLine(x *Index) string {
	var sum Phases
	n := 0
	for _, e := range x.Runs {
		if e.Phases != nil {
			sum.add(*e.Phases)
			n++
		}
	}
	var b strings.Builder
	if x.WallSeconds > 0 && len(x.Runs) > 0 {
		fmt.Fprintf(&b, "%d runs in %.1fs, %.1f runs/min with %d workers", len(x.Runs), x.WallSeconds,
			float64(len(x.Runs))/(x.WallSeconds/60), x.Params.Workers)
	}
	if n > 0 {
		if b.Len() > 0 {
			b.WriteString("; ")
		}
		f := func(v float64) string { return fmt.Sprintf("%.3fs", v/float64(n)) }
		fmt.Fprintf(&b, "a run's mean: start %s · world %s · test %s · check %s · artefacts %s · write %s · exit %s",
			f(sum.Start), f(sum.World), f(sum.Test), f(sum.Check), f(sum.Artefacts), f(sum.Write), f(sum.Exit))
	}
	return b.String()
}
