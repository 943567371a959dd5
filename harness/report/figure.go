package report

import (
	"bytes"
	"image/color"
	"strings"

	xfont "golang.org/x/image/font"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/splitbrain/splitbrain/harness/history"
)

// Figure geometry. Sizes are in points (1/72 in); images render at dpi.
const (
	dpi         = 96
	figWidth    = 1280 * vg.Inch / dpi
	plotHeight  = 600 * vg.Inch / dpi // the axes and data, below the fault strip
	margin      = vg.Length(10)
	legendWidth = vg.Length(200)
	laneHeight  = vg.Length(14)
	maxLanes    = 8
)

var (
	sans      = font.Font{Typeface: "Liberation", Variant: "Sans"}
	inkColor  = color.NRGBA{40, 40, 40, 255}
	greyColor = color.NRGBA{100, 100, 100, 255}
)

func style(size vg.Length, c color.Color, bold bool) text.Style {
	f := font.From(sans, size)
	if bold {
		f.Weight = xfont.WeightBold
	}
	return text.Style{Color: c, Font: f, Handler: plot.DefaultTextHandler}
}

// newAxes returns a plot with the house style: sans fonts, a time x axis
// from 0 to xmax seconds, no title (the figure draws its own).
func newAxes(xmax float64, ylabel string) *plot.Plot {
	p := plot.New()
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = font.From(sans, 11)
		a.Label.TextStyle.Color = inkColor
		a.Tick.Label.Font = font.From(sans, 9.5)
		a.Tick.Label.Color = inkColor
		a.Padding = 0
	}
	p.X.Label.Text = "time since test start (s)"
	p.Y.Label.Text = ylabel
	p.X.Min, p.X.Max = 0, xmax
	p.X.Tick.Marker = niceTicks{Target: 12}
	p.Y.Tick.Marker = niceTicks{Target: 8}
	return p
}

// legendEntry is one line of the legend panel.
type legendEntry struct {
	Text   string
	Thumbs []plot.Thumbnailer
}

// legendSection is a heading and its entries.
type legendSection struct {
	Heading string
	Entries []legendEntry
}

// figure is a plot with the parts every report plot shares: a title and
// subtitle, the fault strip above the data (one labelled bar per fault
// window, in lanes so that overlapping windows stay readable), and a
// legend panel to the right of the data.
type figure struct {
	Title, Subtitle string
	Plot            *plot.Plot // axes with their ranges set; no plotters yet
	Data            []plot.Plotter
	Windows         []history.Window
	Marks           []history.Window // notes, skipped and failed faults: ticks, no labels
	End             int64            // ns; the right edge of open windows
	Palette         *palette
	Legend          []legendSection
	Notes           []string
}

// layout is where render put things, in points from the bottom left.
type layout struct {
	Width, Height vg.Length
	Data          vg.Rectangle // the data area of the plot
	Strip         vg.Rectangle // the fault strip
	Labels        []laneLabel
	Lanes         int
	// X maps a time in ns to its horizontal position.
	X func(ns int64) vg.Length
}

// Pixel converts a point to image pixel coordinates (origin top left).
func (l layout) Pixel(x, y vg.Length) (int, int) {
	return int(float64(x) * dpi / 72), int(float64(l.Height-y) * dpi / 72)
}

// render draws the figure. It adds the shading and f.Data to f.Plot, so a
// figure is rendered once.
func (f *figure) render() (*vgimg.Canvas, layout) {
	titleSty := style(15, inkColor, true)
	subSty := style(10, greyColor, false)
	top := margin + titleSty.Height("Ag") + 4
	if f.Subtitle != "" {
		top += subSty.Height("Ag") + 4
	}
	mainRight := figWidth - margin - legendWidth

	// Fault shading first, so grid lines and data draw over it. Adding
	// plotters may widen the axes to fit their data; keep the set ranges.
	xr, yr := [2]float64{f.Plot.X.Min, f.Plot.X.Max}, [2]float64{f.Plot.Y.Min, f.Plot.Y.Max}
	f.Plot.Add(&faultBands{Windows: f.Windows, Marks: f.Marks, End: f.End, Palette: f.Palette})
	f.Plot.Add(f.Data...)
	f.Plot.X.Min, f.Plot.X.Max = xr[0], xr[1]
	f.Plot.Y.Min, f.Plot.Y.Max = yr[0], yr[1]

	// The data area's horizontal extent does not depend on the plot's
	// height, so measure it on a provisional canvas, then size the strip.
	probe := draw.Canvas{Rectangle: vg.Rectangle{Min: vg.Point{X: margin, Y: margin},
		Max: vg.Point{X: mainRight, Y: plotHeight}}}
	dc := f.Plot.DataCanvas(probe)
	xOf := func(ns int64) vg.Length {
		span := f.Plot.X.Max - f.Plot.X.Min
		frac := (float64(ns)/1e9 - f.Plot.X.Min) / span
		return dc.Min.X + vg.Length(frac)*(dc.Max.X-dc.Min.X)
	}
	labelSty := style(8.5, inkColor, false)
	labels, lanes := fitLanes(f.Windows, f.End, xOf, dc.Min.X, dc.Max.X, labelSty.Width)
	stripH := vg.Length(lanes)*laneHeight + 4
	height := margin + plotHeight + stripH + top
	lay := layout{Width: figWidth, Height: height, Labels: labels, Lanes: lanes, X: xOf}

	img := vgimg.NewWith(vgimg.UseWH(figWidth, height), vgimg.UseDPI(dpi), vgimg.UseBackgroundColor(color.White))
	c := draw.New(img)

	// Title block.
	titleSty.XAlign, titleSty.YAlign = draw.XLeft, draw.YTop
	y := height - margin
	c.FillText(titleSty, vg.Point{X: margin, Y: y}, f.Title)
	y -= titleSty.Height("Ag") + 4
	if f.Subtitle != "" {
		subSty.YAlign = draw.YTop
		c.FillText(subSty, vg.Point{X: margin, Y: y}, f.Subtitle)
	}

	// Plot, with the fault shading underneath the data.
	plotArea := draw.Canvas{Canvas: c.Canvas, Rectangle: vg.Rectangle{
		Min: vg.Point{X: margin, Y: margin}, Max: vg.Point{X: mainRight, Y: margin + plotHeight}}}
	f.Plot.Draw(plotArea)
	lay.Data = f.Plot.DataCanvas(plotArea).Rectangle

	// Fault strip directly above the data area.
	lay.Strip = vg.Rectangle{Min: vg.Point{X: lay.Data.Min.X, Y: plotArea.Max.Y},
		Max: vg.Point{X: lay.Data.Max.X, Y: plotArea.Max.Y + stripH}}
	drawStrip(c, lay, f.Palette, labelSty)

	// Legend panel.
	drawLegend(c, vg.Rectangle{Min: vg.Point{X: mainRight + 12, Y: margin},
		Max: vg.Point{X: figWidth - margin, Y: lay.Strip.Max.Y}}, f.Legend, append(f.Notes, faultNotes(lay)...))
	return img, lay
}

// png renders the figure and encodes it.
func (f *figure) png() ([]byte, layout, error) {
	img, lay := f.render()
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&buf); err != nil {
		return nil, lay, err
	}
	return buf.Bytes(), lay, nil
}

// drawLegend writes the legend sections and notes top-down in r.
func drawLegend(c draw.Canvas, r vg.Rectangle, sections []legendSection, notes []string) {
	head := style(10.5, inkColor, true)
	head.YAlign = draw.YTop
	entrySty := style(9.5, inkColor, false)
	y := r.Max.Y
	for _, s := range sections {
		if len(s.Entries) == 0 {
			continue
		}
		c.FillText(head, vg.Point{X: r.Min.X, Y: y}, s.Heading)
		y -= head.Height("Ag") + 4
		l := plot.NewLegend()
		l.TextStyle = entrySty
		l.Top, l.Left = true, true
		l.Padding = 3
		l.ThumbnailWidth = 18
		for _, e := range s.Entries {
			l.Add(e.Text, e.Thumbs...)
		}
		area := draw.Canvas{Canvas: c.Canvas, Rectangle: vg.Rectangle{Min: vg.Point{X: r.Min.X, Y: r.Min.Y}, Max: vg.Point{X: r.Max.X, Y: y}}}
		rect := l.Rectangle(area)
		l.Draw(area)
		y -= rect.Size().Y + 12
	}
	noteSty := style(8.5, greyColor, false)
	noteSty.YAlign = draw.YTop
	for _, n := range notes {
		for _, line := range wrap(n, 40) {
			c.FillText(noteSty, vg.Point{X: r.Min.X, Y: y}, line)
			y -= noteSty.Height("Ag") + 2
		}
		y -= 4
	}
}

// wrap breaks s into lines of at most n runes at spaces.
func wrap(s string, n int) []string {
	var lines []string
	var cur []string
	curLen := 0
	for _, w := range strings.Fields(s) {
		wl := len([]rune(w))
		if curLen > 0 && curLen+1+wl > n {
			lines = append(lines, strings.Join(cur, " "))
			cur, curLen = nil, 0
		}
		if curLen > 0 {
			curLen++
		}
		cur = append(cur, w)
		curLen += wl
	}
	if len(cur) > 0 {
		lines = append(lines, strings.Join(cur, " "))
	}
	return lines
}

// messagePlotter writes a message in the middle of the data area, for
// plots with nothing to show.
type messagePlotter struct{ Text string }

func (m messagePlotter) Plot(c draw.Canvas, _ *plot.Plot) {
	sty := style(13, greyColor, false)
	sty.XAlign, sty.YAlign = draw.XCenter, draw.YCenter
	c.FillText(sty, c.Center(), m.Text)
}
