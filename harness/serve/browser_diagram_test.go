package serve

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/splitbrain/splitbrain/harness"
	"github.com/splitbrain/splitbrain/model"
)

// scriptPayload runs script wherever it is taken for HTML: an image that
// fails to load, whose handler marks the page.
const scriptPayload = `<img src=x onerror="window.__xss=(window.__xss||0)+1;document.title='script ran'">`

// payloadJSONL is a history in our format that is not linearizable and
// whose values, node names and error text are the payload: a write and a
// read of it, an indeterminate write of another payload whose error is a
// payload (kept: a later read sees its value), and a stale read.
func payloadJSONL() string {
	p := strconv.Quote(scriptPayload)
	p2 := strconv.Quote(scriptPayload + "2")
	lines := []string{
		`{"index":0,"time":0,"type":"invoke","process":0,"f":"write","key":"k","value":` + p + `}`,
		`{"index":1,"time":1000000,"type":"ok","process":0,"f":"write","key":"k","value":` + p + `,"node":` + p + `}`,
		`{"index":2,"time":2000000,"type":"invoke","process":1,"f":"read","key":"k"}`,
		`{"index":3,"time":3000000,"type":"ok","process":1,"f":"read","key":"k","value":` + p + `,"node":` + p + `}`,
		`{"index":4,"time":4000000,"type":"invoke","process":2,"f":"write","key":"k","value":` + p2 + `}`,
		`{"index":5,"time":5000000,"type":"info","process":2,"f":"write","key":"k","value":` + p2 + `,"error":` + p + `}`,
		`{"index":6,"time":6000000,"type":"invoke","process":1,"f":"read","key":"k"}`,
		`{"index":7,"time":7000000,"type":"ok","process":1,"f":"read","key":"k","value":` + p2 + `}`,
		`{"index":8,"time":8000000,"type":"invoke","process":0,"f":"write","key":"k","value":"3"}`,
		`{"index":9,"time":9000000,"type":"ok","process":0,"f":"write","key":"k","value":"3"}`,
		`{"index":10,"time":10000000,"type":"invoke","process":1,"f":"read","key":"k"}`,
		`{"index":11,"time":11000000,"type":"ok","process":1,"f":"read","key":"k","value":` + p + `}`,
	}
	return strings.Join(lines, "\n") + "\n"
}

// payloadEDN is the same history as Jepsen writes it (single register,
// no nodes).
func payloadEDN() string {
	p := strconv.Quote(scriptPayload) // EDN strings escape like Go's here
	p2 := strconv.Quote(scriptPayload + "2")
	lines := []string{
		`{:index 0, :type :invoke, :process 0, :f :write, :value ` + p + `}`,
		`{:index 1, :type :ok, :process 0, :f :write, :value ` + p + `}`,
		`{:index 2, :type :invoke, :process 1, :f :read, :value nil}`,
		`{:index 3, :type :ok, :process 1, :f :read, :value ` + p + `}`,
		`{:index 4, :type :invoke, :process 2, :f :write, :value ` + p2 + `}`,
		`{:index 5, :type :info, :process 2, :f :write, :value ` + p2 + `, :error ` + p + `}`,
		`{:index 6, :type :invoke, :process 1, :f :read, :value nil}`,
		`{:index 7, :type :ok, :process 1, :f :read, :value ` + p2 + `}`,
		`{:index 8, :type :invoke, :process 0, :f :write, :value "3"}`,
		`{:index 9, :type :ok, :process 0, :f :write, :value "3"}`,
		`{:index 10, :type :invoke, :process 1, :f :read, :value nil}`,
		`{:index 11, :type :ok, :process 1, :f :read, :value ` + p + `}`,
	}
	return strings.Join(lines, "\n") + "\n"
}

// TestBrowserDiagramRunsNoScript checks histories whose values and error
// texts are an HTML payload (from JSONL and from EDN), opens porcupine's
// diagram of each in headless Chromium — through serve and as a file —
// hovers every operation with the mouse, and asserts that the payload's
// handler never ran and that the tooltips show it as text.
func TestBrowserDiagramRunsNoScript(t *testing.T) {
	needChromium(t)
	dir := t.TempDir()
	var runs []string // run directories, relative to dir
	for _, h := range []struct{ name, text string }{{"history.jsonl", payloadJSONL()}, {"history.edn", payloadEDN()}} {
		name, text := h.name, h.text
		src := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(src, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := harness.Check(context.Background(), src, harness.CheckOptions{Results: dir})
		if err != nil {
			t.Fatalf("checking %s: %v", name, err)
		}
		lin := out.Results.Linearizability
		if out.Results.Valid != model.Invalid || lin.HTML == "" {
			t.Fatalf("%s: verdict %v, diagram %q; the payload history must fail and be drawn", name, out.Results.Valid, lin.HTML)
		}
		rel, err := filepath.Rel(dir, filepath.Join(out.Dir, lin.HTML))
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, filepath.ToSlash(rel))
	}
	base := startServer(t, newServer(t, dir, Options{Hosts: LoopbackHosts}))
	ctx := startBrowser(t)
	for _, rel := range runs {
		for _, u := range []string{base + FileURL(rel), (&url.URL{Scheme: "file", Path: filepath.Join(dir, rel)}).String()} {
			t.Run(u, func(t *testing.T) { hoverDiagram(t, ctx, u) })
		}
	}
}

// hoverDiagram opens porcupine's diagram at u, moves the mouse over every
// operation and annotation, and checks that no script of the payload ran
// and that the payload shows as text in some tooltip.
func hoverDiagram(t *testing.T, ctx context.Context, u string) {
	if err := chromedp.Do(ctx, chromedp.Navigate(u), chromedp.WaitReady(chromedp.CSS("#canvas svg .target-rect"))); err != nil {
		t.Fatalf("opening the diagram: %v", err)
	}
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(".target-rect").length`))
	if err != nil || n < 6 {
		t.Fatalf("%d operation boxes (%v), want the history's 6 or more", n, err)
	}
	type box struct{ X, Y float64 }
	shown := false
	for i := 0; i < n; i++ {
		b, err := chromedp.Run(ctx, chromedp.Evaluate[box](fmt.Sprintf(`(() => {
			const r = document.querySelectorAll(".target-rect")[%d];
			r.scrollIntoView({block: "center", inline: "center"});
			const b = r.getBoundingClientRect();
			return {X: b.left + b.width / 2, Y: b.top + b.height / 2};
		})()`, i)))
		if err != nil {
			t.Fatal(err)
		}
		// A real pointer: move off, then onto the box (mouseover, then
		// mousemove, which fills the tooltip).
		if err := chromedp.Do(ctx, chromedp.MouseEvent(chromedp.MouseMoved, 1, 1),
			chromedp.MouseEvent(chromedp.MouseMoved, b.X-1, b.Y),
			chromedp.MouseEvent(chromedp.MouseMoved, b.X, b.Y)); err != nil {
			t.Fatal(err)
		}
		type tip struct {
			Text, Display string
			Images        int
		}
		tp, err := chromedp.Run(ctx, chromedp.Evaluate[tip](`(() => {
			const t = document.querySelector(".tooltip");
			return {Text: t.textContent, Display: t.style.display, Images: t.querySelectorAll("img").length};
		})()`))
		if err != nil {
			t.Fatal(err)
		}
		if tp.Display != "block" || tp.Text == "" {
			t.Errorf("box %d: the mouse over it shows no tooltip (display %q, text %q)", i, tp.Display, tp.Text)
		}
		if tp.Images > 0 {
			t.Errorf("box %d: the tooltip holds %d img elements: the payload was parsed as HTML (%q)", i, tp.Images, tp.Text)
		}
		shown = shown || strings.Contains(tp.Text, `<img src=x onerror=`)
	}
	// Give a failed image load its moment to call the handler.
	chromedp.Do(ctx, chromedp.Sleep(300*time.Millisecond))
	type marks struct {
		XSS   any
		Title string
	}
	m, err := chromedp.Run(ctx, chromedp.Evaluate[marks](`({XSS: window.__xss ?? null, Title: document.title})`))
	if err != nil {
		t.Fatal(err)
	}
	if m.XSS != nil || m.Title != "Porcupine" {
		t.Errorf("the payload's script ran: window.__xss = %v, title %q", m.XSS, m.Title)
	}
	if !shown {
		t.Error("no tooltip shows the payload as text")
	}
}
