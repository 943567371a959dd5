package selftest

import (
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Table renders the report as the selftest prints it: a row per canary,
// the search with every check, then with the consequence checks alone,
// and wall time last (the one column that differs between machines).
func (r *Report) Table() string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 8, 2, ' ', 0)
	fmt.Fprintln(w, "canary\tdetected\tseeds\tsim time\tshrunk\tcaught by\tconsequences alone\tseeds\tsim time\tcaught by\twall")
	for _, row := range r.Rows {
		shr := "-"
		if row.Detected {
			shr = fmt.Sprintf("%d/%d", row.Shrunk, row.Original)
		}
		c := row.Consequences
		fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", row.Canary,
			yesNo(row.Detected), row.Seeds, simSeconds(row.SimTime), shr, dash(row.How),
			yesNo(c.Detected), c.Seeds, simSeconds(c.SimTime), dash(c.How), wallSeconds(row.Wall))
	}
	w.Flush()
	all, cons := r.detectTimes()
	if len(all) > 0 || len(cons) > 0 {
		fmt.Fprintf(&b, "time to detect (simulated, first anomaly of the failing run): %s; consequences alone: %s\n", medianMax(all), medianMax(cons))
	}
	fmt.Fprintf(&b, "wall: %s in all (reported, never judged)\n", wallSeconds(r.Wall))
	return b.String()
}

func (r *Report) detectTimes() (all, cons []time.Duration) {
	for _, row := range r.Rows {
		if row.Detected {
			all = append(all, row.DetectedAt)
		}
		if row.Consequences.Detected {
			cons = append(cons, row.Consequences.DetectedAt)
		}
	}
	slices.Sort(all)
	slices.Sort(cons)
	return all, cons
}

// Summary is the selftest's last line.
func (r *Report) Summary() string {
	return fmt.Sprintf("selftest: %d/%d canaries detected (%d by the consequence checks alone) in up to %d seeds each, %d false positives in %d clean runs",
		r.Detected(), len(r.Rows), r.ConsequenceDetected(), r.Seeds, r.FalsePositives, r.CleanRuns)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func simSeconds(d time.Duration) string { return fmt.Sprintf("%.0fs", d.Seconds()) }

func wallSeconds(d time.Duration) string { return fmt.Sprintf("%.2fs", d.Seconds()) }

// median of sorted durations (the mean of the middle two for an even
// count); 0 for none.
func median(ds []time.Duration) time.Duration {
	n := len(ds)
	switch {
	case n == 0:
		return 0
	case n%2 == 1:
		return ds[n/2]
	}
	return (ds[n/2-1] + ds[n/2]) / 2
}

func medianMax(sorted []time.Duration) string {
	if len(sorted) == 0 {
		return "none detected"
	}
	return fmt.Sprintf("median %.1fs, max %.1fs", median(sorted).Seconds(), sorted[len(sorted)-1].Seconds())
}
