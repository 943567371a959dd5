package scenario

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/splitbrain/splitbrain/harness"
	"github.com/splitbrain/splitbrain/harness/history"
	"github.com/splitbrain/splitbrain/model"
)

// quiet silences log() lines for tests that run whole tests.
func quiet(t *testing.T) {
	old := Output
	Output = io.Discard
	t.Cleanup(func() { Output = old })
}

func scenarioTest(t *testing.T, path string, seed uint64) harness.Test {
	return harness.Test{Seed: seed, Scenario: path, Results: t.TempDir()}
}

func mustRun(t *testing.T, test harness.Test) *harness.Outcome {
	t.Helper()
	out, err := harness.Run(context.Background(), test)
	if err != nil {
		t.Fatalf("harness.Run: %v", err)
	}
	return out
}

// TestScriptedRunIsDeterministic: the same seed and script give a
// byte-identical history (the script draws random choices too).
func TestScriptedRunIsDeterministic(t *testing.T) {
	quiet(t)
	path, _ := filepath.Abs("examples/nightly.lua")
	a := mustRun(t, scenarioTest(t, path, 3))
	b := mustRun(t, scenarioTest(t, path, 3))
	c := mustRun(t, scenarioTest(t, path, 4))
	read := func(o *harness.Outcome) []byte {
		h, err := os.ReadFile(filepath.Join(o.Dir, harness.HistoryFile))
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	ha, hb, hc := read(a), read(b), read(c)
	if len(ha) == 0 || !bytes.Equal(ha, hb) {
		t.Fatalf("seed 3 twice: histories differ (%d vs %d bytes)", len(ha), len(hb))
	}
	if bytes.Equal(ha, hc) {
		t.Fatal("seeds 3 and 4 gave the same history")
	}
	if !bytes.Contains(ha, []byte(`"f":"note"`)) {
		t.Fatal("the script's log() notes are not in the history")
	}
	if !strings.Contains(a.Results.Repro, "--scenario "+path) {
		t.Fatalf("repro %q does not name the scenario", a.Results.Repro)
	}
}

// TestExamplesRunValid: every shipped example runs to a valid verdict
// against the reference node, and actually injects faults.
func TestExamplesRunValid(t *testing.T) {
	quiet(t)
	paths, _ := filepath.Glob("examples/*.lua")
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			out := mustRun(t, scenarioTest(t, p, 1))
			r := out.Results
			if r.Valid != model.Valid || r.ScriptError != "" {
				t.Fatalf("%s: verdict %s, script error %q, error %q\n%s", p, r.Valid, r.ScriptError, r.Error, harness.Summary(r, &out.Test, false))
			}
			faults := 0
			for _, f := range r.Faults {
				if f.F != history.FaultNote {
					faults += f.Count
				}
			}
			if faults < 3 {
				t.Fatalf("%s injected %d faults: %+v", p, faults, r.Faults)
			}
		})
	}
}

// TestScriptErrorInARun: a runtime error stops the fault timeline, the
// harness heals everything, records the script error, ends the test at
// once and still checks the history.
func TestScriptErrorInARun(t *testing.T) {
	quiet(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "broken.lua")
	os.WriteFile(path, []byte("wait_for_leader()\nkill('minority')\nsleep(2)\nlocal shape = 'halfs'\npartition(shape)\nkill('one')\n"), 0o644)
	out := mustRun(t, harness.Test{Seed: 2, Scenario: path, Results: dir, Duration: harness.Duration(20 * time.Second), LivenessBound: harness.Duration(5 * time.Second)})
	r := out.Results
	wantErr := path + `:5: partition: unknown shape "halfs"`
	if !strings.HasPrefix(r.ScriptError, wantErr) {
		t.Fatalf("script_error %q, want prefix %q", r.ScriptError, wantErr)
	}
	if r.Valid == model.Valid {
		t.Fatal("a run whose script failed cannot be plainly valid")
	}
	if r.Linearizability.Valid != model.Valid || len(r.Linearizability.Keys) == 0 {
		t.Fatalf("the history was not checked: %+v", r.Linearizability)
	}
	rr, err := history.ReadFile(filepath.Join(out.Dir, harness.HistoryFile))
	if err != nil {
		t.Fatal(err)
	}
	var seq []string
	for _, e := range rr.Events {
		if e.Process == history.Nemesis {
			seq = append(seq, e.F)
		}
	}
	got := strings.Join(seq, " ")
	if got != "kill kill script-error heal restart restart" {
		t.Fatalf("nemesis events %q: want the kills, the script error, then heal-all", got)
	}
	// The test ends once the cluster is healed: the rest of its 20s would
	// only delay reporting the error.
	if last := rr.Events[len(rr.Events)-1].Time; time.Duration(last) > 10*time.Second {
		t.Fatalf("the run went on to %v after the script failed at about 2s", time.Duration(last))
	}
}

// TestSyntaxErrorIsAUsageError: a script that does not compile stops the
// run before anything starts.
func TestSyntaxErrorIsAUsageError(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bad.lua")
	os.WriteFile(path, []byte("sleep(1\n"), 0o644)
	_, err := harness.Run(context.Background(), harness.Test{Seed: 1, Scenario: path, Results: dir})
	if !errors.Is(err, harness.ErrUsage) || !strings.Contains(err.Error(), path+":1: ") {
		t.Fatalf("err %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("a run directory was created: %v", entries)
	}
}
