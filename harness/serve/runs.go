package serve

import (
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/splitbrain/splitbrain/harness"
	"github.com/splitbrain/splitbrain/harness/gitstamp"
	"github.com/splitbrain/splitbrain/model"
)

// The four verdicts a run can show, and their colours: green, red,
// yellow, grey.
const (
	VerdictValid      = "valid"
	VerdictInvalid    = "invalid"
	VerdictUnknown    = "unknown"
	VerdictIncomplete = "incomplete" // no readable results.json: killed, or still running
)

// Verdicts in the order the index offers them.
var Verdicts = []string{VerdictValid, VerdictInvalid, VerdictUnknown, VerdictIncomplete}

// verdictOf names a results.json verdict.
func verdictOf(v model.Validity) string {
	switch v {
	case model.Valid:
		return VerdictValid
	case model.Invalid:
		return VerdictInvalid
	}
	return VerdictUnknown
}

// RunSummary is one line of the index: what a run was and how it ended,
// read from its results.json (or, for an incomplete run, its test.json).
type RunSummary struct {
	Path    string    // run directory relative to the results root, slash separated
	Name    string    // test name
	Time    time.Time // when it started (UTC), from the directory name
	Verdict string    // one of Verdicts
	// Checked is the verdict of check.json (a later `splitbrain check` of
	// the directory), "" if there is none.
	Checked     string
	Mode        string
	Seed        uint64
	Nodes       int
	Faults      []string // fault kinds the run could inject
	FaultEvents int      // nemesis events recorded
	Ops         int      // client operations completed (ok, fail or info); complete runs
	Events      int      // history lines recorded; incomplete runs
	Bugs        []string
	Git         gitstamp.Stamp
	// Problem says why a run is incomplete, or why its verdict is at best
	// unknown (it was interrupted, its check timed out), and the run's own
	// error.
	Problem string
	// Stopped says why a run with a results.json did not finish
	// (results.json "incomplete": interrupted, or killed and checked
	// since); CheckTimedOut that its check ran out of its time bound;
	// Skipped how many artefacts were not drawn because of it. Why are the
	// reasons of an unknown verdict, as the run's summary gives them.
	Stopped, CheckTimedOut string
	Skipped                int
	Why                    []string
	// Group and GroupHref label a run found in a Page's RunDirs (its
	// campaign); empty for the root's own runs.
	Group, GroupHref string
}

// runFiles are the files whose presence makes a directory a run and whose
// (size, mtime) decide whether a cached summary is still good.
var runFiles = [...]string{
	fileResults: harness.ResultsFile,
	fileTest:    harness.TestFile,
	fileCheck:   harness.CheckFile,
	fileHistory: harness.HistoryFile,
}

const (
	fileResults = iota
	fileTest
	fileCheck
	fileHistory
)

type fileStamp struct {
	ok   bool
	size int64
	mod  int64
}

type fingerprint [len(runFiles)]fileStamp

type cachedRun struct {
	fp  fingerprint
	sum *RunSummary
}

// runDirLayout is how Run names a run directory: its start in UTC.
const runDirLayout = "20060102T150405.000Z"

// dirTime reads a run directory's start from its name ("-2" and later
// suffixes, for runs started in the same millisecond, are ignored).
func dirTime(name string) (time.Time, bool) {
	if i := strings.IndexByte(name, '-'); i > 0 {
		name = name[:i]
	}
	t, err := time.Parse(runDirLayout, name)
	return t, err == nil
}

// listDirs lists the subdirectories of dir inside root that the index
// may scan: real directories (symbolic links such as latest are aliases,
// not further runs), not hidden.
func listDirs(root *os.Root, dir string) ([]string, error) {
	if dir == "" {
		dir = "."
	}
	f, err := openDir(root, dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ents, err := f.ReadDir(-1)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() && e.Type()&fs.ModeSymlink == 0 && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}

// scan lists the runs under each of dirs (<dir>/<name>/<time>/), newest
// first, reading only the directories whose files changed since the last
// scan. The first dir that fails to list is the error, unless it is a
// Page's (it has a label): a campaign being removed must not break the
// index.
func (s *Server) scan(root *os.Root, dirs []RunDir) ([]*RunSummary, error) {
	var runs []*RunSummary
	seen := map[string]bool{}
	for _, d := range dirs {
		found, err := s.scanDir(root, d, seen)
		if err != nil && d.Label == "" {
			return nil, err
		}
		runs = append(runs, found...)
	}
	s.mu.Lock()
	for p := range s.runs {
		if seen[p] {
			continue
		}
		for _, d := range dirs {
			if d.Dir == "" || strings.HasPrefix(p, d.Dir+"/") {
				delete(s.runs, p)
				break
			}
		}
	}
	s.mu.Unlock()
	sort.SliceStable(runs, func(i, j int) bool {
		if !runs[i].Time.Equal(runs[j].Time) {
			return runs[i].Time.After(runs[j].Time)
		}
		return runs[i].Path > runs[j].Path
	})
	return runs, nil
}

// scanDir lists the runs under d.Dir, marking each in seen.
func (s *Server) scanDir(root *os.Root, d RunDir, seen map[string]bool) ([]*RunSummary, error) {
	names, err := listDirs(root, d.Dir)
	if err != nil {
		return nil, err
	}
	var runs []*RunSummary
	for _, name := range names {
		if d.Dir == "" && contains(SkipDirs, name) {
			continue
		}
		// One sub-root per directory keeps the stats to one system call
		// each: a path through the root is walked a component at a time.
		nd := path.Join(d.Dir, name)
		nroot, err := root.OpenRoot(nd)
		if err != nil {
			continue // vanished or unreadable: not a run listing
		}
		stamps, _ := listDirs(nroot, "")
		for _, ts := range stamps {
			rroot, err := nroot.OpenRoot(ts)
			if err != nil {
				continue
			}
			fp, any := stampFiles(rroot)
			rroot.Close()
			if !any {
				continue
			}
			rd := path.Join(nd, ts)
			if seen[rd] {
				continue
			}
			seen[rd] = true
			sum := *s.summary(root, rd, fp)
			sum.Group, sum.GroupHref = d.Label, d.Href
			runs = append(runs, &sum)
		}
		nroot.Close()
	}
	return runs, nil
}

// stampRun stats a run directory's files; any is false when it has none
// of them (it is not a run directory).
func stampRun(root *os.Root, dir string) (fp fingerprint, any bool) {
	rroot, err := root.OpenRoot(dir)
	if err != nil {
		return fp, false
	}
	defer rroot.Close()
	return stampFiles(rroot)
}

// stampFiles is stampRun of a root opened on the run directory.
func stampFiles(run *os.Root) (fp fingerprint, any bool) {
	for i, f := range runFiles {
		st, err := run.Stat(f)
		if err != nil || !st.Mode().IsRegular() {
			continue
		}
		fp[i] = fileStamp{ok: true, size: st.Size(), mod: st.ModTime().UnixNano()}
		any = true
	}
	return fp, any
}

// summary is the cached summary of dir, re-read if its files changed.
func (s *Server) summary(root *os.Root, dir string, fp fingerprint) *RunSummary {
	s.mu.Lock()
	c, ok := s.runs[dir]
	s.mu.Unlock()
	if ok && c.fp == fp {
		return c.sum
	}
	sum := readSummary(root, dir, fp)
	s.mu.Lock()
	s.runs[dir] = &cachedRun{fp: fp, sum: sum}
	s.mu.Unlock()
	return sum
}

// readSummary reads what the index shows of one run. It never fails: a
// run it cannot read is listed as incomplete, with the reason.
func readSummary(root *os.Root, dir string, fp fingerprint) *RunSummary {
	sum := &RunSummary{Path: dir, Name: path.Base(path.Dir(dir)), Verdict: VerdictIncomplete}
	if t, ok := dirTime(path.Base(dir)); ok {
		sum.Time = t
	}
	var tr testRecord
	if fp[fileTest].ok {
		if err := readJSON(root, path.Join(dir, harness.TestFile), &tr); err == nil {
			sum.Name, sum.Mode, sum.Seed, sum.Nodes, sum.Bugs, sum.Faults = tr.Name, tr.Mode, tr.Seed, tr.Nodes, tr.Bugs, tr.Nemesis
		}
	}
	if fp[fileResults].ok {
		var r harness.Results
		if err := readJSON(root, path.Join(dir, harness.ResultsFile), &r); err != nil {
			sum.Problem = err.Error()
		} else {
			sum.fromResults(&r)
		}
	} else {
		sum.Problem = "no results.json: the run is still going, or was killed before it ended"
	}
	if sum.Verdict == VerdictIncomplete && fp[fileHistory].ok {
		sum.Events = countLines(root, path.Join(dir, harness.HistoryFile))
	}
	if fp[fileCheck].ok {
		var c harness.Results
		if err := readJSON(root, path.Join(dir, harness.CheckFile), &c); err == nil {
			sum.Checked = verdictOf(c.Valid)
		}
	}
	return sum
}

// StoppedTag is the index's tag of a run that did not finish:
// "interrupted", or "did not finish" (killed, and checked since).
func (sum *RunSummary) StoppedTag() string {
	if strings.HasPrefix(sum.Stopped, "interrupted") {
		return "interrupted"
	}
	return "did not finish"
}

func (sum *RunSummary) fromResults(r *harness.Results) {
	sum.Verdict = verdictOf(r.Valid)
	if r.Name != "" {
		sum.Name = r.Name
	}
	if r.Mode != "" {
		sum.Mode = r.Mode
	}
	if r.Seed != 0 {
		sum.Seed = r.Seed
	}
	if r.Nodes != 0 {
		sum.Nodes = r.Nodes
	}
	if len(r.Bugs) > 0 {
		sum.Bugs = r.Bugs
	}
	if sum.Time.IsZero() {
		sum.Time = r.Started
	}
	sum.Git = r.Git
	sum.Stopped, sum.CheckTimedOut, sum.Skipped = r.Incomplete, r.CheckTimedOut, len(r.Skipped)
	if r.Valid == model.Unknown {
		sum.Why = harness.UnknownReasons(r)
	}
	var problems []string
	for _, p := range []string{r.Incomplete, r.CheckTimedOut, r.Error} {
		if p != "" {
			problems = append(problems, p)
		}
	}
	sum.Problem = strings.Join(problems, "; ")
	sum.Faults = faultKinds(r)
	for _, f := range r.Faults {
		sum.FaultEvents += f.Count
	}
	for f, outcomes := range r.Ops {
		if f == model.NemesisStats {
			continue
		}
		for _, n := range outcomes {
			sum.Ops += n
		}
	}
}

// faultKinds are the fault kinds a run could inject: its schedule's kinds,
// or (for a scenario, which has no schedule) the actions it recorded.
func faultKinds(r *harness.Results) []string {
	if len(r.FaultKinds) > 0 {
		return r.FaultKinds
	}
	var out []string
	for _, f := range r.Faults {
		if f.F != "note" && !strings.HasPrefix(f.F, "heal") {
			out = append(out, f.F)
		}
	}
	return out
}

// testRecord is test.json: the Test plus what Run adds to it.
type testRecord struct {
	harness.Test
	Schedule string            `json:"schedule"`
	Versions map[string]string `json:"versions"`
	Repro    string            `json:"repro"`
}

// maxJSON bounds the JSON files the UI parses (results.json of a run with
// very many keys is the largest, well under this).
const maxJSON = 64 << 20

func readJSON(root *os.Root, name string, v any) error {
	b, err := readLimited(root, name, maxJSON)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return errors.New(name + ": " + err.Error())
	}
	return nil
}

func readLimited(root *os.Root, name string, limit int64) ([]byte, error) {
	f, st, err := openRegular(root, name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st.Size() > limit {
		return nil, errors.New(name + ": too large to show")
	}
	b := make([]byte, st.Size())
	n, err := io.ReadFull(f, b)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, err
	}
	return b[:n], nil // shorter than stat said: it is being rewritten; the caller sees bad JSON
}

// countLines counts the lines of a file (a torn last line counts).
func countLines(root *os.Root, name string) int {
	f, _, err := openRegular(root, name)
	if err != nil {
		return 0
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	n, last := 0, byte('\n')
	for {
		m, err := f.Read(buf)
		for _, c := range buf[:m] {
			if c == '\n' {
				n++
			}
		}
		if m > 0 {
			last = buf[m-1]
		}
		if err != nil {
			break
		}
	}
	if last != '\n' {
		n++
	}
	return n
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
