package campaign

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/splitbrain/splitbrain/harness"
	"github.com/splitbrain/splitbrain/model"
)

// TestSharesInTheSummary: each run's ok share reaches index.json from its
// results.json (recomputed from the counts, so older results have one
// too), and summary.html and the text summary show it per run and per
// cell, marking the runs that tested little.
func TestSharesInTheSummary(t *testing.T) {
	runDir := t.TempDir()
	fromResults := func(ops model.Stats) Entry {
		var e Entry
		fill(&e, &harness.Results{Valid: model.Valid, Ops: ops}, runDir)
		return e
	}
	healthy := fromResults(model.Stats{"read": {"ok": 60, "fail": 40}})
	starved := fromResults(model.Stats{"read": {"ok": 3, "fail": 97}})
	if healthy.Shares == nil || healthy.Shares.Ops != 100 || healthy.Shares.OK != .6 || healthy.LowOKShare {
		t.Fatalf("healthy entry: %+v %+v", healthy, healthy.Shares)
	}
	if starved.Shares == nil || !starved.LowOKShare {
		t.Fatalf("starved entry not flagged: %+v", starved)
	}
	healthy.Index, healthy.Cell, healthy.Seed = 0, "kill", 1
	starved.Index, starved.Cell, starved.Seed = 1, "kill", 2
	noResults := Entry{Index: 2, Cell: "kill", Seed: 3, Verdict: Error}
	dir := t.TempDir()
	x := &Index{Version: indexVersion, ID: "x", Runs: []Entry{healthy, starved, noResults}, dir: dir}
	if err := x.write(); err != nil {
		t.Fatal(err)
	}
	if err := writeSummary(x); err != nil {
		t.Fatal(err)
	}
	back, err := Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if back.Runs[1].Shares == nil || back.Runs[1].Shares.OK != .03 || !back.Runs[1].LowOKShare || back.Runs[2].Shares != nil {
		t.Fatalf("index.json runs: %+v", back.Runs)
	}
	html, _ := os.ReadFile(filepath.Join(dir, SummaryFile))
	for _, want := range []string{
		"1 run with under 20% of operations ok",
		"<td>60.0% of 100</td>",
		`class="low" title="under 20% of operations ok: this run tested little">3.0% of 100</td>`,
		"<td>31.5%</td><td class=\"low\">1</td>", // the cell: 63 of 200 ok, one run flagged
	} {
		if !bytes.Contains(html, []byte(want)) {
			t.Errorf("summary.html lacks %q", want)
		}
	}
	if txt := Text(x, false); !strings.Contains(txt, "tested little: 1 run(s) with under 20% of operations ok (kill, seeds 2)") {
		t.Errorf("text summary:\n%s", txt)
	}
}
