package report

import (
	"flag"
	"path/filepath"
	"testing"

	"gonum.org/v1/plot/vg"

	"github.com/splitbrain/splitbrain/harness/history"
)

var sampleDir = flag.String("report.sample", "", "write sample plots and a timeline of a synthetic history into this directory, to look at")

// TestSample writes a sample report when -report.sample is given:
//
//	go test ./harness/report -run TestSample -report.sample /tmp/sample
func TestSample(t *testing.T) {
	if *sampleDir == "" {
		t.Skip("no -report.sample directory")
	}
	evs := synth(20000, 5, 1)
	if _, err := WritePlots(*sampleDir, evs); err != nil {
		t.Fatal(err)
	}
	err := WriteTimeline(filepath.Join(*sampleDir, "timeline.html"), evs, TimelineOptions{Title: "sample", Focus: 9000, Highlight: []int64{8990, 9000}})
	if err != nil {
		t.Fatal(err)
	}
}

func BenchmarkWritePlots(b *testing.B) {
	evs := synth(100000, 10, 1)
	dir := b.TempDir()
	b.ResetTimer()
	for b.Loop() {
		if _, err := WritePlots(dir, evs); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteTimeline(b *testing.B) {
	evs := synth(100000, 10, 1)
	path := filepath.Join(b.TempDir(), "timeline.html")
	b.ResetTimer()
	for b.Loop() {
		if err := WriteTimeline(path, evs, TimelineOptions{Focus: 100000}); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzReport feeds arbitrary, often ill-formed histories (completions
// without invokes, reinvokes, unknown functions and faults) to both
// writers' construction: nothing may panic, and the timeline must show
// every op exactly once.
func FuzzReport(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1, 1, 0, 2, 5})
	f.Add([]byte{3, 1, 0, 0, 7, 0, 0, 9, 3, 2, 0, 1, 2, 2, 2, 2})
	f.Add([]byte{1, 1, 1, 1, 1, 1, 4, 4, 4, 4, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 400 {
			return
		}
		var evs []history.Event
		var now int64
		fs := []string{history.FRead, history.FWrite, history.FCAS, "append"}
		faults := []string{history.FaultPartition, history.FaultHeal, history.FaultKill, history.FaultRestart, history.FaultNote, "odd"}
		for i := 0; i+1 < len(data); i += 2 {
			a, b := data[i], data[i+1]
			now += int64(b) * 1e7
			e := history.Event{Index: int64(len(evs)), Time: now, Process: history.Process(a % 4), F: fs[(a>>2)%4], Key: "k"}
			switch (a >> 4) % 4 {
			case 0:
				e.Type = history.Invoke
			case 1:
				e.Type = history.OK
			case 2:
				e.Type = history.Fail
			case 3:
				e.Type = history.Info
			}
			if a>>6 == 3 {
				e = history.Event{Index: e.Index, Time: now, Type: history.Info, Process: history.Nemesis, F: faults[int(b)%len(faults)]}
			}
			evs = append(evs, e)
		}
		// Build both figures but do not rasterize them: drawing is slow
		// under coverage instrumentation and is exercised on odd
		// histories by TestWritePlotsOddHistories.
		p := parse(evs)
		pl := newPalette(p)
		latencyFigure(p, pl)
		rateFigure(p, pl)
		fitLanes(p.Windows, p.End, func(ns int64) vg.Length { return vg.Length(ns) / 1e7 }, 0, 700, func(s string) vg.Length { return vg.Length(len(s)) * 5 })
		doc, err := buildTimeline(evs, TimelineOptions{Focus: -1, PageOps: 3})
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]int{}
		for _, pg := range doc.Pages {
			for _, c := range pg.Cols {
				for _, o := range c.Ops {
					seen[o.ID]++
				}
			}
		}
		if len(seen) != len(p.Ops) {
			t.Fatalf("timeline shows %d ops, history has %d", len(seen), len(p.Ops))
		}
		for id, n := range seen {
			if n != 1 {
				t.Fatalf("op %s shown %d times", id, n)
			}
		}
	})
}
