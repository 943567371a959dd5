package harness

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/splitbrain/splitbrain/harness/history"
	"github.com/splitbrain/splitbrain/model"
)

// TestInterruptedRunIsNeverValid: a run stopped early (SIGINT/SIGTERM
// cancel the context) is at best unknown and says it was interrupted; a
// later check of it says the same.
func TestInterruptedRunIsNeverValid(t *testing.T) {
	results := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Interrupt once the run has started recording: a ten-minute test
	// (virtual time) is far from over by then on any machine.
	go func() {
		for ctx.Err() == nil {
			if st, err := os.Stat(filepath.Join(results, "latest", HistoryFile)); err == nil && st.Size() > 0 {
				cancel()
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	out, err := Run(ctx, Test{Seed: 7, Duration: Duration(10 * time.Minute), Results: results, Quick: true})
	if err != nil {
		t.Fatal(err)
	}
	r := out.Results
	sum := Summary(r, &out.Test, false)
	if r.Valid == model.Valid || ExitCode(r.Valid) == 0 {
		t.Fatalf("an interrupted run is %s (exit %d)\n%s", VerdictWord(r.Valid, false), ExitCode(r.Valid), sum)
	}
	if !strings.Contains(sum, "stopped:  interrupted after ") || !strings.Contains(sum, "UNKNOWN (interrupted") {
		t.Fatalf("the interruption is not reported:\n%s", sum)
	}
	stored, err := ReadResults(out.Dir)
	if err != nil || stored.Valid == model.Valid || !strings.Contains(readFile(t, out.Dir, ResultsFile), `"incomplete": "interrupted after `) {
		t.Fatalf("results.json: %+v, %v", stored, err)
	}
	chk, err := Check(context.Background(), out.Dir, CheckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if chk.Results.Valid == model.Valid || !strings.Contains(Summary(chk.Results, nil, false), "UNKNOWN (interrupted") {
		t.Fatalf("check of an interrupted run forgot it:\n%s", Summary(chk.Results, nil, false))
	}
}

// TestCheckOfAKilledRun: a run killed before it wrote results.json is
// incomplete whatever its history says: check says so (UNKNOWN with the
// reason), takes the run's name, seed and nodes from test.json, writes
// check.json and never results.json, and says the same the second time.
func TestCheckOfAKilledRun(t *testing.T) {
	out := RunTest(t, Test{Seed: 7, Nodes: 3, Duration: Duration(20 * time.Second), LivenessBound: Duration(5 * time.Second),
		Results: t.TempDir(), Quick: true})
	// What a SIGKILL before the end leaves: no results.json (the whole
	// history is kept here, so the history alone would pass).
	if err := os.Remove(filepath.Join(out.Dir, ResultsFile)); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 2; i++ {
		chk, err := Check(context.Background(), out.Dir, CheckOptions{})
		if err != nil {
			t.Fatal(err)
		}
		r := chk.Results
		if sum := Summary(r, nil, false); r.Valid != model.Unknown || !strings.Contains(sum, "stopped:  the run has no results.json") {
			t.Fatalf("check %d: %s; want UNKNOWN because the run did not finish\n%s", i, r.Valid, sum)
		}
		if r.Name != "register" || r.Seed != 7 || r.Nodes != 3 || r.Mode != "sim" || !strings.Contains(r.Repro, "--seed 7") {
			t.Fatalf("check %d: identity not taken from test.json: name %q seed %d nodes %d mode %q repro %q", i, r.Name, r.Seed, r.Nodes, r.Mode, r.Repro)
		}
		if !strings.Contains(Summary(r, nil, false), "did not finish") {
			t.Fatalf("check %d: the summary does not say why:\n%s", i, Summary(r, nil, false))
		}
		if _, err := os.Stat(filepath.Join(out.Dir, ResultsFile)); err == nil {
			t.Fatalf("check %d wrote %s", i, ResultsFile)
		}
		if _, err := os.Stat(filepath.Join(out.Dir, CheckFile)); err != nil {
			t.Fatalf("check %d: no %s: %v", i, CheckFile, err)
		}
	}
}

// TestCheckTimeoutBoundsTheWholeCheck: with a time bound that runs out at
// once, the verdict is UNKNOWN and says the check timed out (summary and
// results.json), and the artefacts are skipped with a note, not drawn.
func TestCheckTimeoutBoundsTheWholeCheck(t *testing.T) {
	out, err := Run(context.Background(), Test{Seed: 7, Duration: Duration(20 * time.Second), LivenessBound: Duration(5 * time.Second),
		Results: t.TempDir(), CheckTimeout: Duration(time.Nanosecond)})
	if err != nil {
		t.Fatal(err)
	}
	r := out.Results
	sum := Summary(r, &out.Test, false)
	if r.Valid != model.Unknown || !strings.Contains(sum, "timeout:  check timed out after 1ns") {
		t.Fatalf("verdict %s\n%s", r.Valid, sum)
	}
	if !strings.Contains(sum, "UNKNOWN (check timed out after 1ns") {
		t.Fatalf("the verdict line does not say the check timed out:\n%s", sum)
	}
	for _, f := range []string{TimelineFile, "latency.png", "rate.png"} {
		if _, err := os.Stat(filepath.Join(out.Dir, f)); err == nil {
			t.Errorf("%s drawn after the check's time ran out", f)
		}
	}
	if !strings.Contains(sum, "skipped:  latency.png, rate.png: check timed out") || !strings.Contains(sum, "skipped:  timeline.html: check timed out") {
		t.Errorf("the skipped artefacts are not named:\n%s", sum)
	}
	if entries, _ := filepath.Glob(filepath.Join(out.Dir, ".artefacts-*")); len(entries) > 0 {
		t.Errorf("left behind: %v", entries)
	}
	stored, err := ReadResults(out.Dir)
	if err != nil || stored.Valid != model.Unknown || !strings.Contains(readFile(t, out.Dir, ResultsFile), `"check_timed_out": "check timed out after 1ns`) {
		t.Fatalf("results.json: %+v, %v", stored, err)
	}

	// check: the bound covers reading the history too.
	chk, err := Check(context.Background(), out.Dir, CheckOptions{Timeout: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	if sum := Summary(chk.Results, nil, false); chk.Results.Valid != model.Unknown || !strings.Contains(sum, "UNKNOWN (check timed out after 1ns") {
		t.Fatalf("check: %s\n%s", chk.Results.Valid, sum)
	}
	if _, err := Check(context.Background(), out.Dir, CheckOptions{Timeout: -time.Second}); !errors.Is(err, ErrUsage) {
		t.Fatalf("check --check-timeout -1s: %v, want ErrUsage", err)
	}
}

// TestGenerousCheckTimeoutStaysQuiet: a bound that does not run out
// changes nothing: VALID, artefacts drawn, nothing skipped.
func TestGenerousCheckTimeoutStaysQuiet(t *testing.T) {
	out := RunTest(t, Test{Seed: 7, Duration: Duration(20 * time.Second), LivenessBound: Duration(5 * time.Second),
		Results: t.TempDir(), CheckTimeout: Duration(time.Hour)})
	r := out.Results
	if sum := Summary(r, &out.Test, false); strings.Contains(sum, "timed out") || strings.Contains(sum, "skipped") || r.Timeline != TimelineFile || len(r.Plots) != 2 {
		t.Fatalf("timeline %q, plots %q, error %q\n%s", r.Timeline, r.Plots, r.Error, sum)
	}
	for _, f := range []string{TimelineFile, "latency.png", "rate.png"} {
		if _, err := os.Stat(filepath.Join(out.Dir, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	if entries, _ := filepath.Glob(filepath.Join(out.Dir, ".artefacts-*")); len(entries) > 0 {
		t.Errorf("left behind: %v", entries)
	}
}

// TestEmptyHistoryIsNoOperations: a history without client operations is
// ErrNoOperations (exit 2) in every format, and creates nothing.
func TestEmptyHistoryIsNoOperations(t *testing.T) {
	dir := t.TempDir()
	results := filepath.Join(dir, "results")
	for name, text := range map[string]string{
		"empty.edn":     "[]\n",
		"nemesis.edn":   "[{:process :nemesis, :type :info, :f :start, :value nil, :time 1, :index 0}]\n",
		"nemesis.jsonl": `{"index":0,"time":1,"type":"info","process":"nemesis","f":"partition","value":"halves"}` + "\n",
	} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(text), 0o644)
		_, err := Check(context.Background(), p, CheckOptions{Results: results})
		if err == nil || !strings.Contains(err.Error(), name+": no operations") {
			t.Errorf("%s: got %v, want \"no operations\" naming the file", name, err)
		}
	}
	if _, err := os.Stat(results); err == nil {
		t.Errorf("an empty history created %s", results)
	}
}

func readFile(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestCheckCarriesTheRunsError: a run whose world failed (results.json
// "error", and "run_error" since it exists) is at best unknown, and a
// re-check of its history, which cannot see the failure, says the same:
// check.json carries the error and the verdict stays UNKNOWN.
func TestCheckCarriesTheRunsError(t *testing.T) {
	const worldErr = "n3 exited unexpectedly: exit status 2"
	out := RunTest(t, Test{Seed: 7, Nodes: 3, Duration: Duration(20 * time.Second), LivenessBound: Duration(5 * time.Second),
		Results: t.TempDir(), Quick: true})
	for _, c := range []struct {
		name string
		edit func(r *Results)
	}{
		// As analyze records a world's failure.
		{"run_error", func(r *Results) { r.RunError, r.Error = worldErr, worldErr }},
		// As a results.json written before run_error was has it.
		{"error only", func(r *Results) { r.RunError, r.Error = "", worldErr }},
	} {
		t.Run(c.name, func(t *testing.T) {
			stored, err := ReadResults(out.Dir)
			if err != nil {
				t.Fatal(err)
			}
			c.edit(stored)
			stored.Valid = model.Unknown // what the run said
			if err := writeJSON(filepath.Join(out.Dir, ResultsFile), stored); err != nil {
				t.Fatal(err)
			}
			chk, err := Check(context.Background(), out.Dir, CheckOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var onDisk Results
			if err := readJSONFile(filepath.Join(out.Dir, CheckFile), &onDisk); err != nil {
				t.Fatal(err)
			}
			for _, r := range []*Results{chk.Results, &onDisk} {
				if r.Valid != model.Unknown || !strings.Contains(r.Error, worldErr) || r.RunError != worldErr {
					t.Fatalf("check of a run whose world failed: verdict %s, error %q, run_error %q; want unknown carrying %q",
						r.Valid, r.Error, r.RunError, worldErr)
				}
			}
			if sum := Summary(chk.Results, nil, false); !strings.Contains(sum, "error:    "+worldErr) || !strings.Contains(sum, "UNKNOWN (the run broke") {
				t.Fatalf("the summary of the re-check forgets the world's failure:\n%s", sum)
			}
		})
	}
}

// TestAnalyzeRecordsTheWorldsError: the world's failure is results.json's
// run_error (and part of error); an invariant violation is neither.
func TestAnalyzeRecordsTheWorldsError(t *testing.T) {
	out := RunTest(t, Test{Seed: 7, Nodes: 3, Duration: Duration(20 * time.Second), LivenessBound: Duration(5 * time.Second),
		Results: t.TempDir(), Quick: true})
	res, _ := analyzeRun(context.Background(), out.Dir, analyzeOptions{runErr: errors.New("writing node logs: disk full"), mode: "sim", quick: true})
	if res.RunError != "writing node logs: disk full" || !strings.Contains(res.Error, res.RunError) || res.Valid != model.Unknown {
		t.Fatalf("run_error %q, error %q, verdict %s", res.RunError, res.Error, res.Valid)
	}
	if res, _ := analyzeRun(context.Background(), out.Dir, analyzeOptions{mode: "sim", quick: true}); res.RunError != "" || res.Error != "" {
		t.Fatalf("a run without a failure: run_error %q, error %q", res.RunError, res.Error)
	}
}

func readJSONFile(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func readEvents(t *testing.T, dir string) []history.Event {
	t.Helper()
	hr, err := history.ReadFile(filepath.Join(dir, HistoryFile))
	if err != nil {
		t.Fatal(err)
	}
	return hr.Events
}

// TestRecheckOfACheckedFileCarriesNoRunError: results.json that check
// wrote for a history file (its error notes a torn line of that file) is
// no run's failure: re-checking its directory stays VALID.
func TestRecheckOfACheckedFileCarriesNoRunError(t *testing.T) {
	out := RunTest(t, Test{Seed: 3, Nodes: 3, Duration: Duration(20 * time.Second), LivenessBound: Duration(5 * time.Second),
		Results: t.TempDir(), Quick: true})
	torn := filepath.Join(t.TempDir(), "torn.jsonl")
	os.WriteFile(torn, append([]byte(readFile(t, out.Dir, HistoryFile)), `{"index":99999,"ti`...), 0o644)
	first, err := Check(context.Background(), torn, CheckOptions{Results: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if first.Results.Valid != model.Valid || !strings.Contains(first.Results.Error, "torn") {
		t.Fatalf("check of a torn file: %s, error %q", first.Results.Valid, first.Results.Error)
	}
	again, err := Check(context.Background(), first.Dir, CheckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if again.Results.Valid != model.Valid || again.Results.RunError != "" {
		t.Fatalf("re-check of a checked file: %s, run_error %q, error %q", again.Results.Valid, again.Results.RunError, again.Results.Error)
	}
}

// TestUnreadHistoryClaimsNoCounts: a check that timed out while reading
// the history says so, and claims nothing about what the history holds
// (no "no client operations", no "faults: none").
func TestUnreadHistoryClaimsNoCounts(t *testing.T) {
	out := RunTest(t, Test{Seed: 7, Nodes: 3, Duration: Duration(20 * time.Second), LivenessBound: Duration(5 * time.Second),
		Results: t.TempDir(), Quick: true})
	chk, err := Check(context.Background(), out.Dir, CheckOptions{Timeout: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	sum := Summary(chk.Results, nil, false)
	if !strings.Contains(sum, "check timed out after 1ns while reading the history") {
		t.Fatalf("the check did not time out while reading (the test proves nothing):\n%s", sum)
	}
	for _, claim := range []string{"shares:", "no client operations", "faults:   none", "ops:      none", "(0 events)"} {
		if strings.Contains(sum, claim) {
			t.Errorf("the summary of an unread history says %q:\n%s", claim, sum)
		}
	}
	if !strings.Contains(sum, "history:  not read whole") {
		t.Errorf("the summary does not say the history was not read whole:\n%s", sum)
	}
	// A history read whole still shows its counts.
	if sum := Summary(out.Results, &out.Test, false); !strings.Contains(sum, "shares:   ok ") || strings.Contains(sum, "not read whole") {
		t.Errorf("a complete run's summary:\n%s", sum)
	}
}
