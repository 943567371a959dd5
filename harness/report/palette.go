package report

import (
	"image/color"
	"sort"

	"github.com/splitbrain/splitbrain/harness/history"
)

// Colours of client functions (Okabe–Ito, readable by most colour-blind
// readers). Functions beyond read, write and cas take extraColors in
// sorted order.
var fColors = map[string]color.NRGBA{
	history.FRead:  {0, 114, 178, 255}, // blue
	history.FWrite: {213, 94, 0, 255},  // vermillion
	history.FCAS:   {0, 158, 115, 255}, // bluish green
}

var extraColors = []color.NRGBA{
	{86, 60, 140, 255}, {140, 86, 75, 255}, {90, 90, 90, 255}, {188, 189, 34, 255},
}

// Colours of fault kinds, by opening (or instant) action. The order of
// faultOrder is the legend order.
var faultOrder = []string{
	history.FaultPartition, history.FaultPacket, history.FaultKill, history.FaultPause,
	history.FaultClock, history.FaultLoseUnsynced, history.FaultTornWrite, history.FaultWipe,
	history.FaultStallDisk, history.FaultAddNode, history.FaultRemoveNode, history.FaultNote, history.FaultScriptError,
}

var faultColors = map[string]color.NRGBA{
	history.FaultPartition:    {230, 159, 0, 255},   // orange
	history.FaultPacket:       {204, 121, 167, 255}, // reddish purple
	history.FaultKill:         {200, 40, 40, 255},   // red
	history.FaultPause:        {86, 180, 233, 255},  // sky blue
	history.FaultClock:        {190, 170, 0, 255},   // dark yellow
	history.FaultLoseUnsynced: {150, 60, 30, 255},   // brown
	history.FaultTornWrite:    {120, 60, 150, 255},  // purple
	history.FaultWipe:         {90, 20, 20, 255},    // dark red
	history.FaultStallDisk:    {70, 100, 160, 255},  // slate blue
	history.FaultAddNode:      {0, 140, 140, 255},   // teal
	history.FaultRemoveNode:   {110, 110, 30, 255},  // olive
	history.FaultNote:         {110, 110, 110, 255}, // grey
	history.FaultScriptError:  {220, 0, 120, 255},   // magenta
}

var extraFaultColors = []color.NRGBA{
	{60, 60, 200, 255}, {0, 110, 60, 255}, {160, 100, 0, 255}, {100, 40, 120, 255},
}

// palette assigns colours to the fault kinds and client functions of one
// history, deterministically: fixed colours for known names, the extra
// colours in sorted-name order for the rest.
type palette struct {
	Faults []string // fault kinds present, legend order
	fault  map[string]color.NRGBA
	Fs     []string // client functions present, legend order
	f      map[string]color.NRGBA
}

func newPalette(p *parsed) *palette {
	fs := map[string]bool{}
	for _, o := range p.Ops {
		fs[o.F] = true
	}
	return newPaletteOf(p.Windows, p.Marks, fs)
}

// newPaletteOf is the palette of a history with these fault windows,
// marks and client functions.
func newPaletteOf(windows, marks []history.Window, fs map[string]bool) *palette {
	pl := &palette{fault: map[string]color.NRGBA{}, f: map[string]color.NRGBA{}}
	kinds := map[string]bool{}
	for _, w := range windows {
		kinds[w.F] = true
	}
	for _, m := range marks {
		kinds[m.F] = true
	}
	pl.Faults, pl.fault = assign(kinds, faultOrder, faultColors, extraFaultColors)
	pl.Fs, pl.f = assign(fs, fKinds, fColors, extraColors)
	return pl
}

func assign(present map[string]bool, order []string, fixed map[string]color.NRGBA, extra []color.NRGBA) ([]string, map[string]color.NRGBA) {
	out := map[string]color.NRGBA{}
	var names []string
	for _, k := range order {
		if present[k] {
			names = append(names, k)
			out[k] = fixed[k]
		}
	}
	var rest []string
	for k := range present {
		if _, ok := fixed[k]; !ok {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	for i, k := range rest {
		names = append(names, k)
		out[k] = extra[i%len(extra)]
	}
	return names, out
}

func (pl *palette) Fault(kind string) color.NRGBA { return pl.fault[kind] }
func (pl *palette) F(f string) color.NRGBA        { return pl.f[f] }

// withAlpha returns c with alpha a (non-premultiplied).
func withAlpha(c color.NRGBA, a uint8) color.NRGBA { c.A = a; return c }

// bandAlpha is the opacity of fault-window shading.
const bandAlpha = 46
