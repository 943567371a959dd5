package report

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg/draw"

	"github.com/splitbrain/splitbrain/harness/history"
)

// maxLatencyPoints is the most points the latency plot draws. Above it ok
// ops are thinned to every n-th (in history order); fail and info ops,
// rarer and more telling, are all kept while they fit in half the budget.
const maxLatencyPoints = 30000

// latencyFloorMs is the smallest latency drawn: a log axis has no zero, so
// faster ops (possible on virtual time) sit on this floor.
const latencyFloorMs = 0.001

// glyph is how a completion type is drawn: ok a filled dot, fail a cross,
// info a filled triangle.
func glyph(t history.Type, c color.Color) draw.GlyphStyle {
	switch t {
	case history.OK:
		return draw.GlyphStyle{Color: c, Radius: 1.7, Shape: draw.CircleGlyph{}}
	case history.Fail:
		return draw.GlyphStyle{Color: c, Radius: 3, Shape: draw.CrossGlyph{}}
	default:
		return draw.GlyphStyle{Color: c, Radius: 3.2, Shape: draw.PyramidGlyph{}}
	}
}

// sampling says which ops the latency plot keeps.
type sampling struct {
	OKStride, OtherStride int // keep every n-th ok / non-ok op
	Total, Shown          int
}

func sample(ops []op, limit int) sampling {
	nOK := 0
	for i := range ops {
		if ops[i].Type == history.OK {
			nOK++
		}
	}
	return sampleCounts(nOK, len(ops)-nOK, limit)
}

// sampleCounts is the sampling of nOK ok ops and nOther others.
func sampleCounts(nOK, nOther, limit int) sampling {
	s := sampling{OKStride: 1, OtherStride: 1, Total: nOK + nOther}
	if s.Total > limit {
		keptOther := nOther
		if nOther > limit/2 {
			s.OtherStride = ceilDiv(nOther, limit/2)
			keptOther = ceilDiv(nOther, s.OtherStride)
		}
		s.OKStride = max(1, ceilDiv(nOK, limit-keptOther))
	}
	s.Shown = ceilDiv(nOK, s.OKStride) + ceilDiv(nOther, s.OtherStride)
	return s
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// typedPoints are latency points and the function of each.
type typedPoints struct {
	XYs plotter.XYs
	F   []string
}

type seriesKey struct {
	F    string
	Type history.Type
}

// latencyData is what the latency plot draws.
type latencyData struct {
	Points map[seriesKey]plotter.XYs // x: invoke time (s), y: latency (ms)
	// ByType holds the same points per completion type in history order,
	// with their functions, so that drawing mixes the functions fairly
	// instead of painting the last one drawn over the others.
	ByType   map[history.Type]typedPoints
	Sampling sampling
	OpenInfo int     // ops drawn that never completed (latency to the end)
	Floored  int     // ops drawn at latencyFloorMs
	Lo, Hi   float64 // latency range drawn, ms
}

// latencyPoints places one point per (sampled) op at its invoke time.
func latencyPoints(p *parsed) latencyData {
	a := newLatencyAcc(sample(p.Ops, maxLatencyPoints))
	for i := range p.Ops {
		a.add(&p.Ops[i])
	}
	return a.d
}

// latencyAcc gathers the latency plot's points one op at a time: every
// OKStride-th ok op and every OtherStride-th other op, in the order they
// are added (history order in memory, completion order when streamed).
type latencyAcc struct {
	d                 latencyData
	seenOK, seenOther int
}

func newLatencyAcc(s sampling) *latencyAcc {
	return &latencyAcc{d: latencyData{Points: map[seriesKey]plotter.XYs{}, ByType: map[history.Type]typedPoints{}, Sampling: s,
		Lo: math.Inf(1), Hi: math.Inf(-1)}}
}

func (a *latencyAcc) add(o *op) {
	d := &a.d
	if o.Type == history.OK {
		a.seenOK++
		if (a.seenOK-1)%d.Sampling.OKStride != 0 {
			return
		}
	} else {
		a.seenOther++
		if (a.seenOther-1)%d.Sampling.OtherStride != 0 {
			return
		}
	}
	if !o.HasDone {
		d.OpenInfo++
	}
	ms := float64(o.Latency()) / 1e6
	if ms < latencyFloorMs {
		ms = latencyFloorMs
		d.Floored++
	}
	d.Lo, d.Hi = math.Min(d.Lo, ms), math.Max(d.Hi, ms)
	k := seriesKey{o.F, o.Type}
	xy := plotter.XY{X: float64(o.Invoke.Time) / 1e9, Y: ms}
	d.Points[k] = append(d.Points[k], xy)
	tp := d.ByType[o.Type]
	tp.XYs, tp.F = append(tp.XYs, xy), append(tp.F, o.F)
	d.ByType[o.Type] = tp
}

// figInput is what every plot draws besides its data.
type figInput struct {
	Windows, Marks []history.Window
	End            int64
	Ops, Orphans   int
}

func (p *parsed) figInput() figInput {
	return figInput{Windows: p.Windows, Marks: p.Marks, End: p.End, Ops: len(p.Ops), Orphans: p.Orphans}
}

// latencyFigure is Jepsen's latency-raw: one point per op at its invoke
// time, latency on a log axis, colour by f and shape by completion type.
func latencyFigure(p *parsed, pl *palette) *figure {
	return latencyFigureOf(latencyPoints(p), p.figInput(), pl)
}

func latencyFigureOf(d latencyData, p figInput, pl *palette) *figure {
	pts, smp, lo, hi := d.Points, d.Sampling, d.Lo, d.Hi
	openInfo, floored := d.OpenInfo, d.Floored
	ax := newAxes(xMax(p.End), "latency (ms, log scale)")
	ax.Y.Scale = plot.LogScale{}
	ax.Y.Tick.Marker = logTicks{}
	if len(pts) == 0 {
		lo, hi = 0.1, 1000
	}
	ax.Y.Min = math.Max(latencyFloorMs/2, lo/1.6)
	ax.Y.Max = hi * 1.6
	f := &figure{Plot: ax, Windows: p.Windows, Marks: p.Marks, End: p.End, Palette: pl}
	grid := plotter.NewGrid()
	grid.Vertical.Color = color.NRGBA{220, 220, 220, 255}
	grid.Horizontal.Color = color.NRGBA{225, 225, 225, 255}
	f.Data = append(f.Data, grid)

	// Draw ok first so the rarer fail and info marks stay visible on top.
	for _, t := range []history.Type{history.OK, history.Info, history.Fail} {
		tp := d.ByType[t]
		if len(tp.XYs) == 0 {
			continue
		}
		s, err := plotter.NewScatter(tp.XYs)
		if err != nil {
			panic(fmt.Sprintf("report: latency points for %s: %v", t, err)) // NaN or Inf: a bug above
		}
		styles := map[string]draw.GlyphStyle{}
		for _, fn := range pl.Fs {
			c := pl.F(fn)
			if t == history.OK {
				c = withAlpha(c, 170)
			}
			styles[fn] = glyph(t, c)
		}
		s.GlyphStyle = glyph(t, greyColor)
		s.GlyphStyleFunc = func(i int) draw.GlyphStyle { return styles[tp.F[i]] }
		f.Data = append(f.Data, s)
	}
	if len(pts) == 0 {
		f.Data = append(f.Data, messagePlotter{"no client operations"})
	}

	f.Title = fmt.Sprintf("Latency (raw) — %s ops", thousands(p.Ops))
	if smp.Shown < smp.Total {
		f.Title += fmt.Sprintf(", %s shown (1 in %d ok", thousands(smp.Shown), smp.OKStride)
		if smp.OtherStride > 1 {
			f.Title += fmt.Sprintf(", 1 in %d fail/info)", smp.OtherStride)
		} else {
			f.Title += ", all fail/info)"
		}
	}
	f.Subtitle = "one point per client operation at its invoke time; latency = completion − invoke"
	f.Legend = []legendSection{opLegend(pl, pts), faultLegend(pl, p.Windows, p.Marks)}
	if _, ok := d.ByType[history.Info]; ok {
		note := "Info ops have an unknown outcome; their latency runs to the info event"
		if openInfo > 0 {
			note += fmt.Sprintf(", or to the end of the history for the %s that never completed", thousands(openInfo))
		}
		f.Notes = append(f.Notes, note+".")
	}
	if floored > 0 {
		f.Notes = append(f.Notes, fmt.Sprintf("%s op(s) faster than 1 µs are drawn at 1 µs.", thousands(floored)))
	}
	if p.Orphans > 0 {
		f.Notes = append(f.Notes, fmt.Sprintf("%s completion(s) without an open invoke were left out.", thousands(p.Orphans)))
	}
	return f
}

// opLegend names the colours (functions) and shapes (types) present.
func opLegend(pl *palette, pts map[seriesKey]plotter.XYs) legendSection {
	s := legendSection{Heading: "operations"}
	hasF, hasT := map[string]bool{}, map[history.Type]bool{}
	for k := range pts {
		hasF[k.F], hasT[k.Type] = true, true
	}
	for _, fn := range pl.Fs {
		if hasF[fn] {
			s.Entries = append(s.Entries, legendEntry{Text: fn, Thumbs: []plot.Thumbnailer{glyphThumb(glyph(history.OK, pl.F(fn)))}})
		}
	}
	names := map[history.Type]string{history.OK: "ok", history.Fail: "fail", history.Info: "info (unknown outcome)"}
	for _, t := range typeKinds {
		if hasT[t] {
			s.Entries = append(s.Entries, legendEntry{Text: names[t], Thumbs: []plot.Thumbnailer{glyphThumb(glyph(t, greyColor))}})
		}
	}
	return s
}

// glyphThumb draws one glyph in the middle of a legend thumbnail.
type glyphThumb draw.GlyphStyle

func (g glyphThumb) Thumbnail(c *draw.Canvas) {
	sty := draw.GlyphStyle(g)
	sty.Radius = max(sty.Radius, 2.5)
	c.DrawGlyph(sty, c.Center())
}

// xMax is the right edge of the time axis, in seconds.
func xMax(end int64) float64 {
	if end <= 0 {
		return 1
	}
	return float64(end) / 1e9
}
