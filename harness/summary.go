package harness

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/splitbrain/splitbrain/model"
)

// ANSI colours for verdicts on a terminal.
const (
	ansiGreen  = "\x1b[32;1m"
	ansiRed    = "\x1b[31;1m"
	ansiYellow = "\x1b[33;1m"
	ansiReset  = "\x1b[0m"
)

// VerdictWord is how a verdict is shown: VALID, INVALID or UNKNOWN,
// coloured green, red or yellow when color is set.
func VerdictWord(v model.Validity, color bool) string {
	word, c := "UNKNOWN", ansiYellow
	switch v {
	case model.Valid:
		word, c = "VALID", ansiGreen
	case model.Invalid:
		word, c = "INVALID", ansiRed
	}
	if !color {
		return word
	}
	return c + word + ansiReset
}

// ExitCode maps a verdict to the exit code of run and check: 0 valid, 1
// invalid, 3 unknown (2 is for usage and setup errors).
func ExitCode(v model.Validity) int {
	switch v {
	case model.Valid:
		return 0
	case model.Invalid:
		return 1
	}
	return 3
}

// Summary is the one screen `run` and `check` print: what ran, the faults,
// the operations, each check's verdict, and where to look next.
func Summary(r *Results, t *Test, color bool) string {
	var b strings.Builder
	if t != nil {
		against := ""
		if t.System != "" && t.System != "raftkv" {
			against = " against " + t.System
			if r.SystemVersion != "" {
				against += " [" + r.SystemVersion + "]"
			}
		}
		fmt.Fprintf(&b, "ran:      %s%s in the %s world, %d nodes, seed %d, %v, %d clients at %g ops/s, %d keys",
			t.Name, against, t.Mode, t.Nodes, t.Seed, time.Duration(t.Duration), t.Workload.Clients, t.Workload.Rate, t.Workload.Keys)
		if t.ReadConsistency != "" && t.ReadConsistency != "linearizable" {
			fmt.Fprintf(&b, ", %s reads", t.ReadConsistency)
		}
		if len(t.Bugs) > 0 {
			fmt.Fprintf(&b, ", bugs %s", strings.Join(t.Bugs, ","))
		}
		b.WriteByte('\n')
	} else if r.HistoryUnread() {
		fmt.Fprintf(&b, "checked:  %s (its history not read whole)\n", r.Dir)
	} else {
		fmt.Fprintf(&b, "checked:  %s (%d events)\n", r.Dir, r.HistoryOps)
	}
	if r.HistoryUnread() {
		// Nothing was counted: "no faults", "no client operations" would
		// be claims about a history nobody read.
		b.WriteString("history:  not read whole (the check timed out while reading it): faults, operations and shares not counted\n")
	} else {
		var faults []string
		total := 0
		for _, f := range r.Faults {
			faults = append(faults, fmt.Sprintf("%s %d", f.F, f.Count))
			total += f.Count
		}
		if total == 0 {
			b.WriteString("faults:   none\n")
		} else {
			fmt.Fprintf(&b, "faults:   %d events: %s\n", total, strings.Join(faults, ", "))
		}
		fmt.Fprintf(&b, "ops:      %s\n", opsLine(r.Ops))
		fmt.Fprintf(&b, "shares:   %s\n", sharesLine(r.Shares))
		if r.LowOKShare {
			fmt.Fprintf(&b, "warning:  %s\n", lowShareWarning(r.Shares))
		}
	}
	if r.NoNodeUp != nil {
		fmt.Fprintf(&b, "outage:   %s\n", noNodeUpLine(*r.NoNodeUp, r.TestSeconds))
	}
	lin := r.Linearizability
	fmt.Fprintf(&b, "checks:   linearizability %s (%d keys", lin.Valid, len(lin.Keys))
	if lin.FailingKeys > 0 {
		fmt.Fprintf(&b, ", %d not linearizable", lin.FailingKeys)
	}
	liveness := r.Liveness.Valid.String()
	if r.LivenessNotJudged {
		liveness = "not judged"
	}
	fmt.Fprintf(&b, ") · liveness %s · raft invariants ", liveness)
	if r.Invariants.Skipped {
		b.WriteString("not checked")
	} else {
		b.WriteString(r.Invariants.Valid.String())
	}
	if c := r.Convergence; c != nil && c.Available {
		fmt.Fprintf(&b, " · convergence %v", c.Converged)
	}
	b.WriteByte('\n')
	if c := r.Convergence; c != nil && (c.Available || r.Mode == "process") && c.Detail != "" {
		fmt.Fprintf(&b, "converge: %s\n", c.Detail)
	}
	if r.Liveness.Detail != "" {
		fmt.Fprintf(&b, "liveness: %s\n", r.Liveness.Detail)
	}
	if r.Invariants.Violation != nil {
		fmt.Fprintf(&b, "raft:     %s\n", r.Invariants.Violation)
	}
	if len(r.Invariants.Limits) > 0 {
		fmt.Fprintf(&b, "limits:   %s\n", limitsText(r.Invariants.Limits))
	}
	if lin.Explanation != "" {
		fmt.Fprintf(&b, "anomaly:  %s on key %s\n%s\n", lin.Anomaly, lin.FirstFailingKey, indent(lin.Explanation))
	}
	if r.Incomplete != "" {
		fmt.Fprintf(&b, "stopped:  %s\n", r.Incomplete)
	}
	if r.CheckTimedOut != "" {
		fmt.Fprintf(&b, "timeout:  %s\n", r.CheckTimedOut)
	}
	if r.ArtefactsNotDrawn != "" {
		fmt.Fprintf(&b, "artefacts: %s\n", r.ArtefactsNotDrawn)
	}
	for _, s := range r.Skipped {
		fmt.Fprintf(&b, "skipped:  %s\n", s)
	}
	if r.Error != "" {
		fmt.Fprintf(&b, "error:    %s\n", r.Error)
	}
	if r.Git.Status != "" {
		g := r.Git.String()
		if color {
			g = r.Git.ANSI()
		}
		fmt.Fprintf(&b, "git:      %s\n", g)
	}
	fmt.Fprintf(&b, "verdict:  %s", VerdictWord(r.Valid, color))
	if why := UnknownReasons(r); r.Valid == model.Unknown && len(why) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(why, "; "))
	}
	b.WriteByte('\n')
	fmt.Fprintf(&b, "results:  %s\n", r.Dir)
	if lin.HTML != "" {
		fmt.Fprintf(&b, "diagram:  %s/%s\n", r.Dir, lin.HTML)
	}
	if r.Repro != "" {
		fmt.Fprintf(&b, "repro:    %s\n", r.Repro)
	}
	return b.String()
}

// HistoryUnread reports a check that timed out while it read the
// history: nothing in it was counted, so counts of zero claim nothing.
func (r *Results) HistoryUnread() bool {
	return r.CheckTimedOut != "" && r.Liveness.Detail == notChecked
}

// UnknownReasons says, briefly, why a verdict is not VALID when nothing
// was found INVALID: the run was cut short, the check timed out, a check
// could not decide, the scenario or the run broke.
func UnknownReasons(r *Results) []string {
	var why []string
	switch {
	case strings.HasPrefix(r.Incomplete, "interrupted"):
		why = append(why, "interrupted")
	case r.Incomplete != "":
		why = append(why, "the run did not finish")
	}
	if r.CheckTimedOut != "" {
		why = append(why, r.CheckTimedOut)
	} else if r.Linearizability.Valid == model.Unknown {
		why = append(why, "linearizability undecided")
	}
	if r.Liveness.Valid == model.Unknown && r.Liveness.Detail != notChecked {
		why = append(why, "liveness unknown")
	}
	if r.Invariants.Valid == model.Unknown {
		why = append(why, "raft invariants unknown")
	}
	if r.ScriptError != "" {
		why = append(why, "the scenario failed")
	} else if r.Error != "" && len(why) == 0 {
		why = append(why, "the run broke (see error)")
	}
	return why
}

func indent(s string) string {
	// Wrap the paragraph at ~100 columns, indented under the labels.
	var lines []string
	line := "          "
	for _, w := range strings.Fields(s) {
		if len(line)+len(w) > 100 && strings.TrimSpace(line) != "" {
			lines = append(lines, line)
			line = "          "
		}
		line += w + " "
	}
	lines = append(lines, line)
	return strings.TrimRight(strings.Join(lines, "\n"), " ")
}

func opsLine(s model.Stats) string {
	var parts []string
	fs := make([]string, 0, len(s))
	for f := range s {
		if f != model.NemesisStats {
			fs = append(fs, f)
		}
	}
	sort.Strings(fs)
	for _, f := range fs {
		c := s[f]
		parts = append(parts, fmt.Sprintf("%s ok %d fail %d info %d", f, c["ok"], c["fail"], c["info"]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, " | ")
}

// sharesLine is the outcome shares of the client operations: "ok 75.1% ·
// fail 24.4% · info 0.5% of 2514 ops · informative 75.6% (ok + info
// writes)".
func sharesLine(s model.Shares) string {
	if s.Ops == 0 {
		return "no client operations"
	}
	return fmt.Sprintf("ok %.1f%% · fail %.1f%% · info %.1f%% of %d ops · informative %.1f%% (ok + info writes)",
		100*s.OK, 100*s.Fail, 100*s.Info, s.Ops, 100*s.Informative)
}

// lowShareWarning says why a run with few ok operations tested little.
func lowShareWarning(s model.Shares) string {
	if s.Ops == 0 {
		return "no client operation ran: this run tested nothing (the verdict stands)"
	}
	return fmt.Sprintf("only %.1f%% of operations ended ok (under %.0f%%): few could observe anything, so this run tested little (the verdict stands)",
		100*s.OK, 100*model.MinOKShare)
}

// noNodeUpLine is how long no node was up: "none: some node was up
// throughout", or "no node up for 13.749s at most (from 9.802s); 17.582s
// in all over 2 spans, 49% of the test".
func noNodeUpLine(d model.Downtime, testSeconds float64) string {
	if d.Spans == 0 {
		return "none: some node was up throughout"
	}
	secs := func(ns int64) string { return fmt.Sprintf("%.3fs", float64(ns)/1e9) }
	line := fmt.Sprintf("no node up for %s at most (from %s)", secs(d.Longest), secs(d.LongestStart))
	if d.Spans > 1 {
		line += fmt.Sprintf("; %s in all over %d spans", secs(d.Total), d.Spans)
	}
	if testSeconds > 0 {
		line += fmt.Sprintf(", %.0f%% of the test", 100*float64(d.Total)/1e9/testSeconds)
	}
	return line
}
