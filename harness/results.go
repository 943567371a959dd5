package harness

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/splitbrain/splitbrain/harness/gitstamp"
	"github.com/splitbrain/splitbrain/harness/history"
	"github.com/splitbrain/splitbrain/harness/world"
	"github.com/splitbrain/splitbrain/model"
)

// Files of a run directory.
const (
	TestFile     = "test.json"
	HistoryFile  = "history.jsonl"
	ResultsFile  = "results.json"
	ScheduleFile = "schedule.txt"
	ReproFile    = "repro"
	LinearHTML   = "linearizability.html"
	TimelineFile = "timeline.html"
	LogsDir      = "logs"
)

// Invariants is the verdict of the raft safety invariants (checked by the
// sim as it runs; the process world cannot see inside its nodes).
type Invariants struct {
	Valid     model.Validity        `json:"valid"`
	Skipped   bool                  `json:"skipped,omitempty"` // the world could not check them
	Checked   map[string]int        `json:"checked,omitempty"` // invariant -> times checked
	Violation *world.InvariantError `json:"violation,omitempty"`
	Detail    string                `json:"detail"`
	// Limits names the invariants the world could not check in full, and
	// why: what the system under test does not report (see
	// raftnode.Reports). Never guessed: an invariant not checked is said.
	Limits map[string]string `json:"limits,omitempty"`
}

// FaultCount is how many nemesis events of one action a run recorded.
type FaultCount struct {
	F     string `json:"f"`
	Count int    `json:"count"`
}

// Results is results.json: the verdict and everything behind it.
type Results struct {
	Valid model.Validity `json:"valid"`
	Name  string         `json:"name"`
	Mode  string         `json:"mode"`
	Seed  uint64         `json:"seed"`
	Nodes int            `json:"nodes"`
	Bugs  []string       `json:"bugs,omitempty"`
	// System is the system under test ("" the reference node) and
	// SystemVersion what it says of its version; ReadConsistency the
	// reads it was asked for ("" linearizable).
	System          string                `json:"system,omitempty"`
	SystemVersion   string                `json:"system_version,omitempty"`
	ReadConsistency string                `json:"read_consistency,omitempty"`
	Started         time.Time             `json:"started"`
	Finished        time.Time             `json:"finished"`
	WallSeconds     float64               `json:"wall_seconds"`
	TestSeconds     float64               `json:"test_seconds"` // time covered by the history (virtual in the sim)
	Ops             model.Stats           `json:"ops"`
	Faults          []FaultCount          `json:"faults"`
	FaultKinds      []string              `json:"fault_kinds,omitempty"`
	Linearizability model.Linearizability `json:"linearizability"`
	Liveness        model.Liveness        `json:"liveness"`
	// LivenessNotJudged is set when the history carries no fault
	// information to judge liveness by (an imported Jepsen history):
	// Liveness is then valid and its Detail says why.
	LivenessNotJudged bool       `json:"liveness_not_judged,omitempty"`
	Invariants        Invariants `json:"invariants"`
	// Convergence is the end-of-test check that every member holds the
	// same data (nil for a history checked on its own). A member that
	// never converged makes the run invalid.
	Convergence *world.Convergence `json:"convergence,omitempty"`
	// Incomplete says why the run did not finish: interrupted, or killed
	// before it wrote its results.json (found by check). What was recorded
	// was checked, but an incomplete run is at best unknown: only an
	// anomaly found in it stands.
	Incomplete string `json:"incomplete,omitempty"`
	// CheckTimedOut says that the check ran out of its time bound
	// (Test.CheckTimeout, check --check-timeout) before it reached a
	// verdict: "check timed out after 100ms with 3 of 8 keys undecided".
	// The verdict is then at best unknown.
	CheckTimedOut string `json:"check_timed_out,omitempty"`
	// Skipped lists the artefacts not written, each with the reason (the
	// check's time bound ran out).
	Skipped []string `json:"skipped,omitempty"`
	// ArtefactsNotDrawn says why a run has no plots and timeline although
	// its check finished: it passed, and they were wanted only on failure
	// (Test.ArtefactsOnFailure, what campaigns ask for).
	ArtefactsNotDrawn string `json:"artefacts_not_drawn,omitempty"`
	// Phases is where a run's wall time went.
	Phases *Phases `json:"phases,omitempty"`
	// Error is a failure of the run itself (the world, a script) rather
	// than of the system under test; the history is still checked.
	Error string `json:"error,omitempty"`
	// RunError is the world's own failure alone (a node that died on its
	// own, logs that could not be written), also part of Error: check
	// carries it into check.json, since a re-check of the history cannot
	// see that the world failed.
	RunError    string         `json:"run_error,omitempty"`
	ScriptError string         `json:"script_error,omitempty"` // a scenario's own error (file:line)
	TornLine    int            `json:"torn_line,omitempty"`    // check only: a torn final history line was dropped
	Repro       string         `json:"repro"`
	Dir         string         `json:"dir"`
	Git         gitstamp.Stamp `json:"git"`
	Plots       []string       `json:"plots,omitempty"`
	Timeline    string         `json:"timeline,omitempty"`
	Schedule    string         `json:"schedule,omitempty"`
	HistoryOps  int            `json:"history_events"`

	// Shares are the ok/fail/info shares of the client operations;
	// LowOKShare flags a run whose ok share is under model.MinOKShare (it
	// tested little; the verdict stands).
	Shares     model.Shares `json:"shares"`
	LowOKShare bool         `json:"low_ok_share"`
	// NoNodeUp is how long no member node was up (from the nemesis
	// events); absent when the cluster size is not known (a loose history
	// file).
	NoNodeUp *model.Downtime `json:"no_node_up,omitempty"`
}

// capVerdict makes the verdict at best unknown when the run is incomplete
// or the check timed out: an anomaly found stands, a pass does not.
// Phases are the wall times of a run's phases, in seconds: building the
// world, running the test (the simulation, or the processes), checking
// the history (survey and search, with the artefacts drawn side by side
// unless they are drawn after it), drawing the artefacts after the check
// (only what was left to wait for), and writing the node logs and results.
// Campaigns add them up to show where their time goes.
type Phases struct {
	World     float64 `json:"world_s"`
	Test      float64 `json:"test_s"`
	Check     float64 `json:"check_s"`
	Artefacts float64 `json:"artefacts_s"`
	Write     float64 `json:"write_s"`
}

func (r *Results) capVerdict() {
	if (r.Incomplete != "" || r.CheckTimedOut != "") && r.Valid == model.Valid {
		r.Valid = model.Unknown
	}
}

// convergenceValidity is the convergence check's part of the verdict:
// invalid when the world compared the members and they did not converge;
// valid when they did, or when it could not compare them (Detail says
// why: never a guess).
func (r *Results) convergenceValidity() model.Validity {
	if c := r.Convergence; c != nil && c.Available && !c.Converged {
		return model.Invalid
	}
	return model.Valid
}

// newRunDir creates <root>/<name>/<UTC timestamp>/ (with a suffix if two
// runs start in the same millisecond) and its logs/ directory.
func newRunDir(root, name string, now time.Time) (string, error) {
	base := filepath.Join(root, name, now.UTC().Format("20060102T150405.000Z"))
	dir := base
	for i := 2; ; i++ {
		err := os.MkdirAll(filepath.Dir(dir), 0o755)
		if err == nil {
			err = os.Mkdir(dir, 0o755)
		}
		if err == nil {
			return dir, os.Mkdir(filepath.Join(dir, LogsDir), 0o755)
		}
		if !errors.Is(err, os.ErrExist) {
			return "", err
		}
		dir = fmt.Sprintf("%s-%d", base, i)
	}
}

// pointLatest makes <root>/latest and <root>/<name>/latest point at dir
// (relative links, replaced atomically).
func pointLatest(root, dir string) error {
	var errs []error
	for _, at := range []string{root, filepath.Dir(dir)} {
		rel, err := filepath.Rel(at, dir)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		tmp := filepath.Join(at, fmt.Sprintf(".latest-%d", os.Getpid()))
		os.Remove(tmp)
		if err := os.Symlink(rel, tmp); err != nil {
			errs = append(errs, err)
			continue
		}
		errs = append(errs, os.Rename(tmp, filepath.Join(at, "latest")))
	}
	return errors.Join(errs...)
}

// writeJSON writes v as indented JSON and syncs it.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeFileSync(path, append(b, '\n'))
}

func writeFileSync(path string, b []byte) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// ReadResults reads a run directory's results.json.
func ReadResults(dir string) (*Results, error) {
	b, err := os.ReadFile(filepath.Join(dir, ResultsFile))
	if err != nil {
		return nil, err
	}
	var r Results
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, ResultsFile), err)
	}
	return &r, nil
}

// ReadTest reads a run directory's test.json.
func ReadTest(dir string) (*Test, error) {
	b, err := os.ReadFile(filepath.Join(dir, TestFile))
	if err != nil {
		return nil, err
	}
	var t Test
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, TestFile), err)
	}
	return &t, nil
}

// countFaults tallies the nemesis events of a history by action.
func countFaults(events []history.Event) []FaultCount {
	n := map[string]int{}
	for _, e := range events {
		if e.Process == history.Nemesis {
			n[e.F]++
		}
	}
	out := make([]FaultCount, 0, len(n))
	for f, c := range n {
		out = append(out, FaultCount{F: f, Count: c})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].F < out[j].F })
	return out
}

// Failures names every check that failed in a run, most telling first:
// linearizability with its anomaly kind ("linearizability/stale-read"),
// then a raft invariant ("invariant/election-safety"), then "liveness". A
// run that did not fail has none.
func (r *Results) Failures() []string {
	var out []string
	if r.Linearizability.Valid == model.Invalid {
		kind := r.Linearizability.Anomaly
		if kind == "" {
			kind = model.AnomalyOther
		}
		out = append(out, "linearizability/"+kind)
	}
	if r.Invariants.Valid == model.Invalid {
		name := "unknown"
		if r.Invariants.Violation != nil {
			name = r.Invariants.Violation.Invariant
		}
		out = append(out, "invariant/"+name)
	}
	if r.Liveness.Valid == model.Invalid {
		out = append(out, "liveness")
	}
	return out
}

// Signature is what failed in a run: its first failure (see Failures),
// "invalid" for an invalid run with none named, "" for a run that did not
// fail. Two runs with one signature failed the same way: shrinking keeps
// it.
func (r *Results) Signature() string {
	if r.Valid != model.Invalid {
		return ""
	}
	if f := r.Failures(); len(f) > 0 {
		return f[0]
	}
	return "invalid"
}
