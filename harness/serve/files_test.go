package serve

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFiles(t *testing.T) {
	f := runFixture(t)
	s := newServer(t, f.Dir, Options{})
	rel := f.rel(t, f.Invalid)
	hist, err := os.ReadFile(filepath.Join(f.Invalid.Dir, "history.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, ctype, disposition string
	}{
		{"history.jsonl", "text/plain; charset=utf-8", ""},
		{"history.jsonl?download=1", "text/plain; charset=utf-8", `attachment; filename=history.jsonl`},
		{"latency.png", "image/png", ""},
		{"rate.png", "image/png", ""},
		{"results.json", "application/json; charset=utf-8", ""},
		{"test.json?download=1", "application/json; charset=utf-8", `attachment; filename=test.json`},
		{"schedule.txt", "text/plain; charset=utf-8", ""},
		{"repro", "text/plain; charset=utf-8", ""},
		{"logs/n1.log", "text/plain; charset=utf-8", ""},
		{"linearizability.html", "text/html; charset=utf-8", ""},
		{"timeline.html", "text/html; charset=utf-8", ""},
	}
	for _, c := range cases {
		w := get(t, s, FileURL(rel)+"/"+c.name)
		if w.Code != http.StatusOK {
			t.Errorf("%s: %d", c.name, w.Code)
			continue
		}
		h := w.Header()
		if h.Get("Content-Type") != c.ctype || h.Get("Content-Disposition") != c.disposition {
			t.Errorf("%s: Content-Type %q, Content-Disposition %q; want %q, %q", c.name, h.Get("Content-Type"), h.Get("Content-Disposition"), c.ctype, c.disposition)
		}
		if h.Get("Content-Security-Policy") != fileCSP || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: CSP %q, nosniff %q", c.name, h.Get("Content-Security-Policy"), h.Get("X-Content-Type-Options"))
		}
	}
	if w := get(t, s, FileURL(rel)+"/history.jsonl?download=1"); w.Body.String() != string(hist) {
		t.Errorf("downloaded history differs from history.jsonl (%d bytes, want %d)", w.Body.Len(), len(hist))
	}
	// The results' HTML runs sandboxed: its own inline script, nothing of ours.
	if csp := get(t, s, FileURL(rel)+"/linearizability.html").Header().Get("Content-Security-Policy"); !strings.Contains(csp, "sandbox allow-scripts allow-forms") || strings.Contains(csp, "allow-same-origin") {
		t.Errorf("results HTML CSP %q: want a sandbox without allow-same-origin", csp)
	}
	// Ranges and conditional requests work (large histories, reloads).
	req := httptest.NewRequest("GET", FileURL(rel)+"/history.jsonl", nil)
	req.Header.Set("Range", "bytes=0-9")
	w := httptest.NewRecorder()
	s.ServeHTTP(w, req)
	if w.Code != http.StatusPartialContent || w.Body.String() != string(hist[:10]) {
		t.Errorf("range request: %d %q", w.Code, w.Body.String())
	}
	lm := get(t, s, FileURL(rel)+"/results.json").Header().Get("Last-Modified")
	req = httptest.NewRequest("GET", FileURL(rel)+"/results.json", nil)
	req.Header.Set("If-Modified-Since", lm)
	w = httptest.NewRecorder()
	s.ServeHTTP(w, req)
	if lm == "" || w.Code != http.StatusNotModified {
		t.Errorf("conditional request: Last-Modified %q, status %d", lm, w.Code)
	}
	// HEAD: headers, no body.
	req = httptest.NewRequest("HEAD", FileURL(rel)+"/latency.png", nil)
	w = httptest.NewRecorder()
	s.ServeHTTP(w, req)
	if w.Code != 200 || w.Body.Len() != 0 || w.Header().Get("Content-Type") != "image/png" {
		t.Errorf("HEAD: %d, %d bytes, %q", w.Code, w.Body.Len(), w.Header().Get("Content-Type"))
	}
}

func TestFilesUnknownTypesDownload(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "r", "t"), 0o755)
	os.WriteFile(filepath.Join(dir, "r", "t", "core.bin"), []byte("<html><script>alert(1)</script>"), 0o644)
	os.WriteFile(filepath.Join(dir, "r", "t", "page.SVG"), []byte("<svg/>"), 0o644)
	s := newServer(t, dir, Options{})
	w := get(t, s, "/file/r/t/core.bin")
	if w.Header().Get("Content-Type") != "application/octet-stream" || w.Header().Get("Content-Disposition") != "attachment; filename=core.bin" {
		t.Errorf("unknown type: %q, %q", w.Header().Get("Content-Type"), w.Header().Get("Content-Disposition"))
	}
	if w := get(t, s, "/file/r/t/page.SVG"); w.Header().Get("Content-Type") != "image/svg+xml" || w.Header().Get("Content-Security-Policy") != fileCSP {
		t.Errorf("svg: %q, CSP %q", w.Header().Get("Content-Type"), w.Header().Get("Content-Security-Policy"))
	}
}

// Directories are never listed: only the pages render what is in them. A
// run directory (linked as "dir/" by a campaign's summary.html) redirects
// to the run's page.
func TestFilesNoDirectoryListing(t *testing.T) {
	f := runFixture(t)
	s := newServer(t, f.Dir, Options{})
	rel := f.rel(t, f.Invalid)
	for _, p := range []string{FileURL(rel), FileURL(rel) + "/", "/file/latest", "/file/latest/"} {
		w := get(t, s, p)
		want := RunURL(strings.TrimSuffix(strings.TrimPrefix(p, "/file/"), "/"))
		if w.Code != http.StatusFound || w.Header().Get("Location") != want {
			t.Errorf("GET %s: %d to %q, want %d to the run page %s", p, w.Code, w.Header().Get("Location"), http.StatusFound, want)
		}
	}
	for _, p := range []string{"/file/", "/file", FileURL(rel) + "/logs", "/file/register", "/static/", "/static"} {
		w := get(t, s, p)
		if w.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, w.Code)
		}
		if strings.Contains(w.Body.String(), "history.jsonl") || strings.Contains(w.Body.String(), "n1.log") {
			t.Errorf("GET %s lists a directory", p)
		}
	}
}

func TestStatic(t *testing.T) {
	s := newServer(t, t.TempDir(), Options{})
	for p, ct := range map[string]string{
		"/static/style.css": "text/css; charset=utf-8",
		"/static/app.js":    "text/javascript; charset=utf-8",
		"/static/icon.svg":  "image/svg+xml",
	} {
		w := get(t, s, p)
		if w.Code != 200 || w.Header().Get("Content-Type") != ct || w.Body.Len() == 0 {
			t.Errorf("%s: %d %q %d bytes", p, w.Code, w.Header().Get("Content-Type"), w.Body.Len())
		}
		req := httptest.NewRequest("GET", p, nil)
		req.Header.Set("If-None-Match", w.Header().Get("ETag"))
		w2 := httptest.NewRecorder()
		s.ServeHTTP(w2, req)
		if w2.Code != http.StatusNotModified {
			t.Errorf("%s with its ETag: %d, want 304", p, w2.Code)
		}
	}
	for _, p := range []string{"/static/nope.css", "/static/a/b"} {
		if w := get(t, s, p); w.Code != 404 {
			t.Errorf("%s: %d", p, w.Code)
		}
	}
	if w := get(t, s, "/favicon.ico"); w.Code != http.StatusMovedPermanently || w.Header().Get("Location") != "/static/icon.svg" {
		t.Errorf("/favicon.ico: %d %q", w.Code, w.Header().Get("Location"))
	}
}

func TestMethodsAndHosts(t *testing.T) {
	s := newServer(t, t.TempDir(), Options{Hosts: LoopbackHosts})
	for _, m := range []string{"POST", "PUT", "DELETE", "PATCH", "OPTIONS"} {
		req := httptest.NewRequest(m, "/", strings.NewReader("x"))
		req.Host = "127.0.0.1:8080"
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "GET, HEAD" {
			t.Errorf("%s /: %d, Allow %q", m, w.Code, w.Header().Get("Allow"))
		}
	}
	for host, code := range map[string]int{
		"127.0.0.1:8080":     200,
		"localhost":          200,
		"LOCALHOST:1":        200,
		"[::1]:8080":         200,
		"evil.example":       403,
		"evil.example:8080":  403,
		"127.0.0.1.nip.io:1": 403,
		"":                   403,
	} {
		req := httptest.NewRequest("GET", "/", nil)
		req.Host = host
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		if w.Code != code {
			t.Errorf("Host %q: %d, want %d", host, w.Code, code)
		}
	}
	// Without Hosts (a server bound elsewhere on purpose), any name.
	if w := get(t, newServer(t, t.TempDir(), Options{}), "/"); w.Code != 200 {
		t.Errorf("no host list: %d", w.Code)
	}
}
