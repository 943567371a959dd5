package serve

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/splitbrain/splitbrain/harness"
	"github.com/splitbrain/splitbrain/harness/gitstamp"
	"github.com/splitbrain/splitbrain/model"
)

// synthRun describes a hand-made run directory: fast to make by the
// thousand, and exact in what it holds.
type synthRun struct {
	Name    string
	At      time.Time
	Verdict string // one of Verdicts; incomplete writes no results.json
	Seed    uint64
	Ops     int
}

// dirName is the run directory's name, as Run names it.
func (r synthRun) dirName() string { return r.At.UTC().Format(runDirLayout) }

// rel is the run directory relative to the results root.
func (r synthRun) rel() string { return r.Name + "/" + r.dirName() }

// writeSynth writes the run under root and returns its directory.
func writeSynth(t testing.TB, root string, r synthRun) string {
	t.Helper()
	dir := filepath.Join(root, r.Name, r.dirName())
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	test := harness.Test{Name: r.Name, Mode: "sim", Seed: r.Seed, Nodes: 3, Duration: harness.Duration(10 * time.Second), Nemesis: []string{"partition"}}
	writeJSONFile(t, filepath.Join(dir, harness.TestFile), test)
	hist := ""
	for i := 0; i < r.Ops; i++ {
		hist += fmt.Sprintf(`{"index":%d,"time":%d,"type":"invoke","process":0,"f":"read","key":"k"}`+"\n", 2*i, 2*i)
		hist += fmt.Sprintf(`{"index":%d,"time":%d,"type":"ok","process":0,"f":"read","key":"k"}`+"\n", 2*i+1, 2*i+1)
	}
	if err := os.WriteFile(filepath.Join(dir, harness.HistoryFile), []byte(hist), 0o644); err != nil {
		t.Fatal(err)
	}
	if r.Verdict == VerdictIncomplete {
		return dir
	}
	v := map[string]model.Validity{VerdictValid: model.Valid, VerdictInvalid: model.Invalid, VerdictUnknown: model.Unknown}[r.Verdict]
	res := harness.Results{
		Valid: v, Name: r.Name, Mode: "sim", Seed: r.Seed, Nodes: 3, Started: r.At,
		Ops:        model.Stats{"read": {"ok": r.Ops}, model.NemesisStats: {"partition": 1, "heal": 1}},
		Faults:     []harness.FaultCount{{F: "heal", Count: 1}, {F: "partition", Count: 1}},
		FaultKinds: []string{"partition"},
		Git:        gitstamp.Stamp{Status: gitstamp.StatusClean, Branch: "main", Commit: "abcdef0123456789", Short: "abcdef0"},
		Repro:      fmt.Sprintf("splitbrain run --seed %d --name %s", r.Seed, r.Name),
		HistoryOps: 2 * r.Ops,
	}
	if v == model.Invalid {
		res.Linearizability = model.Linearizability{Valid: model.Invalid, FirstFailingKey: "k", Anomaly: "stale-read",
			Explanation: `Key "k": a read <saw> & "stale" value`, FailingKeys: 1}
	}
	writeJSONFile(t, filepath.Join(dir, harness.ResultsFile), res)
	return dir
}

func writeJSONFile(t testing.TB, path string, v any) {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// t0 is the synthetic runs' epoch.
var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
