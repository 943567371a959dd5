package serve

import (
	"html"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunPageInvalid(t *testing.T) {
	f := runFixture(t)
	s := newServer(t, f.Dir, Options{})
	rel := f.rel(t, f.Invalid)
	w := get(t, s, RunURL(rel))
	if w.Code != http.StatusOK {
		t.Fatalf("GET %s: %d\n%s", RunURL(rel), w.Code, w.Body)
	}
	body := w.Body.String()
	res := f.Invalid.Results
	schedule, err := os.ReadFile(filepath.Join(f.Invalid.Dir, "schedule.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for what, want := range map[string]string{
		"verdict badge":         `<span class="badge big v-invalid" id="verdict-badge">invalid</span>`,
		"explanation":           `id="explanation">` + html.EscapeString(res.Linearizability.Explanation) + `</p>`,
		"anomaly and key":       html.EscapeString(res.Linearizability.Anomaly + " on key " + res.Linearizability.FirstFailingKey),
		"repro":                 `<code id="repro-cmd">` + html.EscapeString(res.Repro) + `</code>`,
		"copy button":           `<button type="button" class="copy" data-copy="repro-cmd">Copy</button>`,
		"seed parameter":        `<tr><th>seed</th><td>7</td></tr>`,
		"bug parameter":         `<tr><th>bugs</th><td>local-reads</td></tr>`,
		"duration parameter":    `<tr><th>workload.timeout</th><td>5s</td></tr>`,
		"schedule":              html.EscapeString(strings.TrimSpace(string(schedule))),
		"latency plot":          `<img class="plot" src="` + FileURL(rel+"/latency.png") + `"`,
		"rate plot":             `<img class="plot" src="` + FileURL(rel+"/rate.png") + `"`,
		"porcupine diagram":     `<iframe class="artifact" src="` + FileURL(rel+"/linearizability.html") + `"`,
		"timeline":              `<iframe class="artifact" src="` + FileURL(rel+"/timeline.html") + `"`,
		"log link":              `href="` + RunURL(rel) + `?log=n1#logs"`,
		"history download":      `href="` + FileURL(rel+"/history.jsonl") + `?download=1"`,
		"ops table":             `<td class="num ok">`,
		"failing keys in stats": "not linearizable: " + res.Linearizability.FirstFailingKey,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("run page lacks the %s: %s", what, want)
		}
	}
	// The latency plot comes before the rate plot.
	if strings.Index(body, "latency.png") > strings.Index(body, "rate.png") {
		t.Errorf("rate plot shown before the latency plot")
	}
}

func TestRunPageValid(t *testing.T) {
	f := runFixture(t)
	s := newServer(t, f.Dir, Options{})
	rel := f.rel(t, f.Valid)
	body := get(t, s, RunURL(rel)).Body.String()
	if !strings.Contains(body, `<span class="badge big v-valid" id="verdict-badge">valid</span>`) || !strings.Contains(body, "Valid: every key") {
		t.Errorf("valid run's page does not say valid")
	}
	if strings.Contains(body, `id="linearizability"`) || strings.Contains(body, `class="finding`) {
		t.Errorf("valid run's page shows a linearizability failure")
	}
	// Trailing slash is the same page.
	if w := get(t, s, RunURL(rel)+"/"); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `id="verdict-badge">valid<`) {
		t.Errorf("run page with a trailing slash: %d", w.Code)
	}
}

// latest links inside the root lead to the run they name, by redirect, so
// the page and its links stay on one run when latest moves on.
func TestRunPageLatestRedirects(t *testing.T) {
	f := runFixture(t)
	s := newServer(t, f.Dir, Options{})
	want := RunURL(f.rel(t, f.Invalid)) // the last run made
	for _, p := range []string{"/run/latest", "/run/register/latest", "/run/latest/", "/run/register/latest?log=n2&page=1"} {
		w := get(t, s, p)
		loc := w.Header().Get("Location")
		q := ""
		if i := strings.IndexByte(p, '?'); i >= 0 {
			q = p[i:]
		}
		if w.Code != http.StatusFound || loc != want+q {
			t.Errorf("GET %s: %d to %q, want 302 to %q", p, w.Code, loc, want+q)
		}
	}
	// Files through latest are served directly.
	if w := get(t, s, "/file/latest/test.json"); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"local-reads"`) {
		t.Errorf("/file/latest/test.json: %d", w.Code)
	}
}

func TestRunPageNotARun(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "register", "empty"), 0o755)
	os.WriteFile(filepath.Join(dir, "register", "file"), []byte("x"), 0o644)
	s := newServer(t, dir, Options{})
	for p, code := range map[string]int{
		"/run/register/empty":   404,
		"/run/register/file":    404,
		"/run/register/missing": 404,
		"/run/register":         404,
		"/run":                  302,
		"/run/":                 302,
	} {
		if w := get(t, s, p); w.Code != code {
			t.Errorf("GET %s: %d, want %d", p, w.Code, code)
		}
	}
}

// A run killed mid-way: no results.json, no plots, a torn last history
// line. It is listed as incomplete and its page says what there is.
func TestIncompleteRun(t *testing.T) {
	f := runFixture(t)
	dir := t.TempDir()
	rel := f.rel(t, f.Invalid)
	run := filepath.Join(dir, filepath.FromSlash(rel))
	copyDir(t, f.Invalid.Dir, run)
	for _, name := range []string{"results.json", "latency.png", "rate.png", "timeline.html", "linearizability.html"} {
		if err := os.Remove(filepath.Join(run, name)); err != nil {
			t.Fatal(err)
		}
	}
	hist := filepath.Join(run, "history.jsonl")
	b, err := os.ReadFile(hist)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(b), "\n")
	torn := strings.Join(lines[:1000], "") + lines[1000][:len(lines[1000])/2]
	if err := os.WriteFile(hist, []byte(torn), 0o644); err != nil {
		t.Fatal(err)
	}

	s := newServer(t, dir, Options{})
	idx := get(t, s, "/")
	if rows := indexRows(t, idx.Body.String()); len(rows) != 1 || rows[0] != (indexRow{VerdictIncomplete, rel}) {
		t.Fatalf("index rows %v, want one incomplete run", rows)
	}
	if !strings.Contains(idx.Body.String(), "1,001 events") {
		t.Errorf("index does not count the 1,001 history lines of the incomplete run")
	}
	w := get(t, s, RunURL(rel))
	if w.Code != http.StatusOK {
		t.Fatalf("incomplete run's page: %d\n%s", w.Code, w.Body)
	}
	body := w.Body.String()
	for _, want := range []string{
		`id="verdict-badge">incomplete<`,
		"1000 history events were recorded; the last line (1001) was cut short",
		"splitbrain check " + run,
		"Counted from the history recorded so far; not checked.",
		"No plots in this directory.",
		`<code id="repro-cmd">` + html.EscapeString(f.Invalid.Results.Repro) + `</code>`, // from test.json
	} {
		if !strings.Contains(body, want) {
			t.Errorf("incomplete run's page lacks %q", want)
		}
	}
	if strings.Contains(body, `<iframe`) || strings.Contains(body, `<img class="plot"`) {
		t.Errorf("incomplete run's page frames or shows artefacts it does not have")
	}
}

// Whatever is broken in a run directory, its page answers 200 and says
// what it could not read.
func TestBrokenRunDirectories(t *testing.T) {
	cases := map[string]struct {
		files map[string]string
		want  []string
	}{
		"only test.json": {
			files: map[string]string{"test.json": `{"name":"register","seed":5}`},
			want:  []string{"no history.jsonl", `<tr><th>seed</th><td>5</td></tr>`},
		},
		"garbage results.json": {
			files: map[string]string{"results.json": `{"valid": tru`, "test.json": `{}`},
			want:  []string{"results.json could not be read", `id="verdict-badge">incomplete<`},
		},
		"garbage test.json": {
			files: map[string]string{"test.json": `[1,2`, "history.jsonl": ""},
			want:  []string{"test.json could not be read", "0 history events"},
		},
		"results.json of the wrong shape": {
			files: map[string]string{"results.json": `{"valid": "maybe", "ops": 3}`},
			want:  []string{"results.json could not be read"},
		},
		"history broken mid-file": {
			files: map[string]string{"history.jsonl": "{\"index\":0,\"time\":0,\"type\":\"invoke\",\"process\":0,\"f\":\"read\",\"key\":\"k\"}\nnot json\n{}\n"},
			want:  []string{"history.jsonl:2:", "1 history events"},
		},
		"only history, binary junk": {
			files: map[string]string{"history.jsonl": "\x00\xff\xfe\n"},
			want:  []string{"history.jsonl:1:"},
		},
		"check.json garbage": {
			files: map[string]string{"check.json": "{", "test.json": "{}"},
			want:  []string{"check.json could not be read"},
		},
		"logs is a file": {
			files: map[string]string{"test.json": "{}", "logs": "x"},
			want:  []string{"No node logs in this directory."},
		},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			run := filepath.Join(dir, "register", "20250101T000000.000Z")
			os.MkdirAll(run, 0o755)
			for f, content := range c.files {
				if err := os.WriteFile(filepath.Join(run, f), []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			s := newServer(t, dir, Options{})
			if w := get(t, s, "/"); w.Code != http.StatusOK || len(indexRows(t, w.Body.String())) != 1 {
				t.Errorf("index: %d, rows %v", w.Code, indexRows(t, w.Body.String()))
			}
			w := get(t, s, "/run/register/20250101T000000.000Z")
			if w.Code != http.StatusOK {
				t.Fatalf("run page: %d\n%s", w.Code, w.Body)
			}
			body := html.UnescapeString(w.Body.String())
			for _, want := range c.want {
				if !strings.Contains(body, want) {
					t.Errorf("run page lacks %q", want)
				}
			}
		})
	}
}

func TestFlattenTest(t *testing.T) {
	params, versions, err := flattenTest([]byte(`{"seed": 9, "name": "x", "workload": {"mix": {"read": 1}, "timeout_ns": 1500000000},
		"nemesis": ["kill", "partition"], "bugs": null, "empty": [], "schedule": "1s kill one", "repro": "r", "versions": {"go": "go1.26"}}`))
	if err != nil {
		t.Fatal(err)
	}
	got := ""
	for _, p := range params {
		got += p.Key + "=" + p.Value + ";"
	}
	want := "name=x;seed=9;nemesis=kill, partition;bugs=—;empty=—;workload.mix.read=1;workload.timeout=1.5s;"
	if got != want {
		t.Errorf("params\n got %s\nwant %s", got, want)
	}
	if len(versions) != 1 || versions[0] != (param{"go", "go1.26"}) {
		t.Errorf("versions %v", versions)
	}
	if _, _, err := flattenTest([]byte(`nope`)); err == nil {
		t.Error("flattenTest accepted bad JSON")
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"/tmp/results/register/20250101T000000.000Z": "/tmp/results/register/20250101T000000.000Z",
		"/tmp/my results":  "'/tmp/my results'",
		"/tmp/it's":        `'/tmp/it'\''s'`,
		"":                 "''",
		"/tmp/$(rm -rf x)": "'/tmp/$(rm -rf x)'",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}
