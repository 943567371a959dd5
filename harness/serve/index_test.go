package serve

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// rowsRE finds the index's rows: verdict and run path, in page order.
var rowsRE = regexp.MustCompile(`<tr class="run v-([a-z]+)" data-verdict="[a-z]+" data-path="([^"]+)">`)

type indexRow struct{ Verdict, Path string }

func indexRows(t *testing.T, body string) []indexRow {
	t.Helper()
	var rows []indexRow
	for _, m := range rowsRE.FindAllStringSubmatch(body, -1) {
		rows = append(rows, indexRow{m[1], m[2]})
	}
	return rows
}

// synthRoot is a results root with one run of each verdict under two test
// names, a minute apart.
func synthRoot(t *testing.T) (string, []synthRun) {
	dir := t.TempDir()
	runs := []synthRun{
		{Name: "register", At: t0, Verdict: VerdictValid, Seed: 1, Ops: 2},
		{Name: "bank", At: t0.Add(time.Minute), Verdict: VerdictInvalid, Seed: 2, Ops: 3},
		{Name: "register", At: t0.Add(2 * time.Minute), Verdict: VerdictUnknown, Seed: 3, Ops: 1},
		{Name: "Register-big", At: t0.Add(3 * time.Minute), Verdict: VerdictIncomplete, Seed: 4, Ops: 5},
	}
	for _, r := range runs {
		writeSynth(t, dir, r)
	}
	return dir, runs
}

func TestIndexNewestFirstWithVerdicts(t *testing.T) {
	dir, runs := synthRoot(t)
	s := newServer(t, dir, Options{})
	w := get(t, s, "/")
	if w.Code != http.StatusOK {
		t.Fatalf("GET /: %d\n%s", w.Code, w.Body)
	}
	got := indexRows(t, w.Body.String())
	var want []indexRow
	for i := len(runs) - 1; i >= 0; i-- {
		want = append(want, indexRow{runs[i].Verdict, runs[i].rel()})
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("index rows\n got %v\nwant %v", got, want)
	}
	body := w.Body.String()
	for _, s := range []string{
		`<span class="dot git-green"></span><code title="main@abcdef0 clean">abcdef0</code>`, // git commit and status
		`2025-03-01 12:01:00.000Z`,                        // time
		`partition <span class="muted">(2 events)</span>`, // faults
		`<span class="muted" title="history lines recorded before the run stopped">10 events</span>`, // incomplete: events so far
	} {
		if !strings.Contains(body, s) {
			t.Errorf("index lacks %s", s)
		}
	}
	if h := w.Header().Get("Content-Security-Policy"); h != pageCSP {
		t.Errorf("index CSP %q, want %q", h, pageCSP)
	}
	if h := w.Header().Get("X-Content-Type-Options"); h != "nosniff" {
		t.Errorf("X-Content-Type-Options %q", h)
	}
	if ct := w.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
}

func TestIndexFilters(t *testing.T) {
	dir, runs := synthRoot(t)
	s := newServer(t, dir, Options{})
	cases := []struct {
		query string
		want  []int // indexes into runs, in page order
	}{
		{"", []int{3, 2, 1, 0}},
		{"verdict=all", []int{3, 2, 1, 0}},
		{"verdict=valid", []int{0}},
		{"verdict=invalid", []int{1}},
		{"verdict=unknown", []int{2}},
		{"verdict=incomplete", []int{3}},
		{"name=register", []int{3, 2, 0}}, // substring, case-insensitive
		{"name=REG", []int{3, 2, 0}},
		{"name=bank", []int{1}},
		{"name=+bank+", []int{1}},
		{"name=nothing", nil},
		{"name=register&verdict=unknown", []int{2}},
		{"name=bank&verdict=valid", nil},
	}
	for _, c := range cases {
		w := get(t, s, "/?"+c.query)
		if w.Code != http.StatusOK {
			t.Errorf("?%s: %d", c.query, w.Code)
			continue
		}
		var want []indexRow
		for _, i := range c.want {
			want = append(want, indexRow{runs[i].Verdict, runs[i].rel()})
		}
		if got := indexRows(t, w.Body.String()); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("?%s\n got %v\nwant %v", c.query, got, want)
		}
		if len(c.want) == 0 && !strings.Contains(w.Body.String(), "No run matches this filter") {
			t.Errorf("?%s: no empty-filter message", c.query)
		}
	}
	// The verdict chips count what the name filter keeps.
	w := get(t, s, "/?name=register")
	for _, chip := range []string{`all <b>3</b>`, `valid <b>1</b>`, `invalid <b>0</b>`, `unknown <b>1</b>`, `incomplete <b>1</b>`} {
		if !strings.Contains(w.Body.String(), chip) {
			t.Errorf("?name=register: no chip %q", chip)
		}
	}
	for _, bad := range []string{"verdict=green", "verdict=VALID", "page=0", "page=-1", "page=x", "page=1e3"} {
		if w := get(t, s, "/?"+bad); w.Code != http.StatusBadRequest {
			t.Errorf("?%s: %d, want 400", bad, w.Code)
		}
	}
}

func TestIndexPages(t *testing.T) {
	dir := t.TempDir()
	const n = 250
	for i := 0; i < n; i++ {
		writeSynth(t, dir, synthRun{Name: "register", At: t0.Add(time.Duration(i) * time.Second), Verdict: Verdicts[i%3], Seed: uint64(i + 1)})
	}
	s := newServer(t, dir, Options{PageRuns: 100})
	seen := map[string]bool{}
	for page, want := range map[int]int{1: 100, 2: 100, 3: 50} {
		w := get(t, s, fmt.Sprintf("/?page=%d", page))
		rows := indexRows(t, w.Body.String())
		if len(rows) != want {
			t.Errorf("page %d: %d rows, want %d", page, len(rows), want)
		}
		for _, r := range rows {
			seen[r.Path] = true
		}
		if page == 1 && (len(rows) == 0 || rows[0].Path != (synthRun{Name: "register", At: t0.Add((n - 1) * time.Second)}).rel()) {
			t.Errorf("page 1 does not start with the newest run: %v", rows[:1])
		}
		if last := w.Body.String(); page == 2 && (!strings.Contains(last, `href="/" rel="prev"`) || !strings.Contains(last, `href="/?page=3" rel="next"`)) {
			t.Errorf("page 2 lacks links to pages 1 and 3")
		}
	}
	if len(seen) != n {
		t.Errorf("pages 1–3 show %d distinct runs, want %d", len(seen), n)
	}
	if w := get(t, s, "/?page=4"); w.Code != http.StatusOK || len(indexRows(t, w.Body.String())) != 0 || !strings.Contains(w.Body.String(), "No runs on page 4") {
		t.Errorf("page 4: %d, want an empty page that says so", w.Code)
	}
	// Filters carry into the page links.
	s = newServer(t, dir, Options{PageRuns: 50})
	if w := get(t, s, "/?verdict=valid"); !strings.Contains(w.Body.String(), `href="/?page=2&amp;verdict=valid" rel="next"`) {
		t.Errorf("filtered page lacks a filtered link to page 2")
	}
	if w := get(t, s, "/?verdict=valid&page=2"); !strings.Contains(w.Body.String(), `href="/?verdict=valid" rel="prev"`) {
		t.Errorf("filtered page 2 lacks a filtered link to page 1")
	}
}

// The index skips what is not a run: symbolic links (latest), hidden
// directories, directories without run files, files, and campaigns/.
func TestIndexSkipsNonRuns(t *testing.T) {
	dir := t.TempDir()
	r := synthRun{Name: "register", At: t0, Verdict: VerdictValid, Seed: 1}
	writeSynth(t, dir, r)
	for _, d := range []string{"register/not-a-run", ".hidden/20250101T000000.000Z", "register/.tmp", "campaigns/20250101T000000.000Z"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeSynth(t, filepath.Join(dir, ".hidden"), synthRun{Name: "x", At: t0, Verdict: VerdictValid})
	writeSynth(t, filepath.Join(dir, "campaigns"), synthRun{Name: "c1", At: t0, Verdict: VerdictInvalid})
	os.WriteFile(filepath.Join(dir, "README"), []byte("x"), 0o644)
	os.Symlink(r.rel(), filepath.Join(dir, "latest"))
	os.Symlink(r.dirName(), filepath.Join(dir, "register", "latest"))
	os.Symlink("register", filepath.Join(dir, "alias"))
	w := get(t, newServer(t, dir, Options{}), "/")
	if got := indexRows(t, w.Body.String()); fmt.Sprint(got) != fmt.Sprint([]indexRow{{VerdictValid, r.rel()}}) {
		t.Errorf("index rows %v, want only %s", got, r.rel())
	}
}

// A summary is cached, and re-read when its files change.
func TestIndexCacheFollowsChanges(t *testing.T) {
	dir := t.TempDir()
	r := synthRun{Name: "register", At: t0, Verdict: VerdictIncomplete, Seed: 1, Ops: 1}
	writeSynth(t, dir, r)
	s := newServer(t, dir, Options{})
	if rows := indexRows(t, get(t, s, "/").Body.String()); len(rows) != 1 || rows[0].Verdict != VerdictIncomplete {
		t.Fatalf("before: %v", rows)
	}
	// The run finishes: results.json appears.
	r.Verdict = VerdictInvalid
	writeSynth(t, dir, r)
	if rows := indexRows(t, get(t, s, "/").Body.String()); len(rows) != 1 || rows[0].Verdict != VerdictInvalid {
		t.Fatalf("after results.json appeared: %v", rows)
	}
	// It is re-checked: check.json appears.
	writeJSONFile(t, filepath.Join(dir, r.rel(), "check.json"), map[string]any{"valid": true})
	if body := get(t, s, "/").Body.String(); !strings.Contains(body, `check: valid`) {
		t.Errorf("check.json's verdict not shown")
	}
	// It is deleted.
	os.RemoveAll(filepath.Join(dir, r.Name))
	if rows := indexRows(t, get(t, s, "/").Body.String()); len(rows) != 0 {
		t.Fatalf("after removal: %v", rows)
	}
	s.mu.Lock()
	n := len(s.runs)
	s.mu.Unlock()
	if n != 0 {
		t.Errorf("cache keeps %d entries of removed runs", n)
	}
}

// BenchmarkIndex renders the first page of an index of 3,000 runs, with a
// warm cache (the steady state of a server someone keeps open).
func BenchmarkIndex(b *testing.B) {
	dir := b.TempDir()
	for i := 0; i < 3000; i++ {
		writeSynth(b, dir, synthRun{Name: fmt.Sprintf("test%d", i%7), At: t0.Add(time.Duration(i) * time.Second), Verdict: Verdicts[i%4], Seed: uint64(i + 1), Ops: 1})
	}
	s := newServer(b, dir, Options{})
	if w := get(b, s, "/"); w.Code != http.StatusOK {
		b.Fatal(w.Code)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		get(b, s, "/?verdict=invalid&name=test3")
	}
}

// BenchmarkIndexCold is the first view of 3,000 runs: every summary read.
func BenchmarkIndexCold(b *testing.B) {
	dir := b.TempDir()
	for i := 0; i < 3000; i++ {
		writeSynth(b, dir, synthRun{Name: fmt.Sprintf("test%d", i%7), At: t0.Add(time.Duration(i) * time.Second), Verdict: Verdicts[i%4], Seed: uint64(i + 1), Ops: 1})
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		get(b, newServer(b, dir, Options{}), "/")
	}
}
