package report

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/plot/vg"

	"github.com/splitbrain/splitbrain/harness/history"
)

// hist builds a history from events, numbering them in order.
func hist(evs ...history.Event) []history.Event {
	for i := range evs {
		evs[i].Index = int64(i)
	}
	return evs
}

func inv(t int64, p int, f, key string) history.Event {
	return history.Event{Time: t, Type: history.Invoke, Process: history.Process(p), F: f, Key: key}
}

func done(t int64, p int, typ history.Type, f, key string) history.Event {
	return history.Event{Time: t, Type: typ, Process: history.Process(p), F: f, Key: key, Node: "n1"}
}

func nem(t int64, f, v string) history.Event {
	e := history.Event{Time: t, Type: history.Info, Process: history.Nemesis, F: f}
	if v != "" {
		e.Value = history.Str(v)
	}
	return e
}

// steady is n reads on 4 processes, one every 10 ms, each taking 2 ms,
// with extra events spliced in by time.
func steady(n int, extra ...history.Event) []history.Event {
	var evs []history.Event
	for i := 0; i < n; i++ {
		t := int64(i) * 10e6
		p := i % 4
		evs = append(evs, inv(t, p, history.FRead, "k"), done(t+2e6, p, history.OK, history.FRead, "k"))
	}
	for _, x := range extra {
		at := len(evs)
		for j, e := range evs {
			if e.Time > x.Time {
				at = j
				break
			}
		}
		evs = append(evs[:at], append([]history.Event{x}, evs[at:]...)...)
	}
	return hist(evs...)
}

func decodePNG(t *testing.T, b []byte) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	return img
}

func TestWritePlotsOddHistories(t *testing.T) {
	cases := map[string][]history.Event{
		"empty":          nil,
		"only nemesis":   hist(nem(0, history.FaultPartition, "halves"), nem(5e9, history.FaultHeal, ""), nem(6e9, history.FaultNote, "hi")),
		"no completions": hist(inv(0, 0, history.FRead, "k"), inv(1e6, 1, history.FWrite, "k"), inv(2e6, 2, history.FCAS, "k")),
		"one op":         hist(inv(0, 0, history.FWrite, "k"), done(3e6, 0, history.OK, history.FWrite, "k")),
		"all at time 0":  hist(inv(0, 0, history.FRead, "k"), done(0, 0, history.OK, history.FRead, "k")),
		"orphan completion and reinvoke": hist(done(1e6, 0, history.OK, history.FRead, "k"),
			inv(2e6, 1, history.FRead, "k"), inv(3e6, 1, history.FWrite, "k"), done(4e6, 1, history.Fail, history.FWrite, "k")),
		"unknown f and fault": hist(inv(0, 0, "append", "k"), done(1e6, 0, history.OK, "append", "k"),
			nem(2e6, "flood", "n1"), nem(3e6, history.FaultRestart, "")),
	}
	for name, evs := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			names, err := WritePlots(dir, evs)
			if err != nil {
				t.Fatal(err)
			}
			if len(names) != 2 || names[0] != LatencyFile || names[1] != RateFile {
				t.Fatalf("names = %v", names)
			}
			for _, n := range names {
				b, err := os.ReadFile(filepath.Join(dir, n))
				if err != nil {
					t.Fatal(err)
				}
				img := decodePNG(t, b)
				if w := img.Bounds().Dx(); w != 1280 {
					t.Errorf("%s is %d px wide, want 1280", n, w)
				}
			}
		})
	}
}

func TestWritePlotsLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("200k ops")
	}
	if _, err := WritePlots(t.TempDir(), synth(200000, 10, 3)); err != nil {
		t.Fatal(err)
	}
}

func TestWritePlotsDeterministic(t *testing.T) {
	evs := synth(3000, 5, 7)
	read := func(dir string) [][]byte {
		var out [][]byte
		for _, n := range []string{LatencyFile, RateFile} {
			b, err := os.ReadFile(filepath.Join(dir, n))
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, b)
		}
		return out
	}
	d1, d2, d3 := t.TempDir(), t.TempDir(), t.TempDir()
	for _, d := range []string{d1, d2} {
		if _, err := WritePlots(d, evs); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := WritePlots(d3, synth(3000, 5, 8)); err != nil {
		t.Fatal(err)
	}
	a, b, c := read(d1), read(d2), read(d3)
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			t.Errorf("plot %d differs between two renderings of the same history", i)
		}
		if bytes.Equal(a[i], c[i]) {
			t.Errorf("plot %d is the same for different histories; is it drawing the data?", i)
		}
	}
}

// blend is c at alpha a over white, as the band shading appears.
func blend(c color.NRGBA, a uint8) [3]float64 {
	f := float64(a) / 255
	return [3]float64{255 + (float64(c.R)-255)*f, 255 + (float64(c.G)-255)*f, 255 + (float64(c.B)-255)*f}
}

func near(c color.Color, want [3]float64, tol float64) bool {
	r, g, b, _ := c.RGBA()
	d := func(x uint32, y float64) bool { v := float64(x>>8) - y; return v <= tol && v >= -tol }
	return d(r, want[0]) && d(g, want[1]) && d(b, want[2])
}

// countColor counts pixels near want in the pixel rectangle [x0,x1)×[y0,y1).
func countColor(img image.Image, x0, x1, y0, y1 int, want [3]float64, tol float64) (hits, total int) {
	return countWhere(img, x0, x1, y0, y1, func(c color.Color) bool { return near(c, want, tol) })
}

func countWhere(img image.Image, x0, x1, y0, y1 int, pred func(color.Color) bool) (hits, total int) {
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			total++
			if pred(img.At(x, y)) {
				hits++
			}
		}
	}
	return hits, total
}

// renderFig renders both figures of events and returns them decoded with
// their layouts.
func renderFig(t *testing.T, evs []history.Event) (imgs []image.Image, lays []layout) {
	t.Helper()
	p := parse(evs)
	pl := newPalette(p)
	for _, f := range []*figure{latencyFigure(p, pl), rateFigure(p, pl)} {
		b, lay, err := f.png()
		if err != nil {
			t.Fatal(err)
		}
		imgs = append(imgs, decodePNG(t, b))
		lays = append(lays, lay)
	}
	return imgs, lays
}

// xPixel is the pixel column of time ns.
func xPixel(lay layout, ns int64) int { x, _ := lay.Pixel(lay.X(ns), 0); return x }

func TestFaultWindowsAreShaded(t *testing.T) {
	// 40 s of reads; a partition from 10 s to 20 s and a kill from 30 s
	// that never ends.
	evs := steady(4000, nem(10e9, history.FaultPartition, "halves [n1] [n2 n3]"), nem(20e9, history.FaultHeal, ""),
		nem(30e9, history.FaultKill, "n2"))
	imgs, lays := renderFig(t, evs)
	for i, img := range imgs {
		lay := lays[i]
		_, top := lay.Pixel(0, lay.Data.Max.Y)
		_, bottom := lay.Pixel(0, lay.Data.Min.Y)
		top, bottom = top+2, bottom-2
		part := blend(faultColors[history.FaultPartition], bandAlpha)
		kill := blend(faultColors[history.FaultKill], bandAlpha)
		in, n := countColor(img, xPixel(lay, 12e9), xPixel(lay, 18e9), top, bottom, part, 4)
		if in < n/3 {
			t.Errorf("figure %d: only %d of %d pixels inside the partition window have its shade", i, in, n)
		}
		for _, span := range [][2]int64{{1e9, 9e9}, {21e9, 29e9}, {31e9, 39e9}} {
			out, _ := countColor(img, xPixel(lay, span[0]), xPixel(lay, span[1]), top, bottom, part, 4)
			if out > 0 {
				t.Errorf("figure %d: %d partition-shaded pixels outside the window, in %v", i, out, span)
			}
		}
		// The kill never ends: shaded from 30 s to the end of the data.
		in, n = countColor(img, xPixel(lay, 31e9), xPixel(lay, evs[len(evs)-1].Time)-2, top, bottom, kill, 4)
		if in < n/3 {
			t.Errorf("figure %d: only %d of %d pixels after the open kill have its shade", i, in, n)
		}
		out, _ := countColor(img, xPixel(lay, 1e9), xPixel(lay, 29e9), top, bottom, kill, 4)
		if out > 0 {
			t.Errorf("figure %d: %d kill-shaded pixels before the kill", i, out)
		}
	}
}

func TestInstantFaultsAreLines(t *testing.T) {
	evs := steady(2000, nem(7e9, history.FaultAddNode, "n6"))
	imgs, lays := renderFig(t, evs)
	for i, img := range imgs {
		lay := lays[i]
		_, top := lay.Pixel(0, lay.Data.Max.Y)
		_, bottom := lay.Pixel(0, lay.Data.Min.Y)
		// Teal, at any antialiasing strength: green and blue alike and
		// well above red. No op colour (nor grey) is like that.
		teal := func(c color.Color) bool {
			r, g, b, _ := c.RGBA()
			r, g, b = r>>8, g>>8, b>>8
			return g > r+30 && b > r+30 && g < b+15 && b < g+15
		}
		x := xPixel(lay, 7e9)
		on, n := countWhere(img, x-2, x+3, top, bottom, teal)
		if on < n/6 {
			t.Errorf("figure %d: %d of %d pixels at the add-node instant have its colour", i, on, n)
		}
		off, _ := countWhere(img, xPixel(lay, 1e9), xPixel(lay, 6e9), top, bottom, teal)
		if off > 0 {
			t.Errorf("figure %d: %d add-node coloured pixels away from it", i, off)
		}
	}
}

func TestFaultLabelsInStrip(t *testing.T) {
	evs := steady(4000, nem(10e9, history.FaultPartition, "halves [n1] [n2 n3]"), nem(12e9, history.FaultKill, "n2"),
		nem(14e9, history.FaultPause, "n3"), nem(16e9, history.FaultResume, "n3"), nem(18e9, history.FaultRestart, "n2"),
		nem(20e9, history.FaultHeal, ""))
	imgs, lays := renderFig(t, evs)
	lay, img := lays[0], imgs[0]
	if lay.Lanes != 3 {
		t.Errorf("3 nested windows use %d lanes, want 3", lay.Lanes)
	}
	if !strings.HasPrefix(lay.Labels[0].Text, "partition halves") {
		t.Errorf("label = %q", lay.Labels[0].Text)
	}
	// Each window's bar is drawn in the strip in its full colour.
	for _, l := range lay.Labels {
		c := faultColors[l.Window.F]
		want := [3]float64{float64(c.R), float64(c.G), float64(c.B)}
		_, y0 := lay.Pixel(0, lay.Strip.Max.Y)
		_, y1 := lay.Pixel(0, lay.Strip.Min.Y)
		x0, _ := lay.Pixel(l.X0, 0)
		x1, _ := lay.Pixel(l.X1, 0)
		if hits, _ := countColor(img, x0+2, x1-2, y0, y1, want, 10); hits == 0 {
			t.Errorf("no %s bar in the strip between x=%d and %d", l.Window.F, x0, x1)
		}
		// And its label is written in its lane: dark ink after the bar's start.
		base := lay.Strip.Min.Y + 2 + vg.Length(l.Lane)*laneHeight
		tx0, ty1 := lay.Pixel(l.TextX, base+3)
		tx1, ty0 := lay.Pixel(l.Right, base+laneHeight)
		ink, _ := countWhere(img, tx0, tx1, ty0, ty1, func(c color.Color) bool {
			r, g, b, _ := c.RGBA()
			return r>>8 < 110 && g>>8 < 110 && b>>8 < 110
		})
		if ink < 30 {
			t.Errorf("label %q: only %d ink pixels in its lane", l.Text, ink)
		}
	}
}

func TestAssignLanes(t *testing.T) {
	xOf := func(ns int64) vg.Length { return vg.Length(ns) / 1e9 * 10 } // 10 pt per second
	width := func(s string) vg.Length { return vg.Length(len(s)) * 5 }
	w := func(f string, s, e int64) history.Window {
		return history.Window{F: f, Label: f, Start: s, End: e}
	}
	ws := []history.Window{
		w(history.FaultPartition, 0, 5e9),    // bar 0–50, text 3–48
		w(history.FaultKill, 2e9, 3e9),       // overlaps the partition
		w(history.FaultPause, 60e9, 70e9),    // clear of both: back to lane 0
		w(history.FaultNote, 61e9, 61e9),     // instant inside the pause
		w(history.FaultClock, 100e9, -1),     // open to the end (200 s)
		w(history.FaultPacket, 190e9, 195e9), // near the right edge
		w(history.FaultNote, 199e9, 199e9),   // an instant at the edge: label to its left
	}
	labels, lanes := assignLanes(ws, 200e9, 44, xOf, 0, 2000, width)
	got := []int{}
	for _, l := range labels {
		got = append(got, l.Lane)
	}
	want := []int{0, 1, 0, 1, 0, 1, 1}
	if lanes != 2 || !equalInts(got, want) {
		t.Errorf("lanes = %d %v, want 2 %v", lanes, got, want)
	}
	if !strings.HasSuffix(labels[4].Text, "(open)") {
		t.Errorf("open window label %q does not say so", labels[4].Text)
	}
	if labels[5].TextX+width(labels[5].Text) > 2000 {
		t.Errorf("label at the right edge runs off the strip: starts at %v", labels[5].TextX)
	}
	if end := labels[6].TextX + width(labels[6].Text); end > labels[6].X0 {
		t.Errorf("instant's label ends at %v, over its marker at %v", end, labels[6].X0)
	}
	// In every lane, occupants do not overlap.
	byLane := map[int][]laneLabel{}
	for _, l := range labels {
		for _, o := range byLane[l.Lane] {
			if min(l.X0, l.TextX) < o.Right && min(o.X0, o.TextX) < l.Right {
				t.Errorf("%s and %s overlap in lane %d", l.Window.F, o.Window.F, l.Lane)
			}
		}
		byLane[l.Lane] = append(byLane[l.Lane], l)
	}

	// More simultaneous windows than lanes: the rest go unlabelled and
	// the figure says so.
	var many []history.Window
	for i := 0; i < maxLanes+3; i++ {
		many = append(many, w(history.FaultKill, int64(i)*1e8, 50e9))
	}
	labels, lanes = assignLanes(many, 200e9, 44, xOf, 0, 2000, width)
	if lanes != maxLanes || labels[len(labels)-1].Lane != -1 {
		t.Errorf("lanes = %d, last lane %d; want %d and -1", lanes, labels[len(labels)-1].Lane, maxLanes)
	}
	if notes := faultNotes(layout{Labels: labels}); len(notes) != 1 || !strings.HasPrefix(notes[0], "3 fault labels") {
		t.Errorf("notes = %q", notes)
	}
}

func TestLatencyPoints(t *testing.T) {
	evs := hist(
		inv(1e9, 0, history.FWrite, "k"), done(1e9+5e6, 0, history.OK, history.FWrite, "k"),
		inv(2e9, 1, history.FRead, "k"), done(2e9+1e6, 1, history.Info, history.FRead, "k"),
		inv(3e9, 2, history.FCAS, "k"), done(3e9+2e6, 2, history.Fail, history.FCAS, "k"),
		inv(4e9, 3, history.FWrite, "k"), // never completes
		inv(5e9, 1, history.FRead, "k"), done(5e9, 1, history.OK, history.FRead, "k"),
		nem(10e9, history.FaultNote, "end"),
	)
	d := latencyPoints(parse(evs))
	want := map[seriesKey][]float64{ // x (s), y (ms) pairs
		{history.FWrite, history.OK}:   {1, 5},
		{history.FRead, history.Info}:  {2, 1},
		{history.FCAS, history.Fail}:   {3, 2},
		{history.FWrite, history.Info}: {4, 6000}, // to the end of the history
		{history.FRead, history.OK}:    {5, latencyFloorMs},
	}
	if len(d.Points) != len(want) {
		t.Fatalf("series = %v", d.Points)
	}
	for k, xy := range want {
		got := d.Points[k]
		if len(got) != 1 || !approx(got[0].X, xy[0]) || !approx(got[0].Y, xy[1]) {
			t.Errorf("%v = %v, want %v", k, got, xy)
		}
	}
	if d.OpenInfo != 1 || d.Floored != 1 {
		t.Errorf("open info %d, floored %d; want 1, 1", d.OpenInfo, d.Floored)
	}
}

func TestSampling(t *testing.T) {
	ops := make([]op, 200000)
	for i := range ops {
		ops[i].Invoke = &history.Event{Time: int64(i) * 1e6}
		ops[i].Type = history.OK
		if i%100 == 0 {
			ops[i].Type = history.Fail
		}
	}
	s := sample(ops, maxLatencyPoints)
	if s.Shown > maxLatencyPoints || s.OtherStride != 1 || s.Shown < maxLatencyPoints*8/10 {
		t.Errorf("sampling %+v: want ≤ %d shown, all 2000 fails kept", s, maxLatencyPoints)
	}
	p := &parsed{Ops: ops}
	d := latencyPoints(p)
	n := 0
	for _, xy := range d.Points {
		n += len(xy)
	}
	if n != s.Shown {
		t.Errorf("drew %d points, sampling says %d", n, s.Shown)
	}
	if f := latencyFigure(p, newPalette(p)); !strings.Contains(f.Title, "shown (1 in") {
		t.Errorf("title %q does not say the plot is subsampled", f.Title)
	}
	if s := sample(ops[:100], maxLatencyPoints); s.Shown != 100 || s.OKStride != 1 {
		t.Errorf("small history sampled: %+v", s)
	}
}

func TestBucketWidth(t *testing.T) {
	for _, c := range []struct{ end, want int64 }{
		{0, 1e6}, {50e6, 1e6}, {3e9, 50e6}, {60e9, 1e9}, {99e9, 1e9}, {100e9, 2e9}, {600e9, 10e9}, {3600e9, 50e9},
	} {
		if got := bucketWidth(c.end); got != c.want {
			t.Errorf("bucketWidth(%d) = %d, want %d", c.end, got, c.want)
		}
	}
}

func TestRateSeries(t *testing.T) {
	// 60 s; 10 ok reads a second for the first 30 s, then 5 fail writes a
	// second; one op never completes.
	var evs []history.Event
	for s := int64(0); s < 60; s++ {
		for i := int64(0); i < 10; i++ {
			t0 := s*1e9 + i*1e8
			if s < 30 {
				evs = append(evs, inv(t0, 0, history.FRead, "k"), done(t0+1e6, 0, history.OK, history.FRead, "k"))
			} else if i%2 == 0 {
				evs = append(evs, inv(t0, 0, history.FWrite, "k"), done(t0+1e6, 0, history.Fail, history.FWrite, "k"))
			}
		}
	}
	evs = append(evs, inv(59.5e9, 1, history.FCAS, "k"), nem(60e9, history.FaultNote, "end"))
	d := rateSeries(parse(hist(evs...)))
	if d.Width != 1e9 || d.Completed != 450 || len(d.Series) != 2 {
		t.Fatalf("width %d completed %d series %d", d.Width, d.Completed, len(d.Series))
	}
	reads, writes := d.Series[seriesKey{history.FRead, history.OK}], d.Series[seriesKey{history.FWrite, history.Fail}]
	for b, xy := range reads {
		want := 10.0
		if b >= 30 {
			want = 0
		}
		if !approx(xy.Y, want) || !approx(xy.X, float64(b)+0.5) {
			t.Errorf("reads bucket %d = %v, want (%v, %v)", b, xy, float64(b)+0.5, want)
		}
	}
	if len(writes) != 60 || !approx(writes[45].Y, 5) || !approx(writes[10].Y, 0) {
		t.Errorf("writes = %v", writes)
	}
}

func TestPointsAreDrawn(t *testing.T) {
	// A latency plot of reads has read-coloured pixels in the data area;
	// one with no ops has none.
	count := func(evs []history.Event) int {
		imgs, lays := renderFig(t, evs)
		lay := lays[0]
		x0, y0 := lay.Pixel(lay.Data.Min.X, lay.Data.Max.Y)
		x1, y1 := lay.Pixel(lay.Data.Max.X, lay.Data.Min.Y)
		c := fColors[history.FRead]
		hits, _ := countColor(imgs[0], x0, x1, y0, y1, blend(c, 170), 30)
		return hits
	}
	if n := count(steady(500)); n < 100 {
		t.Errorf("only %d read-coloured pixels for 500 reads", n)
	}
	if n := count(hist(nem(0, history.FaultNote, "x"), nem(1e9, history.FaultNote, "y"))); n != 0 {
		t.Errorf("%d read-coloured pixels with no ops", n)
	}
}

func approx(a, b float64) bool { d := a - b; return d < 1e-9 && d > -1e-9 }

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestLogTicks(t *testing.T) {
	labels := func(lo, hi float64) []string {
		var out []string
		for _, tk := range (logTicks{}).Ticks(lo, hi) {
			if tk.Label != "" {
				out = append(out, tk.Label)
			}
		}
		return out
	}
	for _, c := range []struct {
		lo, hi float64
		want   string
	}{
		{0.004, 2000, "0.01 0.1 1 10 100 1000"},
		{0.3, 40, "0.5 1 2 5 10 20"},
		{1.25, 3.2, "2 3"},
		{0.0015, 0.0018, ""},
	} {
		if got := strings.Join(labels(c.lo, c.hi), " "); got != c.want {
			t.Errorf("ticks(%v, %v) = %q, want %q", c.lo, c.hi, got, c.want)
		}
	}
}

func TestNiceTicks(t *testing.T) {
	labels := func(lo, hi float64, n int) string {
		var out []string
		for _, tk := range (niceTicks{Target: n}).Ticks(lo, hi) {
			if tk.Label != "" {
				out = append(out, tk.Label)
			}
		}
		return strings.Join(out, " ")
	}
	for _, c := range []struct {
		lo, hi float64
		n      int
		want   string
	}{
		{0, 3.08, 12, "0.0 0.5 1.0 1.5 2.0 2.5 3.0"},
		{0, 60, 12, "0 5 10 15 20 25 30 35 40 45 50 55 60"},
		{0, 1, 8, "0.0 0.2 0.4 0.6 0.8 1.0"}, {0, 1.9, 8, "0.00 0.25 0.50 0.75 1.00 1.25 1.50 1.75"},
		{0, 870, 8, "0 200 400 600 800"},
	} {
		if got := labels(c.lo, c.hi, c.n); got != c.want {
			t.Errorf("ticks(%v, %v) = %q, want %q", c.lo, c.hi, got, c.want)
		}
	}
}
