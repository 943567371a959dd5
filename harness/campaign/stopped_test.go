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

// TestRunsWithoutAVerdictSayWhy: a run that did not finish, and one whose
// check timed out (skipping artefacts), carry why from results.json into
// index.json, their signature names it, and summary.html and the text
// summary show it.
func TestRunsWithoutAVerdictSayWhy(t *testing.T) {
	const (
		interrupted = "interrupted after 2.3s of the 1m0s test: only an anomaly in what was recorded would stand"
		timedOut    = "check timed out after 1ns with 3 of 8 keys undecided"
		skipped     = "latency.png, rate.png: check timed out after 1ns before it was drawn"
	)
	runDir := t.TempDir()
	var stopped, slow Entry
	fill(&stopped, &harness.Results{Valid: model.Unknown, Incomplete: interrupted, FaultKinds: []string{"kill"},
		Linearizability: model.Linearizability{Valid: model.Valid}, Liveness: model.Liveness{Valid: model.Valid}}, runDir)
	fill(&slow, &harness.Results{Valid: model.Unknown, CheckTimedOut: timedOut, Skipped: []string{skipped}, FaultKinds: []string{"kill"},
		Linearizability: model.Linearizability{Valid: model.Unknown}, Liveness: model.Liveness{Valid: model.Valid}}, runDir)
	if stopped.Verdict != Unknown || stopped.Incomplete != interrupted || stopped.Signature != "kill / incomplete" {
		t.Errorf("interrupted run's entry: verdict %s, incomplete %q, signature %q", stopped.Verdict, stopped.Incomplete, stopped.Signature)
	}
	if slow.CheckTimedOut != timedOut || len(slow.Skipped) != 1 || slow.Signature != "kill / check-timeout" {
		t.Errorf("timed-out run's entry: check_timed_out %q, skipped %q, signature %q", slow.CheckTimedOut, slow.Skipped, slow.Signature)
	}
	stopped.Index, stopped.Cell, stopped.Seed = 0, "kill", 1
	slow.Index, slow.Cell, slow.Seed = 1, "kill", 2
	dir := t.TempDir()
	x := &Index{Version: indexVersion, ID: "x", Runs: []Entry{stopped, slow}, dir: dir}
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
	if back.Runs[0].Incomplete != interrupted || back.Runs[1].CheckTimedOut != timedOut || len(back.Runs[1].Skipped) != 1 {
		t.Fatalf("index.json runs: %+v", back.Runs)
	}
	html, _ := os.ReadFile(filepath.Join(dir, SummaryFile))
	for _, want := range []string{
		"did not finish: " + interrupted,
		"check timed out: " + timedOut,
		"not drawn: " + skipped,
		`(did not finish)</span>`,
		`(check timed out)</span>`,
	} {
		if !bytes.Contains(html, []byte(want)) {
			t.Errorf("summary.html lacks %q", want)
		}
	}
	txt := Text(x, false)
	for _, want := range []string{"kill / incomplete", "why:   " + interrupted, "kill / check-timeout", "why:   " + timedOut} {
		if !strings.Contains(txt, want) {
			t.Errorf("text summary lacks %q:\n%s", want, txt)
		}
	}
}
