package report

import (
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/splitbrain/splitbrain/harness/history"
)

// isInstant reports whether w is an instant fault (add-node, a note...)
// rather than a window.
func isInstant(w history.Window) bool { return !history.IsWindowOpener(w.F) }

// windowEnd is the end of w in ns: its closing time, or end when it never
// closed.
func windowEnd(w history.Window, end int64) int64 {
	if w.End < 0 {
		return max(end, w.Start)
	}
	return w.End
}

// faultBands shades each fault window as a translucent band over the full
// height of the data area, marks instant faults with dashed lines, and
// marks notes and skipped or failed faults with short ticks at the top
// edge, unlabelled (timeline.html says what each was).
type faultBands struct {
	Windows []history.Window
	Marks   []history.Window
	End     int64
	Palette *palette
}

// markColor and markLength draw a mark's tick.
var markColor = color.NRGBA{110, 110, 110, 200}

const markLength = vg.Length(6)

func (b *faultBands) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	clampX := func(x vg.Length) vg.Length { return min(max(x, c.Min.X), c.Max.X) }
	for _, w := range b.Windows {
		if isInstant(w) {
			continue
		}
		col := b.Palette.Fault(w.F)
		x0 := clampX(trX(float64(w.Start) / 1e9))
		x1 := clampX(trX(float64(windowEnd(w, b.End)) / 1e9))
		if x1-x0 < 1 {
			x1 = x0 + 1 // a window too short to see still gets a sliver
		}
		r := vg.Rectangle{Min: vg.Point{X: x0, Y: c.Min.Y}, Max: vg.Point{X: x1, Y: c.Max.Y}}
		c.SetColor(withAlpha(col, bandAlpha))
		c.Fill(r.Path())
		edge := draw.LineStyle{Color: withAlpha(col, 140), Width: 0.6}
		c.StrokeLine2(edge, x0, c.Min.Y, x0, c.Max.Y)
		if w.End >= 0 {
			c.StrokeLine2(edge, x1, c.Min.Y, x1, c.Max.Y)
		}
	}
	for _, w := range b.Windows {
		if !isInstant(w) {
			continue
		}
		x := trX(float64(w.Start) / 1e9)
		if !c.ContainsX(x) {
			continue
		}
		c.StrokeLine2(draw.LineStyle{Color: withAlpha(b.Palette.Fault(w.F), 220), Width: 1.2,
			Dashes: []vg.Length{4, 2}}, x, c.Min.Y, x, c.Max.Y)
	}
	for _, m := range b.Marks {
		x := trX(float64(m.Start) / 1e9)
		if !c.ContainsX(x) {
			continue
		}
		c.StrokeLine2(draw.LineStyle{Color: markColor, Width: 1}, x, c.Max.Y-markLength, x, c.Max.Y)
	}
}

// markThumb is the legend swatch of the marks: a tick hanging from the
// top.
type markThumb struct{}

func (markThumb) Thumbnail(c *draw.Canvas) {
	x := (c.Min.X + c.Max.X) / 2
	c.StrokeLine2(draw.LineStyle{Color: markColor, Width: 1}, x, c.Max.Y-markLength, x, c.Max.Y)
}

// laneLabel places one fault window in the strip above the data.
type laneLabel struct {
	Window history.Window
	Text   string
	Lane   int       // 0 is nearest the data; -1 when there was no room
	X0, X1 vg.Length // the window's extent
	TextX  vg.Length // where its label starts
	Right  vg.Length // the end of everything drawn for it
}

// labelLengths are the label lengths (in runes) fitLanes tries, longest
// first.
var labelLengths = []int{44, 24, 12}

// fitLanes lays out the strip with the longest labels that fit: it takes
// the first length that labels every window within half the lanes, or
// else the one that leaves the fewest windows unlabelled (then the fewest
// lanes). A run with forty partitions gets "partition majority-r…" rather
// than eight lanes of full descriptions and a note about the rest.
func fitLanes(ws []history.Window, end int64, xOf func(int64) vg.Length, xmin, xmax vg.Length, width func(string) vg.Length) ([]laneLabel, int) {
	var best []laneLabel
	bestLanes, bestMissing := 0, -1
	for _, n := range labelLengths {
		labels, lanes := assignLanes(ws, end, n, xOf, xmin, xmax, width)
		missing := 0
		for _, l := range labels {
			if l.Lane < 0 {
				missing++
			}
		}
		if missing == 0 && lanes <= maxLanes/2 {
			return labels, lanes
		}
		if bestMissing < 0 || missing < bestMissing || (missing == bestMissing && lanes < bestLanes) {
			best, bestLanes, bestMissing = labels, lanes, missing
		}
	}
	return best, bestLanes
}

// assignLanes gives every fault window a lane in the strip such that
// nothing drawn in one lane overlaps: a window's bar and its label, laid
// left to right, go in the lowest lane whose previous occupant ends before
// they start. Labels are cut to runes. At most maxLanes lanes are used; windows that do not fit get
// Lane -1 (their shading is still drawn). It returns the labels in window
// order and the number of lanes used.
func assignLanes(ws []history.Window, end int64, runes int, xOf func(int64) vg.Length, xmin, xmax vg.Length, width func(string) vg.Length) ([]laneLabel, int) {
	const gap = 8
	var lanesEnd []vg.Length // right edge of each lane's last occupant
	out := make([]laneLabel, 0, len(ws))
	for _, w := range ws {
		l := laneLabel{Window: w, Text: truncate(w.Label, runes), Lane: -1}
		if w.End < 0 && !isInstant(w) {
			l.Text += " (open)"
		}
		l.X0 = min(max(xOf(w.Start), xmin), xmax)
		l.X1 = min(max(xOf(windowEnd(w, end)), xmin), xmax)
		tw := width(l.Text)
		l.TextX = l.X0 + 3
		if l.TextX+tw > xmax {
			// No room to the right: end the label at the edge, or for an
			// instant (whose marker fills the lane) just left of it.
			l.TextX = max(xmin, xmax-tw)
			if isInstant(w) {
				l.TextX = max(xmin, l.X0-3-tw)
			}
		}
		left := min(l.X0, l.TextX)
		l.Right = max(l.X1, l.TextX+tw)
		for i, e := range lanesEnd {
			if e+gap <= left {
				l.Lane = i
				break
			}
		}
		if l.Lane < 0 && len(lanesEnd) < maxLanes {
			l.Lane = len(lanesEnd)
			lanesEnd = append(lanesEnd, 0)
		}
		if l.Lane >= 0 {
			lanesEnd[l.Lane] = l.Right
		}
		out = append(out, l)
	}
	return out, len(lanesEnd)
}

// drawStrip draws each labelled window as a coloured bar with its label in
// its lane, lane 0 just above the data area.
func drawStrip(c draw.Canvas, lay layout, pl *palette, sty text.Style) {
	sty.XAlign, sty.YAlign = draw.XLeft, draw.YBottom
	for _, l := range lay.Labels {
		if l.Lane < 0 {
			continue
		}
		col := pl.Fault(l.Window.F)
		base := lay.Strip.Min.Y + 2 + vg.Length(l.Lane)*laneHeight
		if isInstant(l.Window) {
			c.StrokeLine2(draw.LineStyle{Color: col, Width: 1.5}, l.X0, base, l.X0, base+laneHeight-3)
		} else {
			x1 := max(l.X1, l.X0+1.5)
			bar := vg.Rectangle{Min: vg.Point{X: l.X0, Y: base}, Max: vg.Point{X: x1, Y: base + 3}}
			c.SetColor(col)
			c.Fill(bar.Path())
			tick := draw.LineStyle{Color: col, Width: 1}
			c.StrokeLine2(tick, l.X0, base, l.X0, base+7)
			if l.Window.End >= 0 {
				c.StrokeLine2(tick, x1, base, x1, base+7)
			}
		}
		c.FillText(sty, vg.Point{X: l.TextX, Y: base + 3.5}, l.Text)
	}
}

// faultThumb is the legend swatch of a fault kind: a translucent band with
// a solid top edge, or a dashed line for an instant kind.
type faultThumb struct {
	Color   color.NRGBA
	Instant bool
}

func (t faultThumb) Thumbnail(c *draw.Canvas) {
	if t.Instant {
		x := (c.Min.X + c.Max.X) / 2
		c.StrokeLine2(draw.LineStyle{Color: t.Color, Width: 1.2, Dashes: []vg.Length{3, 1.5}}, x, c.Min.Y, x, c.Max.Y)
		return
	}
	c.SetColor(withAlpha(t.Color, bandAlpha*2))
	c.Fill(c.Rectangle.Path())
	c.StrokeLine2(draw.LineStyle{Color: t.Color, Width: 2}, c.Min.X, c.Max.Y-1, c.Max.X, c.Max.Y-1)
}

// faultLegend lists the fault kinds of the windows, then the marks if
// there are any.
func faultLegend(pl *palette, ws, marks []history.Window) legendSection {
	instant := map[string]bool{}
	for _, w := range ws {
		instant[w.F] = isInstant(w)
	}
	s := legendSection{Heading: "faults"}
	for _, k := range pl.Faults {
		if _, ok := instant[k]; ok {
			s.Entries = append(s.Entries, legendEntry{Text: k, Thumbs: []plot.Thumbnailer{faultThumb{pl.Fault(k), instant[k]}}})
		}
	}
	if len(marks) > 0 {
		s.Entries = append(s.Entries, legendEntry{Text: "note, skipped or failed (" + thousands(len(marks)) + ")", Thumbs: []plot.Thumbnailer{markThumb{}}})
	}
	return s
}

// faultNotes says what the strip could not show.
func faultNotes(lay layout) []string {
	n := 0
	for _, l := range lay.Labels {
		if l.Lane < 0 {
			n++
		}
	}
	if n == 0 {
		return nil
	}
	return []string{thousands(n) + " fault labels did not fit above the plot; their windows are still shaded (timeline.html lists every fault)."}
}
