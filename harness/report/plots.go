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
// files.
func WritePlots(dir string, events []history.Event) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	p := parse(events)
	pl := newPalette(p)
	for _, fig := range []struct {
		name string
		f    *figure
	}{
		{LatencyFile, latencyFigure(p, pl)},
		{RateFile, rateFigure(p, pl)},
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
