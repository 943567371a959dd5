package serve

import (
	"errors"
	"fmt"
	"html"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// logRun writes a run whose logs/n1.log has lines "line 1" … "line n".
func logRun(t *testing.T, n int) (dir, rel, logPath string) {
	t.Helper()
	dir = t.TempDir()
	r := synthRun{Name: "register", At: t0, Verdict: VerdictValid, Seed: 1}
	run := writeSynth(t, dir, r)
	var b strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "line %d\n", i)
	}
	logPath = filepath.Join(run, "logs", "n1.log")
	if err := os.WriteFile(logPath, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, other := range []string{"n10.log", "n2.log"} {
		os.WriteFile(filepath.Join(run, "logs", other), nil, 0o644)
	}
	return dir, r.rel(), logPath
}

var logLineRE = regexp.MustCompile(`<li>([^<]*)</li>`)
var logStartRE = regexp.MustCompile(`<ol class="log" start="(\d+)">`)

// shownLines are the log lines a run page shows, and the number of the
// first.
func shownLines(body string) (first string, lines []string) {
	if m := logStartRE.FindStringSubmatch(body); m != nil {
		first = m[1]
	}
	for _, m := range logLineRE.FindAllStringSubmatch(body, -1) {
		lines = append(lines, html.UnescapeString(m[1]))
	}
	return first, lines
}

func TestLogPages(t *testing.T) {
	dir, rel, _ := logRun(t, 1234)
	s := newServer(t, dir, Options{LogLines: 100})
	for _, c := range []struct {
		page      string
		first     string
		from, cnt int
	}{
		{"", "1", 1, 100},
		{"1", "1", 1, 100},
		{"2", "101", 101, 100},
		{"12", "1101", 1101, 100},
		{"13", "1201", 1201, 34},
	} {
		q := "?log=n1"
		if c.page != "" {
			q += "&page=" + c.page
		}
		w := get(t, s, RunURL(rel)+q)
		if w.Code != http.StatusOK {
			t.Fatalf("%s: %d\n%s", q, w.Code, w.Body)
		}
		first, lines := shownLines(w.Body.String())
		if first != c.first || len(lines) != c.cnt || lines[0] != fmt.Sprintf("line %d", c.from) || lines[len(lines)-1] != fmt.Sprintf("line %d", c.from+c.cnt-1) {
			t.Errorf("%s: shows %d lines from %q numbered from %s, want %d from line %d", q, len(lines), lines[0], first, c.cnt, c.from)
		}
		if !strings.Contains(w.Body.String(), "of 1,234") || !strings.Contains(w.Body.String(), "of 13") {
			t.Errorf("%s: does not say 1,234 lines in 13 pages", q)
		}
	}
	// The pager links on.
	body := get(t, s, RunURL(rel)+"?log=n1&page=2").Body.String()
	for _, want := range []string{RunURL(rel) + "?log=n1#logs", RunURL(rel) + "?log=n1&amp;page=3#logs", RunURL(rel) + "?log=n1&amp;page=13#logs"} {
		if !strings.Contains(body, `href="`+want+`"`) {
			t.Errorf("page 2 lacks the link %s", want)
		}
	}
	for q, code := range map[string]int{
		"?log=n1&page=14":       404,
		"?log=n1&page=0":        400,
		"?log=n1&page=-2":       400,
		"?log=n1&page=two":      400,
		"?log=n9":               404,
		"?log=../../etc/passwd": 404,
		"?log=n1.log":           200,
		"?log=n2":               200, // empty log: one empty page
		"?log=n2&page=2":        404,
	} {
		if w := get(t, s, RunURL(rel)+q); w.Code != code {
			t.Errorf("%s: %d, want %d", q, w.Code, code)
		}
	}
	if body := get(t, s, RunURL(rel)+"?log=n2").Body.String(); !strings.Contains(body, "This log is empty.") {
		t.Errorf("empty log not said to be empty")
	}
	// Logs are listed in node order: n1, n2, n10.
	tabs := regexp.MustCompile(`\?log=(n\d+)#logs"`).FindAllStringSubmatch(get(t, s, RunURL(rel)).Body.String(), -1)
	var order []string
	for _, m := range tabs {
		order = append(order, m[1])
	}
	if strings.Join(order, ",") != "n1,n2,n10" {
		t.Errorf("log tabs in order %v, want n1,n2,n10", order)
	}
}

// A log that grows is re-indexed: new pages appear.
func TestLogGrows(t *testing.T) {
	dir, rel, path := logRun(t, 150)
	s := newServer(t, dir, Options{LogLines: 100})
	if w := get(t, s, RunURL(rel)+"?log=n1&page=3"); w.Code != 404 {
		t.Fatalf("page 3 of 150 lines: %d", w.Code)
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := 151; i <= 250; i++ {
		fmt.Fprintf(f, "line %d\n", i)
	}
	f.Close()
	w := get(t, s, RunURL(rel)+"?log=n1&page=3")
	if _, lines := shownLines(w.Body.String()); w.Code != 200 || len(lines) != 50 || lines[0] != "line 201" {
		t.Errorf("page 3 after growth: %d, %d lines", w.Code, len(lines))
	}
}

// readLines cuts long lines, keeps a last line without newline, and makes
// bytes valid UTF-8.
func TestLogOddLines(t *testing.T) {
	dir := t.TempDir()
	long := strings.Repeat("x", maxLineShown+500)
	content := "a\r\n" + long + "\n\xff\xfebad\n<b>&amp;</b>\nno newline at end"
	os.WriteFile(filepath.Join(dir, "l.log"), []byte(content), 0o644)
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	s := newServer(t, dir, Options{})
	lp, err := s.readLogPage(root, "l.log", 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"a", strings.Repeat("x", maxLineShown) + " … (500 more bytes)", "\uFFFDbad"} // a run of bad bytes is one replacement
	if lp.Lines != 5 || lp.Pages != 2 || fmt.Sprint(lp.Text) != fmt.Sprint(want) {
		t.Errorf("page 1: %d lines, %d pages, %.80q", lp.Lines, lp.Pages, lp.Text)
	}
	lp, err = s.readLogPage(root, "l.log", 2, 3)
	if err != nil || fmt.Sprint(lp.Text) != fmt.Sprint([]string{"<b>&amp;</b>", "no newline at end"}) || lp.First != 4 {
		t.Errorf("page 2: %v %q first %d", err, lp.Text, lp.First)
	}
	// And the page escapes what it shows.
	run := filepath.Join(dir, "r", "20250101T000000.000Z")
	os.MkdirAll(filepath.Join(run, "logs"), 0o755)
	os.WriteFile(filepath.Join(run, "test.json"), []byte("{}"), 0o644)
	os.WriteFile(filepath.Join(run, "logs", "n1.log"), []byte("<script>alert(1)</script>\n"), 0o644)
	body := get(t, s, "/run/r/20250101T000000.000Z?log=n1").Body.String()
	if strings.Contains(body, "<script>alert") || !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("log line not escaped")
	}
}

func TestNaturalLess(t *testing.T) {
	names := []string{"n10", "n2", "n1", "a", "n02", "n1b", "n", "stderr"}
	sort.Slice(names, func(i, j int) bool { return naturalLess(names[i], names[j]) })
	if got := strings.Join(names, " "); got != "a n n1 n1b n2 n02 n10 stderr" && got != "a n n1 n1b n02 n2 n10 stderr" {
		t.Errorf("natural order: %s", got)
	}
}

// FuzzLogPages: for any log file and page size, the pages hold every
// line once, in order, each cut as readLines cuts it, and the index counts
// them all.
func FuzzLogPages(f *testing.F) {
	f.Add("a\nb\nc\n", uint8(2))
	f.Add("no newline", uint8(1))
	f.Add("\n\n\n", uint8(3))
	f.Add("", uint8(1))
	f.Add("x\r\ny\xff\n"+strings.Repeat("z", maxLineShown+3)+"\nlast", uint8(2))
	f.Fuzz(func(t *testing.T, content string, per uint8) {
		n := int(per)%7 + 1
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "l.log"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		root, err := os.OpenRoot(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer root.Close()
		s := &Server{dir: dir, logs: map[string]*logIndex{}}
		var want []string
		if content != "" {
			want = strings.SplitAfter(content, "\n")
			if want[len(want)-1] == "" {
				want = want[:len(want)-1]
			}
		}
		var got []string
		first, err := s.readLogPage(root, "l.log", 1, n)
		if err != nil {
			t.Fatal(err)
		}
		if first.Lines != len(want) {
			t.Fatalf("index counts %d lines, want %d", first.Lines, len(want))
		}
		for p := 1; p <= first.Pages; p++ {
			lp, err := s.readLogPage(root, "l.log", p, n)
			if err != nil {
				t.Fatal(err)
			}
			if len(lp.Text) > n || (p < lp.Pages && len(lp.Text) != n) || lp.First != (p-1)*n+1 {
				t.Fatalf("page %d of %d: %d lines from %d (per %d)", p, lp.Pages, len(lp.Text), lp.First, n)
			}
			got = append(got, lp.Text...)
		}
		if _, err := s.readLogPage(root, "l.log", first.Pages+1, n); !errors.Is(err, errNoPage) {
			t.Fatalf("page past the end: %v", err)
		}
		if len(got) != len(want) {
			t.Fatalf("pages hold %d lines, want %d", len(got), len(want))
		}
		for i, line := range want {
			body := strings.TrimSuffix(line, "\n")
			shown := body
			if len(shown) > maxLineShown {
				shown = shown[:maxLineShown]
			}
			shown = strings.ToValidUTF8(strings.TrimRight(shown, "\r\n"), "\uFFFD")
			if len(body) > maxLineShown {
				shown += fmt.Sprintf(" … (%d more bytes)", len(body)-maxLineShown)
			}
			if got[i] != shown {
				t.Fatalf("line %d: %.60q, want %.60q", i+1, got[i], shown)
			}
		}
	})
}
