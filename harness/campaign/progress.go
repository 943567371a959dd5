package campaign

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
)

// progress reports runs as they end: a bar on a terminal, plain lines
// otherwise (CI logs, files).
type progress interface {
	done(e Entry, t Totals)
	finish(t Totals, interrupted bool)
}

func newProgress(w io.Writer, terminal bool, total int, budget time.Duration) progress {
	switch {
	case w == nil:
		return nopProgress{}
	case terminal:
		return newBar(w, total, budget)
	}
	return &lines{w: w, total: total, budget: budget, start: time.Now()}
}

type nopProgress struct{}

func (nopProgress) done(Entry, Totals)  {}
func (nopProgress) finish(Totals, bool) {}

// lines prints one line a run:
//
//	campaign [  3/200] INVALID partition,kill seed 3: partition+kill / stale-read (failed 1, ETA 2m10s)
type lines struct {
	w      io.Writer
	total  int
	budget time.Duration
	start  time.Time
}

func (l *lines) done(e Entry, t Totals) {
	count := fmt.Sprintf("%d", t.Runs)
	if l.total > 0 {
		width := len(fmt.Sprint(l.total))
		count = fmt.Sprintf("%*d/%d", width, t.Runs, l.total)
	}
	what := ""
	if e.Verdict != Valid {
		what = ": " + e.Signature
	}
	fmt.Fprintf(l.w, "campaign [%s] %-7s %s seed %d%s (failed %d, %s)\n",
		count, strings.ToUpper(string(e.Verdict)), e.Cell, e.Seed, what, t.Invalid, eta(time.Since(l.start), t.Runs, l.total, l.budget))
}

func (l *lines) finish(t Totals, interrupted bool) {
	if interrupted {
		fmt.Fprintf(l.w, "campaign interrupted after %d runs\n", t.Runs)
	}
}

// eta estimates the time left from the pace so far, or from the budget.
func eta(elapsed time.Duration, done, total int, budget time.Duration) string {
	switch {
	case total > 0 && done > 0:
		left := time.Duration(float64(elapsed) / float64(done) * float64(total-done))
		if budget > 0 {
			left = min(left, max(0, budget-elapsed))
		}
		return "ETA " + left.Round(time.Second).String()
	case budget > 0:
		return "budget left " + max(0, budget-elapsed).Round(time.Second).String()
	}
	return "ETA unknown"
}

// bar is the terminal form: a progress bar (runs done/total, ETA) whose
// description counts the failures, with each failure printed above it.
type bar struct {
	w      io.Writer
	b      *progressbar.ProgressBar
	budget time.Duration
	start  time.Time
}

func newBar(w io.Writer, total int, budget time.Duration) *bar {
	opts := []progressbar.Option{
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("campaign · 0 failed"),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(total > 0),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100 * time.Millisecond),
		progressbar.OptionSetItsString("runs"),
		progressbar.OptionShowIts(),
		progressbar.OptionEnableColorCodes(true),
	}
	b := &bar{w: w, b: progressbar.NewOptions(total, opts...), budget: budget, start: time.Now()}
	b.b.RenderBlank()
	return b
}

func (b *bar) done(e Entry, t Totals) {
	if e.Verdict != Valid {
		b.b.Clear()
		fmt.Fprintf(b.w, "%-7s %s seed %d: %s\n  %s\n", strings.ToUpper(string(e.Verdict)), e.Cell, e.Seed, e.Signature, e.Repro)
	}
	desc := fmt.Sprintf("campaign · [red]%d failed[reset]", t.Invalid)
	if t.Invalid == 0 {
		desc = "campaign · 0 failed"
	}
	if b.budget > 0 {
		desc += " · " + eta(time.Since(b.start), t.Runs, -1, b.budget)
	}
	b.b.Describe(desc)
	b.b.Add(1)
}

func (b *bar) finish(t Totals, interrupted bool) {
	if b.b.GetMax() < 0 || interrupted {
		b.b.Exit()
	} else {
		b.b.Finish()
	}
	fmt.Fprintln(b.w)
}
