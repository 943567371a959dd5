package harness

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/splitbrain/splitbrain/harness/history"
	"github.com/splitbrain/splitbrain/model"
)

// TestArtefactsDeterministic: the same run, recorded twice, gives the same
// bytes of plots, paged timeline and diagram, however its passes were
// scheduled over the cores (the check and the artefacts run side by side,
// the timeline renders its files on a goroutine of its own).
func TestArtefactsDeterministic(t *testing.T) {
	test := Test{Seed: 7, Duration: Duration(30 * time.Second), LivenessBound: Duration(5 * time.Second),
		Bugs: []string{"local-reads"}}
	test.Workload.Rate = 1000
	var dirs []string
	for range 2 {
		test.Results = t.TempDir()
		out, err := Run(context.Background(), test)
		if err != nil {
			t.Fatal(err)
		}
		if out.Results.Valid != model.Invalid {
			t.Fatalf("verdict %v, want invalid (the diagram is compared too)", out.Results.Valid)
		}
		dirs = append(dirs, out.Dir)
	}
	parts, _ := filepath.Glob(filepath.Join(dirs[0], "timeline", "*.html"))
	if len(parts) < 2 {
		t.Fatalf("the timeline has %d files of pages; the test wants a paged one", len(parts))
	}
	files := []string{"latency.png", "rate.png", TimelineFile, LinearHTML}
	for _, p := range parts {
		files = append(files, filepath.Join("timeline", filepath.Base(p)))
	}
	for _, f := range files {
		a, err := os.ReadFile(filepath.Join(dirs[0], f))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dirs[1], f))
		if err != nil {
			t.Fatal(err)
		}
		// The run directory's own name is the timeline's title.
		b = bytes.ReplaceAll(b, []byte(filepath.Base(dirs[1])), []byte(filepath.Base(dirs[0])))
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between two runs of the same seed", f)
		}
	}
}

// TestCheckFromFileIsCheckInMemory: the verdict checked from the file in
// passes is the one model's in-memory checks give on the whole history.
func TestCheckFromFileIsCheckInMemory(t *testing.T) {
	out, err := Run(context.Background(), Test{Seed: 7, Duration: Duration(30 * time.Second), LivenessBound: Duration(5 * time.Second),
		Bugs: []string{"local-reads"}, Results: t.TempDir(), Quick: true})
	if err != nil {
		t.Fatal(err)
	}
	hr, err := history.ReadFile(filepath.Join(out.Dir, HistoryFile))
	if err != nil {
		t.Fatal(err)
	}
	lin, err := model.CheckLinearizable(hr.Events, model.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := out.Results
	if r.Linearizability.Valid != lin.Valid || r.Linearizability.Explanation != lin.Explanation || len(r.Linearizability.Keys) != len(lin.Keys) {
		t.Errorf("from the file: %v %q (%d keys); in memory: %v %q (%d keys)", r.Linearizability.Valid, r.Linearizability.Explanation,
			len(r.Linearizability.Keys), lin.Valid, lin.Explanation, len(lin.Keys))
	}
	if live := model.CheckLiveness(hr.Events, 5*time.Second); live != r.Liveness {
		t.Errorf("liveness from the file %+v, in memory %+v", r.Liveness, live)
	}
	if got, want := r.Ops.String(), model.ComputeStats(hr.Events).String(); got != want {
		t.Errorf("stats from the file %q, in memory %q", got, want)
	}
	if r.HistoryOps != len(hr.Events) {
		t.Errorf("history events %d, want %d", r.HistoryOps, len(hr.Events))
	}
}

// TestArtefactsOnFailure: with ArtefactsOnFailure a valid run draws no
// plots or timeline and says why (not as a skip, which means a timeout);
// an invalid one draws them.
func TestArtefactsOnFailure(t *testing.T) {
	for _, bugs := range [][]string{nil, {"local-reads"}} {
		out, err := Run(context.Background(), Test{Seed: 7, Duration: Duration(20 * time.Second), LivenessBound: Duration(5 * time.Second),
			Bugs: bugs, Results: t.TempDir(), ArtefactsOnFailure: true})
		if err != nil {
			t.Fatal(err)
		}
		r := out.Results
		if want := map[bool]model.Validity{false: model.Valid, true: model.Invalid}[bugs != nil]; r.Valid != want {
			t.Fatalf("bugs %v: verdict %v, want %v", bugs, r.Valid, want)
		}
		_, statErr := os.Stat(filepath.Join(out.Dir, TimelineFile))
		switch r.Valid {
		case model.Valid:
			if statErr == nil || len(r.Plots) != 0 || r.ArtefactsNotDrawn == "" || len(r.Skipped) != 0 {
				t.Errorf("valid run: timeline %v, plots %v, not drawn %q, skipped %v", statErr, r.Plots, r.ArtefactsNotDrawn, r.Skipped)
			}
		case model.Invalid:
			if statErr != nil || len(r.Plots) != 2 || r.ArtefactsNotDrawn != "" {
				t.Errorf("invalid run: timeline %v, plots %v, not drawn %q", statErr, r.Plots, r.ArtefactsNotDrawn)
			}
		default:
			t.Fatalf("bugs %v: verdict %v", bugs, r.Valid)
		}
	}
}
