package serve

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/splitbrain/splitbrain/harness"
	"github.com/splitbrain/splitbrain/harness/history"
	"github.com/splitbrain/splitbrain/model"
)

// runBody is what the run template gets.
type runBody struct {
	Path     string // canonical, relative to the results root
	Base     string // the run directory's own name
	Abs      string // absolute directory, for commands
	Name     string
	Time     time.Time
	Verdict  string
	Results  *harness.Results // nil when incomplete or unreadable
	Problems []string         // what could not be read, and run errors
	Check    *checkSummary    // check.json, when present
	Findings []finding        // why the verdict is what it is
	Why      []string         // the reasons of an unknown verdict, briefly
	Params   []param
	Versions []param
	Schedule string
	Faults   []harness.FaultCount
	Ops      []opsRow
	Checks   []param // per-check verdicts and details
	Plots    []fileLink
	Linear   string // URL of linearizability.html, "" if none
	// LinearFull is the URL of the whole diagram when Linear shows a
	// window of it (linearizability-full.html), "" if none.
	LinearFull string
	Timeline   string // URL of timeline.html, "" if none
	Logs       []logLink
	Log        *logPage
	LogErr     string
	LogLines   int // lines a log page holds
	Files      []fileLink
	Repro      string
	Partial    *partialHistory // incomplete runs: what the history holds so far
}

type checkSummary struct {
	Verdict  string
	Findings []finding
	Finished time.Time
	HTMLFull string // the whole diagram the check drew, if it drew a window
}

// finding is one reason for a verdict: the first linearizability anomaly,
// a liveness failure, a raft invariant violated, an error of the run.
type finding struct {
	Kind   string // "linearizability", "liveness", "raft invariant", "error"
	Title  string
	Detail string
	Link   string // where to look next, if anywhere
	LinkAs string
}

type param struct{ Key, Value string }

type opsRow struct {
	F                     string
	OK, Fail, Info, Total int
}

type fileLink struct {
	Name     string
	URL      string
	Download string
	Size     int64
}

type logLink struct {
	Name    string
	Href    string
	Size    int64
	Current bool
}

type partialHistory struct {
	Events   int
	Torn     bool
	TornLine int
	Err      string
	CheckCmd string
}

// serveRun answers /run/<path>: the page of one run directory. A path
// through a symbolic link (latest) is redirected to the directory it names,
// so that the page and everything it links stay on one run.
func (s *Server) serveRun(w http.ResponseWriter, r *http.Request, segs []string) {
	if len(segs) == 0 {
		http.Redirect(w, r, "/", http.StatusFound)
		return
	}
	root, err := s.openRoot()
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "cannot open the results directory: %v", err)
		return
	}
	defer root.Close()
	asked := path.Join(segs...)
	rel, err := resolve(root, segs)
	if err != nil {
		s.notFound(w, r, asked, err)
		return
	}
	if rel == "" {
		http.Redirect(w, r, "/", http.StatusFound)
		return
	}
	if rel != asked {
		u := RunURL(rel)
		if r.URL.RawQuery != "" {
			u += "?" + r.URL.RawQuery
		}
		http.Redirect(w, r, u, http.StatusFound)
		return
	}
	st, err := root.Stat(rel)
	if err != nil || !st.IsDir() {
		s.fail(w, r, http.StatusNotFound, "%s is not a run directory", rel)
		return
	}
	fp, ok := stampRun(root, rel)
	if !ok {
		s.fail(w, r, http.StatusNotFound, "%s is not a run directory (no %s, %s or %s)", rel, harness.TestFile, harness.ResultsFile, harness.HistoryFile)
		return
	}
	b := s.runBody(root, rel, fp)

	q := r.URL.Query()
	if name := q.Get("log"); name != "" {
		code, msg := s.fillLog(root, &b, name, q.Get("page"))
		if code != http.StatusOK {
			s.fail(w, r, code, "%s", msg)
			return
		}
	}
	s.render(w, r, http.StatusOK, "run", pageData{Title: b.Name + " " + path.Base(rel), Body: b})
}

// runBody reads everything the run page shows. Nothing in a run
// directory can make it fail: what cannot be read is named in Problems.
func (s *Server) runBody(root *os.Root, rel string, fp fingerprint) runBody {
	sum := readSummary(root, rel, fp)
	b := runBody{LogLines: s.o.LogLines, Path: rel, Base: path.Base(rel), Abs: filepath.Join(s.dir, filepath.FromSlash(rel)), Name: sum.Name, Time: sum.Time, Verdict: sum.Verdict}
	if sum.Problem != "" && fp[fileResults].ok && sum.Verdict == VerdictIncomplete {
		b.Problems = append(b.Problems, "results.json could not be read: "+sum.Problem)
	}

	// test.json: the parameters.
	var tr testRecord
	if fp[fileTest].ok {
		raw, err := readLimited(root, path.Join(rel, harness.TestFile), maxJSON)
		if err == nil {
			b.Params, b.Versions, err = flattenTest(raw)
		}
		if err == nil {
			err = json.Unmarshal(raw, &tr)
		}
		if err != nil {
			b.Problems = append(b.Problems, "test.json could not be read: "+err.Error())
		}
	} else {
		b.Problems = append(b.Problems, "no test.json in this directory")
	}

	// results.json: the verdict and the stats.
	if fp[fileResults].ok && sum.Verdict != VerdictIncomplete {
		var res harness.Results
		if err := readJSON(root, path.Join(rel, harness.ResultsFile), &res); err == nil {
			b.Results = &res
			b.Findings = findings(&res, RunURL(rel)+"#linearizability")
			if res.Valid == model.Unknown {
				b.Why = harness.UnknownReasons(&res)
			}
			b.Faults = res.Faults
			b.Ops = opsRows(res.Ops)
			b.Checks = checkRows(&res)
			b.Repro = res.Repro
		}
	}
	if fp[fileCheck].ok {
		var c harness.Results
		if err := readJSON(root, path.Join(rel, harness.CheckFile), &c); err == nil {
			b.Check = &checkSummary{Verdict: verdictOf(c.Valid), Findings: findings(&c, ""), Finished: c.Finished, HTMLFull: c.Linearizability.HTMLFull}
		} else {
			b.Problems = append(b.Problems, "check.json could not be read: "+err.Error())
		}
	}
	if b.Results == nil {
		b.Partial = s.partial(root, rel, fp, &b)
	}
	if b.Repro == "" {
		b.Repro = tr.Repro
	}
	if b.Repro == "" {
		if raw, err := readLimited(root, path.Join(rel, harness.ReproFile), 64<<10); err == nil {
			b.Repro = strings.TrimSpace(string(raw))
		}
	}

	// The schedule.
	if raw, err := readLimited(root, path.Join(rel, harness.ScheduleFile), 16<<20); err == nil {
		b.Schedule = string(bytes.ToValidUTF8(raw, []byte("\uFFFD")))
	} else if tr.Schedule != "" {
		b.Schedule = tr.Schedule
	}

	// Files: plots, diagrams, downloads.
	b.Files = listFiles(root, rel)
	plotOrder := map[string]int{"latency.png": 0, "rate.png": 1}
	for _, f := range b.Files {
		switch {
		case strings.HasSuffix(f.Name, ".png") || strings.HasSuffix(f.Name, ".svg"):
			b.Plots = append(b.Plots, f)
		case f.Name == harness.LinearHTML:
			b.Linear = f.URL
		case f.Name == harness.TimelineFile:
			b.Timeline = f.URL
		}
	}
	// The whole diagram, when linearizability.html shows a window of it:
	// named by the verdict that drew it (a later check redraws both).
	full := ""
	if b.Results != nil {
		full = b.Results.Linearizability.HTMLFull
	}
	if b.Check != nil && b.Check.HTMLFull != "" {
		full = b.Check.HTMLFull
	}
	for _, f := range b.Files {
		if full != "" && f.Name == full {
			b.LinearFull = f.URL
		}
	}
	sort.SliceStable(b.Plots, func(i, j int) bool {
		oi, iok := plotOrder[b.Plots[i].Name]
		oj, jok := plotOrder[b.Plots[j].Name]
		if iok != jok {
			return iok
		}
		return oi < oj
	})
	if logs, err := listLogs(root, rel); err == nil {
		for _, l := range logs {
			b.Logs = append(b.Logs, logLink{Name: l.Name, Href: logHref(rel, l.Name, 1), Size: l.Size})
		}
	}
	return b
}

func logHref(rel, name string, page int) string {
	q := url.Values{"log": {name}}
	if page > 1 {
		q.Set("page", strconv.Itoa(page))
	}
	return RunURL(rel) + "?" + q.Encode() + "#logs"
}

// fillLog reads the log page ?log=name&page=p asks for.
func (s *Server) fillLog(root *os.Root, b *runBody, name, pageArg string) (int, string) {
	page := 1
	if pageArg != "" {
		n, err := strconv.Atoi(pageArg)
		if err != nil || n < 1 {
			return http.StatusBadRequest, fmt.Sprintf("page %q: want a number from 1", pageArg)
		}
		page = n
	}
	logs, _ := listLogs(root, b.Path)
	var found *logFile
	var names []string
	for i := range logs {
		names = append(names, logs[i].Name)
		if logs[i].Name == name || logs[i].File == name {
			found = &logs[i]
		}
	}
	if found == nil {
		if len(names) == 0 {
			return http.StatusNotFound, fmt.Sprintf("log %q: this run has no logs", name)
		}
		return http.StatusNotFound, fmt.Sprintf("log %q: no such log (this run has %s)", name, strings.Join(names, ", "))
	}
	file := path.Join(b.Path, "logs", found.File)
	lp, err := s.readLogPage(root, file, page, s.o.LogLines)
	if errors.Is(err, errNoPage) {
		return http.StatusNotFound, err.Error()
	}
	if err != nil {
		b.LogErr = stripRoot(err).Error()
	}
	if lp == nil {
		lp = &logPage{Page: page, Pages: page}
	}
	lp.Name, lp.URL = found.Name, FileURL(file)
	b.Log = lp
	for i := range b.Logs {
		b.Logs[i].Current = b.Logs[i].Name == found.Name
	}
	return http.StatusOK, ""
}

// partial reads the history of a run without a verdict: how far it got.
func (s *Server) partial(root *os.Root, rel string, fp fingerprint, b *runBody) *partialHistory {
	p := &partialHistory{CheckCmd: "splitbrain check " + shellQuote(b.Abs)}
	if !fp[fileHistory].ok {
		p.Err = "no history.jsonl"
		return p
	}
	f, _, err := openRegular(root, path.Join(rel, harness.HistoryFile))
	if err != nil {
		p.Err = stripRoot(err).Error()
		return p
	}
	defer f.Close()
	hr, err := history.Read(f, harness.HistoryFile)
	p.Events, p.Torn, p.TornLine = len(hr.Events), hr.Torn, hr.TornLine
	if err != nil {
		p.Err = err.Error()
	}
	stats := model.ComputeStats(hr.Events)
	b.Ops = opsRows(stats)
	for _, f := range sortedKeys(stats[model.NemesisStats]) {
		b.Faults = append(b.Faults, harness.FaultCount{F: f, Count: stats[model.NemesisStats][f]})
	}
	return p
}

// findings are the reasons behind a verdict, first anomaly first. link
// points at the diagram, when the run has one.
func findings(r *harness.Results, link string) []finding {
	var out []finding
	lin := r.Linearizability
	if lin.Valid == model.Invalid {
		f := finding{Kind: "linearizability", Title: "not linearizable"}
		if lin.Anomaly != "" {
			f.Title = lin.Anomaly + " on key " + lin.FirstFailingKey
		}
		if lin.FailingKeys > 1 {
			f.Title += fmt.Sprintf(" (the first of %d keys not linearizable)", lin.FailingKeys)
		}
		f.Detail = lin.Explanation
		if lin.VerboseTimedOut {
			f.Detail += " (The explaining check ran out of time; this rests on a partial search.)"
		}
		if lin.HTML != "" && link != "" {
			f.Link, f.LinkAs = link, "porcupine's diagram of the failing keys"
		}
		out = append(out, f)
	} else if lin.Valid == model.Unknown {
		out = append(out, finding{Kind: "linearizability", Title: "undecided", Detail: "the linearizability check did not finish (timeout or error)"})
	}
	if r.Liveness.Valid != model.Valid && r.Liveness.Detail != "" {
		out = append(out, finding{Kind: "liveness", Title: "liveness " + verdictOf(r.Liveness.Valid), Detail: r.Liveness.Detail})
	}
	if r.Invariants.Violation != nil {
		out = append(out, finding{Kind: "raft invariant", Title: "invariant " + r.Invariants.Violation.Invariant + " violated", Detail: r.Invariants.Violation.Error()})
	}
	if r.Incomplete != "" {
		title := "the run did not finish"
		if strings.HasPrefix(r.Incomplete, "interrupted") {
			title = "the run was interrupted"
		}
		out = append(out, finding{Kind: "incomplete", Title: title, Detail: r.Incomplete + " (the verdict is at best unknown)"})
	}
	if r.CheckTimedOut != "" {
		out = append(out, finding{Kind: "timeout", Title: "the check timed out", Detail: r.CheckTimedOut + " (the verdict is at best unknown)"})
	}
	if len(r.Skipped) > 0 {
		out = append(out, finding{Kind: "skipped", Title: "not drawn", Detail: strings.Join(r.Skipped, "; ")})
	}
	if r.ScriptError != "" {
		out = append(out, finding{Kind: "error", Title: "scenario error", Detail: r.ScriptError})
	}
	if r.Error != "" {
		out = append(out, finding{Kind: "error", Title: "the run reported an error", Detail: r.Error})
	}
	return out
}

func checkRows(r *harness.Results) []param {
	lin := r.Linearizability
	linDetail := fmt.Sprintf("%s over %d keys", verdictOf(lin.Valid), len(lin.Keys))
	if lin.FailingKeys > 0 {
		var bad []string
		for _, k := range lin.Keys {
			if k.Valid == model.Invalid {
				bad = append(bad, k.Key)
			}
		}
		linDetail += fmt.Sprintf("; not linearizable: %s", strings.Join(bad, ", "))
	}
	rows := []param{
		{"linearizability", linDetail},
		{"liveness", verdictOf(r.Liveness.Valid) + ": " + r.Liveness.Detail},
	}
	inv := verdictOf(r.Invariants.Valid) + ": " + r.Invariants.Detail
	if r.Invariants.Skipped {
		inv = r.Invariants.Detail
	}
	rows = append(rows, param{"raft invariants", inv})
	rows = append(rows,
		param{"history", historyRow(r)},
		param{"wall time", fmt.Sprintf("%s (started %s)", fmtSeconds(r.WallSeconds), r.Started.UTC().Format("2006-01-02 15:04:05Z"))},
	)
	if r.TornLine > 0 {
		rows = append(rows, param{"torn line", fmt.Sprintf("history line %d was cut short and dropped", r.TornLine)})
	}
	if r.Git.Status != "" {
		rows = append(rows, param{"git", r.Git.String()})
	}
	return rows
}

// historyRow is what the check read of the history.
func historyRow(r *harness.Results) string {
	if r.HistoryUnread() {
		return "not read whole: the check timed out while reading it, so nothing in it was counted"
	}
	return fmt.Sprintf("%s events over %s of test time", groupDigits(r.HistoryOps), fmtSeconds(r.TestSeconds))
}

func fmtSeconds(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(time.Millisecond).String()
}

// opsRows are the client operations by function, with a total row.
func opsRows(st model.Stats) []opsRow {
	var rows []opsRow
	var total opsRow
	for _, f := range sortedKeys(st) {
		if f == model.NemesisStats {
			continue
		}
		c := st[f]
		row := opsRow{F: f, OK: c["ok"], Fail: c["fail"], Info: c["info"]}
		row.Total = row.OK + row.Fail + row.Info
		total.OK += row.OK
		total.Fail += row.Fail
		total.Info += row.Info
		total.Total += row.Total
		rows = append(rows, row)
	}
	if len(rows) > 1 {
		total.F = "all"
		rows = append(rows, total)
	}
	return rows
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// listFiles lists the regular files of a run directory (logs are listed
// apart).
func listFiles(root *os.Root, rel string) []fileLink {
	f, err := openDir(root, rel)
	if err != nil {
		return nil
	}
	defer f.Close()
	ents, err := f.ReadDir(-1)
	if err != nil {
		return nil
	}
	var out []fileLink
	for _, e := range ents {
		if !e.Type().IsRegular() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		u := FileURL(path.Join(rel, e.Name()))
		out = append(out, fileLink{Name: e.Name(), URL: u, Download: u + "?download=1", Size: info.Size()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// paramOrder puts the parameters people look for first.
var paramOrder = []string{"name", "mode", "seed", "nodes", "time", "nemesis", "bugs", "scenario", "schedule_file"}

// flattenTest turns test.json into rows "workload.rate = 200", the most
// looked-for first, and the recorded library versions apart. Keys ending
// in _ns are shown as durations, without the suffix.
func flattenTest(raw []byte) (params, versions []param, err error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, nil, err
	}
	if v, ok := m["versions"].(map[string]any); ok {
		for _, k := range sortedKeys(v) {
			versions = append(versions, param{k, scalar(v[k])})
		}
	}
	for _, k := range []string{"versions", "schedule", "repro"} {
		delete(m, k)
	}
	var flat []param
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		if obj, ok := v.(map[string]any); ok && len(obj) > 0 {
			for _, k := range sortedKeys(obj) {
				walk(prefix+"."+k, obj[k])
			}
			return
		}
		key := strings.TrimPrefix(prefix, ".")
		if n, ok := v.(json.Number); ok && strings.HasSuffix(key, "_ns") {
			if d, err := n.Int64(); err == nil {
				flat = append(flat, param{strings.TrimSuffix(key, "_ns"), time.Duration(d).String()})
				return
			}
		}
		flat = append(flat, param{key, scalar(v)})
	}
	walk("", m)
	rank := func(k string) int {
		for i, p := range paramOrder {
			if k == p {
				return i
			}
		}
		return len(paramOrder)
	}
	sort.SliceStable(flat, func(i, j int) bool { return rank(flat[i].Key) < rank(flat[j].Key) })
	return flat, versions, nil
}

func scalar(v any) string {
	switch x := v.(type) {
	case nil:
		return "—"
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	case []any:
		if len(x) == 0 {
			return "—"
		}
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = scalar(e)
		}
		return strings.Join(parts, ", ")
	case map[string]any:
		b, _ := json.Marshal(x)
		return string(b)
	}
	return fmt.Sprint(v)
}

// shellQuote quotes s for a POSIX shell when it needs quoting.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@+,", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
