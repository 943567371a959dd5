package serve

import (
	"html"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/splitbrain/splitbrain/harness"
	"github.com/splitbrain/splitbrain/model"
)

// rewriteResults edits a synthetic run's results.json (or writes it as
// check.json when check is set).
func rewriteResults(t *testing.T, dir string, check bool, edit func(r *harness.Results)) {
	t.Helper()
	r, err := harness.ReadResults(dir)
	if err != nil {
		t.Fatal(err)
	}
	edit(r)
	name := harness.ResultsFile
	if check {
		name = harness.CheckFile
	}
	writeJSONFile(t, filepath.Join(dir, name), r)
}

// TestRunsThatDidNotFinishSayWhy: a run that was interrupted, one whose
// check timed out (with artefacts skipped), one whose history the check
// could not read whole, and a killed run checked since are visibly so on
// the index (an UNKNOWN badge whose title gives the reasons, a tag, the
// reason under the name) and on the run page (the reason as a finding,
// and in the lead line).
func TestRunsThatDidNotFinishSayWhy(t *testing.T) {
	dir := t.TempDir()
	const (
		interrupted = "interrupted after 2.3s of the 10m0s test: only an anomaly in what was recorded would stand"
		timedOut    = "check timed out after 1ns with 3 of 8 keys undecided"
		skipped     = "latency.png, rate.png: check timed out after 1ns before it was drawn"
		unread      = "check timed out after 1ns while reading the history"
		killed      = "the run has no results.json: it was killed (or is still running); its history ends after 4.0s of the 10s test"
	)
	runs := map[string]synthRun{
		"interrupted": {Name: "stopped", At: t0, Verdict: VerdictUnknown, Seed: 1, Ops: 2},
		"timed out":   {Name: "slow", At: t0.Add(time.Minute), Verdict: VerdictUnknown, Seed: 2, Ops: 2},
		"unread":      {Name: "unread", At: t0.Add(2 * time.Minute), Verdict: VerdictUnknown, Seed: 3, Ops: 2},
		"killed":      {Name: "killed", At: t0.Add(3 * time.Minute), Verdict: VerdictIncomplete, Seed: 4, Ops: 2},
	}
	dirs := map[string]string{}
	for k, r := range runs {
		dirs[k] = writeSynth(t, dir, r)
	}
	rewriteResults(t, dirs["interrupted"], false, func(r *harness.Results) {
		r.Incomplete, r.Linearizability.Valid, r.Liveness.Valid, r.Invariants.Valid = interrupted, model.Valid, model.Valid, model.Valid
	})
	rewriteResults(t, dirs["timed out"], false, func(r *harness.Results) {
		r.CheckTimedOut, r.Skipped = timedOut, []string{skipped}
		r.Linearizability.Valid, r.Liveness.Valid, r.Invariants.Valid = model.Unknown, model.Valid, model.Valid
	})
	rewriteResults(t, dirs["unread"], false, func(r *harness.Results) {
		r.CheckTimedOut, r.Ops, r.HistoryOps = unread, nil, 0
		r.Linearizability.Valid, r.Invariants.Valid = model.Unknown, model.Valid
		r.Liveness = model.Liveness{Valid: model.Unknown, Detail: "not checked: the check timed out while reading the history"}
	})
	// A killed run has no results.json; check wrote check.json since.
	writeSynth(t, dir, synthRun{Name: "scratch", At: t0, Verdict: VerdictUnknown, Seed: 4, Ops: 2})
	scratch := filepath.Join(dir, "scratch", runs["interrupted"].dirName())
	r, err := harness.ReadResults(scratch)
	if err != nil {
		t.Fatal(err)
	}
	r.Incomplete = killed
	writeJSONFile(t, filepath.Join(dirs["killed"], harness.CheckFile), r)

	s := newServer(t, dir, Options{})
	index := get(t, s, "/").Body.String()
	for what, want := range map[string]string{
		"interrupted tag":       `<span class="tag stopped" title="` + html.EscapeString(interrupted) + `">interrupted</span>`,
		"interrupted reason":    html.EscapeString(interrupted),
		"interrupted badge":     `title="interrupted">unknown</a>`,
		"timed-out tag":         `<span class="tag stopped" title="` + timedOut + `">check timed out</span>`,
		"skipped tag":           `>1 skipped</span>`,
		"timed-out badge title": `title="` + timedOut + `">unknown</a>`,
		"unread badge title":    `title="` + unread + `">unknown</a>`,
		"killed, checked since": `<span class="checked v-unknown"`,
	} {
		if !strings.Contains(index, want) {
			t.Errorf("the index lacks the %s: %s", what, want)
		}
	}

	page := func(k string) string {
		t.Helper()
		w := get(t, s, RunURL(runs[k].rel()))
		if w.Code != http.StatusOK {
			t.Fatalf("GET %s: %d", RunURL(runs[k].rel()), w.Code)
		}
		return w.Body.String()
	}
	for k, wants := range map[string][]string{
		"interrupted": {`<span class="badge big v-unknown" id="verdict-badge">unknown</span>`, "Unknown (interrupted)",
			`<strong>the run was interrupted</strong>`, html.EscapeString(interrupted)},
		"timed out": {"Unknown (" + timedOut + ")", `<strong>the check timed out</strong>`, timedOut,
			`<strong>not drawn</strong>`, skipped},
		"unread": {`<strong>the check timed out</strong>`, unread, "not read whole: the check timed out while reading it"},
		"killed": {`<strong>the run did not finish</strong>`, html.EscapeString(killed)},
	} {
		body := page(k)
		for _, want := range wants {
			if !strings.Contains(body, want) {
				t.Errorf("the %s run's page lacks %q", k, want)
			}
		}
	}
	if body := page("unread"); strings.Contains(body, "0 events over") {
		t.Errorf("the page of a run whose history was not read claims it has 0 events")
	}
}
