package report

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/splitbrain/splitbrain/harness/history"
)

// Plot file names written by WritePlots.
const (
	LatencyFile = "latency.png"
	RateFile    = "rate.png"
)

// WritePlots writes latency.png and rate.png into dir (creating it if
// needed) and returns their file names. Both plots shade fault windows
// and label them above the data; the same events give byte-identical
// files. It is a Plotter fed from memory.
func WritePlots(dir string, events []history.Event) ([]string, error) {
	p := NewPlotter(SurveyOf(events))
	for i := range events {
		p.Add(&events[i])
	}
	return p.Write(dir)
}

// Plotter draws the plots of a history read one event at a time, after a
// Survey of it: its memory holds the points drawn (at most
// maxLatencyPoints, sampled as the latency plot's title says) and the rate
// buckets, never the history.
type Plotter struct {
	in   figInput
	pl   *palette
	lat  *latencyAcc
	rate *rateAcc
	ops  *opStream
}

// NewPlotter prepares the plots of the history info describes.
func NewPlotter(info HistoryInfo) *Plotter {
	windows, marks := splitFaults(info.Nemesis)
	fs := map[string]bool{}
	for _, f := range info.Fs {
		fs[f] = true
	}
	p := &Plotter{
		in:   figInput{Windows: windows, Marks: marks, End: info.End, Ops: info.Ops, Orphans: info.Orphans},
		pl:   newPaletteOf(windows, marks, fs),
		lat:  newLatencyAcc(sampleCounts(info.OKOps, info.Ops-info.OKOps, maxLatencyPoints)),
		rate: newRateAcc(info.End),
	}
	p.ops = newOpStream(info.End, func(o *op) {
		p.lat.add(o)
		p.rate.add(o)
	})
	return p
}

// Add reads the next event.
func (p *Plotter) Add(e *history.Event) { p.ops.add(e) }

// Write draws the plots into dir and returns their file names.
func (p *Plotter) Write(dir string) ([]string, error) {
	p.ops.close()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	for _, fig := range []struct {
		name string
		f    *figure
	}{
		{LatencyFile, latencyFigureOf(p.lat.d, p.in, p.pl)},
		{RateFile, rateFigureOf(p.rate.data(), p.in, p.pl)},
	} {
		b, _, err := fig.f.png()
		if err != nil {
			return nil, fmt.Errorf("report: rendering %s: %w", fig.name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, fig.name), b, 0o644); err != nil {
			return nil, fmt.Errorf("report: %w", err)
		}
	}
	return []string{LatencyFile, RateFile}, nil
}
