package campaign

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/splitbrain/splitbrain/harness"
	"github.com/splitbrain/splitbrain/harness/gitstamp"
	"github.com/splitbrain/splitbrain/harness/history"
	"github.com/splitbrain/splitbrain/model"
)

// Files of a campaign directory, <results>/campaigns/<UTC time>/.
const (
	IndexFile   = "index.json"
	SummaryFile = "summary.html"
	RunsDir     = "runs"
	// ShrunkFile is where a shrunk schedule of a failing run is expected,
	// in the run's directory. Shrinking is `splitbrain selftest`'s; when a
	// run directory holds this file, the campaign shows it with the
	// failure.
	ShrunkFile = "shrunk-schedule.txt"
	// OutputFile keeps a run's stdout and stderr, in runs/<key>/.
	OutputFile = "output.txt"
)

// Verdict of one run in a campaign.
type Verdict string

// Verdicts. Error is a run that produced no verdict of the system: it
// could not start, crashed, or its script failed.
const (
	Valid   Verdict = "valid"
	Invalid Verdict = "invalid"
	Unknown Verdict = "unknown"
	Error   Verdict = "error"
)

// Entry is one run in the index.
type Entry struct {
	Index    int      `json:"index"` // in the full run list
	Key      string   `json:"key"`
	Cell     string   `json:"cell"`
	Nemesis  []string `json:"nemesis,omitempty"`
	Scenario string   `json:"scenario,omitempty"`
	Seed     uint64   `json:"seed"`
	Bugs     []string `json:"bugs,omitempty"`
	Verdict  Verdict  `json:"verdict"`
	// Signature groups failures: the fault families in effect and the
	// anomaly, e.g. "partition+kill / stale-read".
	Signature   string   `json:"signature"`
	FaultKinds  []string `json:"fault_kinds"`
	Anomaly     string   `json:"anomaly,omitempty"`
	Explanation string   `json:"explanation,omitempty"`
	Error       string   `json:"error,omitempty"`
	// Incomplete, CheckTimedOut and Skipped are the run's own (see
	// harness.Results): why it did not finish, that its check ran out of
	// its time bound, the artefacts not drawn. Each leaves the verdict at
	// best unknown, and the summary shows it.
	Incomplete    string   `json:"incomplete,omitempty"`
	CheckTimedOut string   `json:"check_timed_out,omitempty"`
	Skipped       []string `json:"skipped,omitempty"`
	// Dir is the run directory relative to the campaign directory.
	Dir   string `json:"dir"`
	Repro string `json:"repro"`
	// Shrunk is the failure's shrunk schedule, when one exists (see
	// ShrunkFile); empty otherwise.
	Shrunk      string         `json:"shrunk,omitempty"`
	ExitCode    int            `json:"exit_code"`
	WallSeconds float64        `json:"wall_seconds"`
	TestSeconds float64        `json:"test_seconds"`
	Git         gitstamp.Stamp `json:"git"`
	// Shares are the run's ok/fail/info shares of client operations (nil
	// for a run without results); LowOKShare flags a run whose ok share
	// is under model.MinOKShare: it tested little, whatever its verdict.
	Shares     *model.Shares `json:"shares,omitempty"`
	LowOKShare bool          `json:"low_ok_share,omitempty"`
	// Phases is where the run's wall time went (nil for a run without
	// results).
	Phases *Phases `json:"phases,omitempty"`
}

// Phases are the wall times of a run's phases, in seconds: the run's own
// (harness.Phases), and around them the start of its process (from the
// campaign's exec to the run's start: process start, flag parsing, the
// run directory and schedule) and its end (from its verdict to the
// process's exit: writing results.json, exiting).
type Phases struct {
	Start float64 `json:"start_s"`
	harness.Phases
	Exit float64 `json:"exit_s"`
}

// add adds q to p.
func (p *Phases) add(q Phases) {
	p.Start += q.Start
	p.World += q.World
	p.Test += q.Test
	p.Check += q.Check
	p.Artefacts += q.Artefacts
	p.Write += q.Write
	p.Exit += q.Exit
}

// Totals counts runs by verdict.
type Totals struct {
	Runs    int `json:"runs"`
	Valid   int `json:"valid"`
	Invalid int `json:"invalid"`
	Unknown int `json:"unknown"`
	Errors  int `json:"errors"`
}

func (t *Totals) add(v Verdict) {
	t.Runs++
	switch v {
	case Valid:
		t.Valid++
	case Invalid:
		t.Invalid++
	case Unknown:
		t.Unknown++
	default:
		t.Errors++
	}
}

// ExitCode is the campaign's exit code: 1 if a run failed (an invalid
// verdict), else 3 if a run has no verdict (unknown or error), else 0.
func (t Totals) ExitCode() int {
	switch {
	case t.Invalid > 0:
		return 1
	case t.Unknown > 0 || t.Errors > 0:
		return 3
	}
	return 0
}

// Index is index.json: the campaign's parameters and every run done.
type Index struct {
	Version     int       `json:"version"`
	ID          string    `json:"id"`
	Command     string    `json:"command,omitempty"`
	Params      Params    `json:"params"`
	Fingerprint string    `json:"fingerprint"`
	Started     time.Time `json:"started"`
	Finished    time.Time `json:"finished,omitzero"`
	WallSeconds float64   `json:"wall_seconds"`
	// Planned is the number of runs of this shard's list; -1 when the
	// budget decides.
	Planned     int  `json:"planned"`
	Interrupted bool `json:"interrupted,omitempty"`
	// Merged lists the campaign directories this index merges (relative
	// to it); their shards are in Shards.
	Merged []string       `json:"merged,omitempty"`
	Shards []Shard        `json:"shards,omitempty"`
	Git    gitstamp.Stamp `json:"git"`
	Totals Totals         `json:"totals"`
	Runs   []Entry        `json:"runs"`

	dir string
}

// Dir is the campaign directory the index was read from or written to.
func (x *Index) Dir() string { return x.dir }

const indexVersion = 1

func (x *Index) recount() {
	x.Totals = Totals{}
	sort.Slice(x.Runs, func(i, j int) bool { return x.Runs[i].Index < x.Runs[j].Index })
	for _, e := range x.Runs {
		x.Totals.add(e.Verdict)
	}
}

// write stores index.json atomically (a reader never sees half of it).
func (x *Index) write() error {
	x.recount()
	b, err := json.MarshalIndent(x, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(x.dir, "."+IndexFile+".tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(x.dir, IndexFile))
}

// Read reads a campaign directory's index.json.
func Read(dir string) (*Index, error) { return readFS(os.DirFS(dir), ".", dir) }

// readFS reads index.json of the campaign directory name inside fsys; dir
// is its name for messages and Index.Dir. Only a regular file is opened
// (a FIFO would wait for a writer, for ever).
func readFS(fsys fs.FS, name, dir string) (*Index, error) {
	p := path.Join(name, IndexFile)
	st, err := fs.Stat(fsys, p)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", filepath.Join(dir, IndexFile))
	}
	b, err := fs.ReadFile(fsys, p)
	if err != nil {
		return nil, err
	}
	var x Index
	if err := json.Unmarshal(b, &x); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, IndexFile), err)
	}
	if x.Version != indexVersion {
		return nil, fmt.Errorf("%s: index version %d, this splitbrain reads version %d", filepath.Join(dir, IndexFile), x.Version, indexVersion)
	}
	x.dir = dir
	return &x, nil
}

// Summary is one campaign as a listing shows it (serve's campaign list).
type Summary struct {
	ID          string         `json:"id"`
	Dir         string         `json:"dir"`     // the campaign directory
	Summary     string         `json:"summary"` // its summary.html (absent while running)
	Command     string         `json:"command,omitempty"`
	Started     time.Time      `json:"started"`
	Finished    time.Time      `json:"finished,omitzero"` // zero while running or if killed
	Planned     int            `json:"planned"`
	Interrupted bool           `json:"interrupted,omitempty"`
	Merged      bool           `json:"merged,omitempty"`
	Shard       Shard          `json:"shard"`
	Totals      Totals         `json:"totals"`
	Git         gitstamp.Stamp `json:"git"`
	Failures    []GroupCount   `json:"failures,omitempty"` // invalid runs by signature, most first
}

// GroupCount is how many runs share a signature.
type GroupCount struct {
	Signature string `json:"signature"`
	Count     int    `json:"count"`
}

// List summarizes the campaigns under <resultsDir>/campaigns, newest
// first. A directory without a readable index is skipped (a campaign that
// is starting); a missing campaigns directory is an empty list.
func List(resultsDir string) ([]Summary, error) { return listFS(os.DirFS(resultsDir), resultsDir) }

// ListRoot is List of the results directory root, read through it:
// nothing outside root is read, whatever its symbolic links say. serve
// lists campaigns with it.
func ListRoot(root *os.Root) ([]Summary, error) { return listFS(root.FS(), root.Name()) }

// listFS is List of the results directory fsys, named resultsDir.
func listFS(fsys fs.FS, resultsDir string) ([]Summary, error) {
	st, err := fs.Stat(fsys, "campaigns")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%s: not a directory", filepath.Join(resultsDir, "campaigns"))
	}
	ents, err := fs.ReadDir(fsys, "campaigns")
	if err != nil {
		return nil, err
	}
	var out []Summary
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		x, err := readFS(fsys, path.Join("campaigns", e.Name()), filepath.Join(resultsDir, "campaigns", e.Name()))
		if err != nil {
			continue
		}
		s := Summary{ID: x.ID, Dir: x.dir, Command: x.Command, Started: x.Started, Finished: x.Finished,
			Planned: x.Planned, Interrupted: x.Interrupted, Merged: len(x.Merged) > 0, Shard: x.Params.Shard,
			Totals: x.Totals, Git: x.Git}
		if st, err := fs.Stat(fsys, path.Join("campaigns", e.Name(), SummaryFile)); err == nil && st.Mode().IsRegular() {
			s.Summary = filepath.Join(x.dir, SummaryFile)
		}
		for _, g := range Groups(x.Runs) {
			if g.Verdict == Invalid {
				s.Failures = append(s.Failures, GroupCount{g.Signature, len(g.Runs)})
			}
		}
		out = append(out, s)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Started.Equal(out[j].Started) {
			return out[i].Started.After(out[j].Started)
		}
		return out[i].ID > out[j].ID
	})
	return out, nil
}

// Group is the runs that share a verdict and a signature.
type Group struct {
	Verdict   Verdict
	Signature string
	Runs      []Entry // by index
}

// Groups groups runs that did not pass: failures (invalid) first, then
// unknown, then errors; within each, the most common signature first.
func Groups(runs []Entry) []Group {
	byKey := map[string]*Group{}
	var gs []*Group
	for _, e := range runs {
		if e.Verdict == Valid {
			continue
		}
		k := string(e.Verdict) + "\x00" + e.Signature
		g := byKey[k]
		if g == nil {
			g = &Group{Verdict: e.Verdict, Signature: e.Signature}
			byKey[k] = g
			gs = append(gs, g)
		}
		g.Runs = append(g.Runs, e)
	}
	rank := map[Verdict]int{Invalid: 0, Unknown: 1, Error: 2}
	sort.SliceStable(gs, func(i, j int) bool {
		a, b := gs[i], gs[j]
		if rank[a.Verdict] != rank[b.Verdict] {
			return rank[a.Verdict] < rank[b.Verdict]
		}
		if len(a.Runs) != len(b.Runs) {
			return len(a.Runs) > len(b.Runs)
		}
		return a.Signature < b.Signature
	})
	out := make([]Group, len(gs))
	for i, g := range gs {
		sort.Slice(g.Runs, func(x, y int) bool { return g.Runs[x].Index < g.Runs[y].Index })
		out[i] = *g
	}
	return out
}

// FaultKinds are the fault families of a run: its schedule's (generated
// runs record them) or, for a scenario, those of the faults it recorded.
func FaultKinds(r *harness.Results) []string {
	if len(r.FaultKinds) > 0 {
		return append([]string(nil), r.FaultKinds...)
	}
	seen := map[string]bool{}
	for _, f := range r.Faults {
		if fam := history.FaultFamily(f.F); fam != "" && f.Count > 0 {
			seen[fam] = true
		}
	}
	out := make([]string, 0, len(seen))
	for f := range seen {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

// Anomaly names what went wrong in a run, for its signature: the
// linearizability anomaly (stale-read, lost-write, …), a raft invariant,
// liveness; for a run without a verdict, why (script-error, incomplete,
// check-timeout, liveness-unknown, run-error).
func Anomaly(r *harness.Results) string {
	lin := r.Linearizability
	switch {
	case lin.Valid == model.Invalid:
		if lin.Anomaly != "" {
			return lin.Anomaly
		}
		return "not-linearizable"
	case r.Invariants.Valid == model.Invalid:
		if r.Invariants.Violation != nil {
			return "invariant:" + r.Invariants.Violation.Invariant
		}
		return "invariant"
	case r.Liveness.Valid == model.Invalid:
		return "liveness"
	case r.Valid == model.Valid:
		return ""
	case r.ScriptError != "":
		return "script-error"
	case r.Incomplete != "":
		return "incomplete"
	case r.CheckTimedOut != "", lin.Valid == model.Unknown:
		return "check-timeout"
	case r.Liveness.Valid == model.Unknown:
		return "liveness-unknown"
	case r.Error != "":
		return "run-error"
	}
	return "unknown"
}

// Signature is "<fault families joined by +> / <anomaly>".
func Signature(kinds []string, anomaly string) string {
	k := strings.Join(kinds, "+")
	if k == "" {
		k = "no-faults"
	}
	if anomaly == "" {
		return k
	}
	return k + " / " + anomaly
}
