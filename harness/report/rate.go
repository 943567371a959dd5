package report

import (
	"fmt"
	"image/color"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/splitbrain/splitbrain/harness/history"
)

// rateBuckets is roughly how many buckets the rate plot aims for.
const rateBuckets = 100

// bucketWidth picks the bucket width for a history spanning end ns: the
// smallest of 1, 2, 5 × 10^k ns that gives at most rateBuckets buckets,
// and never less than 1 ms. A one-minute test gets 1 s buckets.
func bucketWidth(end int64) int64 {
	for w := int64(1e6); ; w *= 10 {
		for _, m := range []int64{1, 2, 5} {
			if end/(w*m) < rateBuckets {
				return w * m
			}
		}
	}
}

// lineStyle is how a completion type is drawn in the rate plot: ok solid,
// fail dashed, info dotted.
func lineStyle(t history.Type, c color.Color) draw.LineStyle {
	switch t {
	case history.OK:
		return draw.LineStyle{Color: c, Width: 1.6}
	case history.Fail:
		return draw.LineStyle{Color: c, Width: 1.4, Dashes: []vg.Length{5, 3}}
	default:
		return draw.LineStyle{Color: c, Width: 1.6, Dashes: []vg.Length{1.5, 2}}
	}
}

// rateData is what the rate plot draws.
type rateData struct {
	Width     int64                     // bucket width, ns
	Series    map[seriesKey]plotter.XYs // x: bucket centre (s), y: completions/s
	Peak      float64
	Completed int
}

// rateSeries counts completions per f and type in buckets of
// bucketWidth. Ops that never completed are not counted.
func rateSeries(p *parsed) rateData {
	a := newRateAcc(p.End)
	for i := range p.Ops {
		a.add(&p.Ops[i])
	}
	return a.data()
}

// rateAcc counts completions one op at a time.
type rateAcc struct {
	end, width int64
	n          int
	counts     map[seriesKey][]int
	completed  int
}

func newRateAcc(end int64) *rateAcc {
	width := bucketWidth(end)
	return &rateAcc{end: end, width: width, n: max(1, int((end+width-1)/width)), counts: map[seriesKey][]int{}}
}

func (a *rateAcc) add(o *op) {
	if !o.HasDone {
		return
	}
	a.completed++
	k := seriesKey{o.F, o.Type}
	if a.counts[k] == nil {
		a.counts[k] = make([]int, a.n)
	}
	a.counts[k][min(int(o.Done.Time/a.width), a.n-1)]++
}

func (a *rateAcc) data() rateData {
	width, n := a.width, a.n
	d := rateData{Width: width, Series: map[seriesKey]plotter.XYs{}, Completed: a.completed}
	ws := float64(width) / 1e9
	for k, cs := range a.counts {
		xy := make(plotter.XYs, 0, n)
		for b, c := range cs {
			x, cover := (float64(b)+0.5)*ws, ws
			if b == n-1 && n > 1 {
				// The last bucket ends with the history: divide by the
				// part it covers, and leave it out when that is too small
				// to give a rate worth drawing.
				cover = float64(a.end-int64(b)*width) / 1e9
				if cover < ws/4 {
					continue
				}
				x = float64(b)*ws + cover/2
			}
			r := float64(c) / cover
			xy = append(xy, plotter.XY{X: x, Y: r})
			d.Peak = math.Max(d.Peak, r)
		}
		d.Series[k] = xy
	}
	return d
}

// rateFigure plots completions per second per f and type.
func rateFigure(p *parsed, pl *palette) *figure {
	return rateFigureOf(rateSeries(p), p.figInput(), pl)
}

func rateFigureOf(d rateData, p figInput, pl *palette) *figure {
	ax := newAxes(xMax(p.End), "throughput (completions/s)")
	ax.Y.Min, ax.Y.Max = 0, 1
	f := &figure{Plot: ax, Windows: p.Windows, Marks: p.Marks, End: p.End, Palette: pl}
	grid := plotter.NewGrid()
	grid.Vertical.Color = color.NRGBA{220, 220, 220, 255}
	grid.Horizontal.Color = color.NRGBA{225, 225, 225, 255}
	f.Data = append(f.Data, grid)
	for _, t := range typeKinds {
		for _, fn := range pl.Fs {
			xy, ok := d.Series[seriesKey{fn, t}]
			if !ok {
				continue
			}
			l, err := plotter.NewLine(xy)
			if err != nil {
				panic(fmt.Sprintf("report: rate line for %s %s: %v", fn, t, err)) // NaN or Inf: a bug above
			}
			l.LineStyle = lineStyle(t, pl.F(fn))
			f.Data = append(f.Data, l)
		}
	}
	if d.Peak > 0 {
		ax.Y.Max = d.Peak * 1.08
	} else {
		f.Data = append(f.Data, messagePlotter{"no completed client operations"})
	}
	completed, width, counts := d.Completed, d.Width, d.Series
	f.Title = fmt.Sprintf("Throughput — %s completions in %s buckets", thousands(completed), bucketLabel(width))
	f.Subtitle = "completed client operations per second, by function and outcome"
	f.Legend = []legendSection{rateLegend(pl, counts), faultLegend(pl, p.Windows, p.Marks)}
	if open := p.Ops - completed; open > 0 {
		f.Notes = append(f.Notes, fmt.Sprintf("%s op(s) never completed and are not counted.", thousands(open)))
	}
	return f
}

func rateLegend(pl *palette, counts map[seriesKey]plotter.XYs) legendSection {
	s := legendSection{Heading: "completions"}
	hasF, hasT := map[string]bool{}, map[history.Type]bool{}
	for k := range counts {
		hasF[k.F], hasT[k.Type] = true, true
	}
	for _, fn := range pl.Fs {
		if hasF[fn] {
			s.Entries = append(s.Entries, legendEntry{Text: fn, Thumbs: []plot.Thumbnailer{lineThumb(lineStyle(history.OK, pl.F(fn)))}})
		}
	}
	names := map[history.Type]string{history.OK: "ok", history.Fail: "fail", history.Info: "info (unknown outcome)"}
	for _, t := range typeKinds {
		if hasT[t] {
			s.Entries = append(s.Entries, legendEntry{Text: names[t], Thumbs: []plot.Thumbnailer{lineThumb(lineStyle(t, greyColor))}})
		}
	}
	return s
}

// lineThumb draws a horizontal line across a legend thumbnail.
type lineThumb draw.LineStyle

func (l lineThumb) Thumbnail(c *draw.Canvas) {
	y := (c.Min.Y + c.Max.Y) / 2
	c.StrokeLine2(draw.LineStyle(l), c.Min.X, y, c.Max.X, y)
}

// bucketLabel names a bucket width: 50 ms, 1 s, 20 s.
func bucketLabel(w int64) string {
	if w >= 1e9 {
		return strconv.FormatInt(w/1e9, 10) + " s"
	}
	return strconv.FormatInt(w/1e6, 10) + " ms"
}
