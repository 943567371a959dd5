package report

import (
	"golang.org/x/net/html"
	"image/color"
	"strconv"
	"strings"
	"testing"

	"github.com/splitbrain/splitbrain/harness/history"
)

// noted is nem with an error: a fault the nemesis skipped (as a note) or
// one that failed.
func noted(t int64, f, v, err string) history.Event {
	e := nem(t, f, v)
	e.Error = err
	return e
}

// crowded is 40 s of reads with what a generated schedule records when
// much of it cannot be carried out (as the README's example run, seed 7,
// does): one partition and one kill that happened, and notes of skipped
// faults, a failed kill and a scenario note around them.
func crowded() []history.Event {
	return steady(4000,
		nem(5e9, history.FaultPartition, "halves [n1] [n2 n3]"),
		noted(6e9, history.FaultNote, "kill minority", "no node matches minority (among nodes members the nemesis has not crashed)"),
		noted(7e9, history.FaultNote, "kill all", "no node matches all"),
		nem(10e9, history.FaultHeal, ""),
		noted(12e9, history.FaultNote, "partition leader-minority", "no leader"),
		nem(15e9, history.FaultKill, "n2"),
		noted(17e9, history.FaultNote, "restart all", "no node matches all"),
		noted(20e9, history.FaultKill, "n3", "signal: operation not permitted"),
		nem(25e9, history.FaultRestart, "n2"),
		nem(26e9, history.FaultNote, "scenario says hello"),
		noted(30e9, history.FaultNote, "kill leader", "no leader"),
	)
}

// TestPlotsDrawOnlyFaultsThatHappened: in latency.png and rate.png the
// strip labels and the shading are the faults that happened (the
// partition, the kill of n2); notes, skipped faults and the failed kill
// are short unlabelled ticks at the top of the data, never windows,
// labels or full-height lines.
func TestPlotsDrawOnlyFaultsThatHappened(t *testing.T) {
	evs := crowded()
	p := parse(evs)
	if len(p.Windows) != 2 || len(p.Marks) != 7 {
		t.Errorf("parsed %d windows and %d marks, want 2 (partition, kill n2) and 7", len(p.Windows), len(p.Marks))
	}
	for _, m := range p.Marks {
		if m.F != history.FaultNote || m.Start != m.End {
			t.Errorf("mark %+v is not an instant note", m)
		}
	}
	if len(p.Marks) == 7 && (!strings.HasPrefix(p.Marks[0].Label, "skipped: kill minority (no node matches") ||
		!strings.HasPrefix(p.Marks[4].Label, "failed: kill n3 (signal") || p.Marks[5].Label != "note scenario says hello") {
		t.Errorf("mark labels %q, %q, %q", p.Marks[0].Label, p.Marks[4].Label, p.Marks[5].Label)
	}
	imgs, lays := renderFig(t, evs)
	kill := blend(faultColors[history.FaultKill], bandAlpha)
	grey := func(c color.Color) bool {
		r, g, b, _ := c.RGBA()
		r, g, b = r>>8, g>>8, b>>8
		return r < 200 && max(r, g, b)-min(r, g, b) < 12
	}
	for i, img := range imgs {
		lay := lays[i]
		var labels []string
		for _, l := range lay.Labels {
			labels = append(labels, l.Text)
		}
		if len(labels) != 2 || !strings.HasPrefix(labels[0], "partition") || labels[1] != "kill n2" || lay.Lanes != 1 {
			t.Errorf("figure %d: strip labels %q in %d lanes, want the partition and kill n2 in one", i, labels, lay.Lanes)
		}
		_, top := lay.Pixel(0, lay.Data.Max.Y)
		_, bottom := lay.Pixel(0, lay.Data.Min.Y)
		// The failed kill of n3 (20 s) shades nothing after the kill of
		// n2 ends (25 s).
		if out, _ := countColor(img, xPixel(lay, 26e9), xPixel(lay, 39e9), top+2, bottom-2, kill, 4); out > 0 {
			t.Errorf("figure %d: %d kill-shaded pixels after the kill of n2 ended: the failed kill was drawn as a window", i, out)
		}
		// Each mark: a tick in the top 8 px of the data area, nothing
		// grey below it (no full-height line).
		for _, at := range []int64{6e9, 12e9, 30e9} {
			x := xPixel(lay, at)
			if on, _ := countWhere(img, x-1, x+2, top, top+8, grey); on == 0 {
				t.Errorf("figure %d: no tick at the top for the mark at %v s", i, float64(at)/1e9)
			}
			// Below the tick, down to the middle of the plot: no grey
			// (nothing else there is grey; a dashed line makes about a
			// fifth of these pixels grey).
			_, mid := lay.Pixel(0, lay.Data.Min.Y+(lay.Data.Max.Y-lay.Data.Min.Y)/2)
			if on, n := countWhere(img, x-1, x+2, top+12, mid, grey); on > n/20 {
				t.Errorf("figure %d: the mark at %v s runs down the plot (%d of %d pixels grey)", i, float64(at)/1e9, on, n)
			}
		}
	}
}

// TestTimelineMarksAreNotFaults: in the timeline a skipped fault and a
// failed one are marks in the nemesis column, saying so, with no band
// across the processes; the kill that happened keeps its window.
func TestTimelineMarksAreNotFaults(t *testing.T) {
	evs := crowded()
	doc := parseHTML(t, writeTimeline(t, evs, TimelineOptions{Title: "crowded", PageOps: 100000, Focus: -1}))
	byID := map[string]string{}
	for _, n := range find(doc, byClass("fault")) {
		byID[attr(n, "id")] = attr(n, "class") + " | " + textOf(n)
	}
	idOf := func(at int64, f string) string {
		for _, e := range evs {
			if e.Time == at && e.Process == history.Nemesis && e.F == f {
				return "ev-" + strconv.FormatInt(e.Index, 10)
			}
		}
		t.Fatalf("no %s at %d", f, at)
		return ""
	}
	for _, c := range []struct {
		id, want string
		mark     bool
	}{
		{idOf(6e9, history.FaultNote), "skipped: kill minority", true},
		{idOf(20e9, history.FaultKill), "failed: kill n3", true},
		{idOf(26e9, history.FaultNote), "note scenario says hello", true},
		{idOf(15e9, history.FaultKill), "kill n2", false},
	} {
		got, ok := byID[c.id]
		if !ok {
			t.Errorf("%s (%s) is not in the nemesis column", c.id, c.want)
			continue
		}
		if strings.Contains(got, " mark") != c.mark || !strings.Contains(got, c.want) {
			t.Errorf("%s: %q, want %q (mark %v)", c.id, got, c.want, c.mark)
		}
	}
	if bands := find(doc, byClass("band")); len(bands) != 2 {
		t.Errorf("%d bands, want 2 (the partition and the kill of n2)", len(bands))
	}
}

// TestFailedCloserStillCloses: a heal and a clock-reset recorded with an
// error still close their windows (history.FaultWindows, which liveness
// uses, says so), in the plots and the timeline alike, and are marked as
// failed; a refused opener opens nothing. The windows are exactly those of
// history.FaultWindows, less the marks.
func TestFailedCloserStillCloses(t *testing.T) {
	evs := steady(4000,
		nem(5e9, history.FaultPartition, "halves [n1] [n2 n3]"),
		nem(8e9, history.FaultClock, "n2 skew 2"),
		noted(10e9, history.FaultHeal, "", "nft: table busy"),
		noted(12e9, history.FaultClockReset, "n2", "n2: connection refused"),
		noted(14e9, history.FaultPause, "n3", "no such process"),
		nem(20e9, history.FaultNote, "done"),
	)
	p := parse(evs)
	ends := map[string]int64{}
	for _, w := range p.Windows {
		ends[w.F] = w.End
	}
	if len(p.Windows) != 2 || ends[history.FaultPartition] != 10e9 || ends[history.FaultClock] != 12e9 {
		t.Fatalf("windows %+v: want the partition closed at 10s by the failed heal and the clock at 12s by the failed reset", p.Windows)
	}
	var labels []string
	for _, m := range p.Marks {
		labels = append(labels, m.Label)
	}
	if len(labels) != 4 || !strings.HasPrefix(labels[0], "failed: heal (nft") || !strings.HasPrefix(labels[1], "failed: clock-reset n2") ||
		!strings.HasPrefix(labels[2], "failed: pause n3") || labels[3] != "note done" {
		t.Errorf("marks %q", labels)
	}
	var nemesis []history.Event
	for _, e := range evs {
		if e.Process == history.Nemesis {
			nemesis = append(nemesis, e)
		}
	}
	var want []history.Window
	for _, w := range history.FaultWindows(nemesis) {
		if w.F != history.FaultNote {
			want = append(want, w)
		}
	}
	if len(want) != len(p.Windows) {
		t.Fatalf("report windows %+v, FaultWindows %+v", p.Windows, want)
	}
	for i := range want {
		if want[i] != p.Windows[i] {
			t.Errorf("window %d: report %+v, FaultWindows %+v", i, p.Windows[i], want[i])
		}
	}
	// The timeline draws the partition to the failed heal.
	doc := parseHTML(t, writeTimeline(t, evs, TimelineOptions{Title: "failed heal"}))
	var part *html.Node
	for _, n := range find(doc, byClass("fault")) {
		if strings.Contains(textOf(n), "partition halves") {
			part = n
		}
	}
	if part == nil || strings.Contains(attr(part, "title"), "still in effect") || !strings.Contains(attr(part, "title"), "at 10.000000 s") {
		t.Errorf("timeline partition box: %v", part)
		if part != nil {
			t.Errorf("title %q", attr(part, "title"))
		}
	}
}
