package serve

import (
	"context"
	"fmt"
	"html/template"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// ListenAndServe on a loopback port: it says where it listens, answers
// loopback names only, and returns nil soon after its context ends, with
// the port closed.
func TestListenAndServeShutsDown(t *testing.T) {
	dir := t.TempDir()
	writeSynth(t, dir, synthRun{Name: "register", At: t0, Verdict: VerdictValid, Seed: 1})
	ctx, cancel := context.WithCancel(context.Background())
	urls := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- ListenAndServe(ctx, "127.0.0.1:0", Options{Results: dir}, func(u string) { urls <- u })
	}()
	var base string
	select { // no bound of our own: see startServer
	case base = <-urls:
	case err := <-done:
		t.Fatalf("ListenAndServe: %v", err)
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	resp, err := client.Get(base)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `data-verdict="valid"`) {
		t.Fatalf("GET %s: %d", base, resp.StatusCode)
	}
	// DNS rebinding: the loopback server refuses other names.
	req, _ := http.NewRequest("GET", base, nil)
	req.Host = "attacker.example"
	if resp, err := client.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("foreign Host: %v %v, want 403", err, resp)
	} else {
		resp.Body.Close()
	}
	tr.CloseIdleConnections()

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("ListenAndServe after cancel: %v, want nil", err)
	}
	if c, err := net.Dial("tcp", strings.TrimSuffix(strings.TrimPrefix(base, "http://"), "/")); err == nil {
		c.Close()
		t.Error("the port still accepts connections after shutdown")
	}
}

// A request in flight when the context ends is finished, not cut.
func TestShutdownFinishesRequests(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{})
	slow := Page{Slug: "slow", Title: "slow", Serve: func(v *View, w http.ResponseWriter, r *http.Request, rest []string) {
		close(started)
		<-release
		io.WriteString(w, "finished")
	}}
	s := newServer(t, t.TempDir(), Options{Pages: []Page{slow}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	got := make(chan string, 1)
	go func() {
		_, body, err := rawGetErr("http://"+ln.Addr().String(), "/slow/")
		if err != nil {
			body = err.Error()
		}
		got <- body
	}()
	<-started
	cancel()
	time.Sleep(50 * time.Millisecond) // let Shutdown begin; the result does not depend on it
	close(release)
	if body := <-got; body != "finished" {
		t.Errorf("request in flight at shutdown got %q", body)
	}
	if err := <-done; err != nil {
		t.Errorf("Serve: %v", err)
	}
}

func TestListenAndServeErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if err := ListenAndServe(context.Background(), ln.Addr().String(), Options{Results: t.TempDir()}, nil); err == nil {
		t.Error("ListenAndServe on a busy port succeeded")
	}
	if err := ListenAndServe(context.Background(), "127.0.0.1:0", Options{Results: filepath.Join(t.TempDir(), "missing")}, nil); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing results directory: %v", err)
	}
	file := filepath.Join(t.TempDir(), "f")
	os.WriteFile(file, nil, 0o644)
	if _, err := New(Options{Results: file}); err == nil {
		t.Error("New accepted a file as the results directory")
	}
	if _, err := New(Options{}); err == nil {
		t.Error("New accepted no results directory")
	}
}

// The extension point: a Page mounts under its slug, is linked from every
// page, renders in the layout, and lists runs of its own directory, which
// the main index leaves out unless the page names them in RunDirs.
func TestPages(t *testing.T) {
	dir := t.TempDir()
	main := synthRun{Name: "register", At: t0, Verdict: VerdictValid, Seed: 1}
	writeSynth(t, dir, main)
	camp := synthRun{Name: "register", At: t0.Add(time.Hour), Verdict: VerdictInvalid, Seed: 2}
	writeSynth(t, filepath.Join(dir, "campaigns", "c1"), camp)
	campaigns := Page{Slug: "campaigns", Title: "Campaigns", Serve: func(v *View, w http.ResponseWriter, r *http.Request, rest []string) {
		if len(rest) != 1 {
			v.Error(w, r, http.StatusNotFound, "no such campaign")
			return
		}
		runs, err := v.Runs("campaigns/" + rest[0])
		if err != nil {
			v.Error(w, r, http.StatusNotFound, err.Error())
			return
		}
		var b strings.Builder
		for _, run := range runs {
			fmt.Fprintf(&b, `<a class="camprun" href="%s">%s %s</a>`, RunURL(run.Path), run.Verdict, template.HTMLEscapeString(run.Path))
		}
		v.Render(w, r, "campaign "+rest[0], template.HTML(b.String()))
	}}
	s := newServer(t, dir, Options{Pages: []Page{campaigns}})
	idx := get(t, s, "/").Body.String()
	if rows := indexRows(t, idx); len(rows) != 1 || rows[0].Path != main.rel() {
		t.Errorf("index rows %v: campaign runs must not be listed", rows)
	}
	if !strings.Contains(idx, `<a href="/campaigns/">Campaigns</a>`) {
		t.Errorf("index has no link to the page")
	}
	w := get(t, s, "/campaigns/c1")
	body := w.Body.String()
	want := `<a class="camprun" href="/run/campaigns/c1/` + camp.rel() + `">invalid campaigns/c1/` + camp.rel() + `</a>`
	if w.Code != 200 || !strings.Contains(body, want) || !strings.Contains(body, `<link rel="stylesheet" href="/static/style.css">`) ||
		!strings.Contains(body, `<a href="/campaigns/" class="current" aria-current="page">Campaigns</a>`) {
		t.Errorf("campaign page: %d\n%s", w.Code, body)
	}
	// The run page works at any depth.
	if w := get(t, s, "/run/campaigns/c1/"+camp.rel()); w.Code != 200 || !strings.Contains(w.Body.String(), `id="verdict-badge">invalid<`) {
		t.Errorf("campaign run page: %d", w.Code)
	}
	if w := get(t, s, "/campaigns/c1/x"); w.Code != 404 || !strings.Contains(w.Body.String(), "no such campaign") {
		t.Errorf("page error: %d", w.Code)
	}
	if w := get(t, s, "/campaigns/%2e%2e/x"); w.Code != 400 {
		t.Errorf("page path checked: %d, want 400", w.Code)
	}

	// A page that names its run directories has their runs listed in the
	// index, labelled; a directory that is gone is skipped.
	campaigns.RunDirs = func(v *View) []RunDir {
		ids, err := v.Dirs("campaigns")
		if err != nil || len(ids) != 1 || ids[0] != "c1" {
			t.Errorf("Dirs(campaigns) = %v, %v; want [c1]", ids, err)
		}
		return []RunDir{{Dir: "campaigns/c1", Label: "campaign c1", Href: "/campaigns/c1"}, {Dir: "campaigns/gone", Label: "gone"}}
	}
	s = newServer(t, dir, Options{Pages: []Page{campaigns}})
	idx = get(t, s, "/").Body.String()
	if rows := indexRows(t, idx); len(rows) != 2 || rows[0].Path != "campaigns/c1/"+camp.rel() || rows[1].Path != main.rel() {
		t.Errorf("index rows %v: want the campaign's run, then the root's", rows)
	}
	if !strings.Contains(idx, `<a class="tag group" href="/campaigns/c1">campaign c1</a>`) || strings.Count(idx, `class="tag group"`) != 1 {
		t.Errorf("the campaign run is not labelled with its campaign (and only it):\n%s", idx)
	}

	for _, bad := range []Page{
		{Slug: "run", Title: "x", Serve: campaigns.Serve},
		{Slug: "file", Title: "x", Serve: campaigns.Serve},
		{Slug: "a/b", Title: "x", Serve: campaigns.Serve},
		{Slug: "", Title: "x", Serve: campaigns.Serve},
		{Slug: "ok", Title: "x"},
	} {
		if _, err := New(Options{Results: dir, Pages: []Page{bad}}); err == nil {
			t.Errorf("New accepted page %+v", bad.Slug)
		}
	}
	if _, err := New(Options{Results: dir, Pages: []Page{campaigns, campaigns}}); err == nil {
		t.Error("New accepted a page registered twice")
	}
}

// Errors name the problem, as HTML a person reads, with the same headers.
func TestErrorPages(t *testing.T) {
	s := newServer(t, t.TempDir(), Options{})
	w := get(t, s, "/run/register/missing")
	if w.Code != 404 || !strings.Contains(w.Body.String(), "register/missing") || w.Header().Get("Content-Security-Policy") != pageCSP ||
		w.Header().Get("X-Content-Type-Options") != "nosniff" || w.Header().Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("error page: %d %v\n%s", w.Code, w.Header(), w.Body)
	}
	// An error page never shows the absolute path of a refused link's target.
	if strings.Contains(w.Body.String(), s.Dir()) {
		t.Errorf("error page shows the results directory's absolute path")
	}
}
