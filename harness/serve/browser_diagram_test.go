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
	type run struct{ name, rel string } // a payload history and its diagram, relative to dir
	var runs []run
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
		runs = append(runs, run{name, filepath.ToSlash(rel)})
	}
	base := startServer(t, newServer(t, dir, Options{Hosts: LoopbackHosts}))
	ctx := startBrowser(t)
	for _, r := range runs {
		// Subtests named by history and route, not by URL: the same
		// names on every run (the URLs hold temp dirs and ports).
		for _, route := range []struct{ name, url string }{
			{"serve", base + FileURL(r.rel)},
			{"file", (&url.URL{Scheme: "file", Path: filepath.Join(dir, r.rel)}).String()},
		} {
			t.Run(r.name+"/"+route.name, func(t *testing.T) { hoverDiagram(t, ctx, route.url) })
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

// TestBrowserDiagramWindow opens the fixture's failing run: its diagram
// is a window of a few screens around the first operation that cannot be
// placed, opened on it, it links the whole diagram (as does the run
// page), and on the
// whole diagram, after "jump to first error" has scrolled far to the
// right, every row label is still on screen. It saves screenshots of both
// (diagram-window.png, diagram-full-jumped.png) like TestBrowser.
func TestBrowserDiagramWindow(t *testing.T) {
	needChromium(t)
	f := runFixture(t)
	lin := f.Invalid.Results.Linearizability
	if lin.HTML == "" || lin.HTMLFull == "" {
		t.Fatalf("the fixture's invalid run has diagrams %q and %q; want a window and the whole", lin.HTML, lin.HTMLFull)
	}
	base := startServer(t, newServer(t, f.Dir, Options{Hosts: LoopbackHosts}))
	rel := f.rel(t, f.Invalid)
	windowURL, fullURL := FileURL(rel+"/"+lin.HTML), FileURL(rel+"/"+lin.HTMLFull)
	ctx := startBrowser(t)

	// The run page links the whole diagram beside the framed window.
	if err := chromedp.Do(ctx, chromedp.Navigate(base+RunURL(rel)), chromedp.WaitReady(chromedp.ID("linearizability"))); err != nil {
		t.Fatal(err)
	}
	if href, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#linear-full").getAttribute("href")`)); err != nil || href != fullURL {
		t.Errorf("the run page links the whole diagram as %q (%v), want %q", href, err, fullURL)
	}

	type page struct {
		Width         float64
		Ops           int
		Note, FullRef string
	}
	open := func(u string) page {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Navigate(base+u), chromedp.WaitReady(chromedp.CSS("#canvas svg .target-rect"))); err != nil {
			t.Fatalf("opening %s: %v", u, err)
		}
		p, err := chromedp.Run(ctx, chromedp.Evaluate[page](`(() => {
			const a = document.querySelector("#sb-full");
			return {Width: document.querySelector("#canvas svg").width.baseVal.value,
				Ops: document.querySelectorAll(".target-rect").length,
				Note: (document.querySelector("#sb-note") || {}).textContent || "",
				FullRef: a ? a.getAttribute("href") : ""};
		})()`))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	win := open(windowURL)
	// It opens on the first illegal step: the red mark is on screen.
	red, err := chromedp.Run(ctx, chromedp.Poll[[]float64](`document.readyState === "complete" &&
		Array.from(document.querySelectorAll("line.linearization-invalid.linearization-point"))
			.filter(p => !p.parentElement.classList.contains("hidden"))
			.map(p => p.getBoundingClientRect().left)`, chromedp.WithPollingTimeout(0)))
	if err != nil || len(red) == 0 {
		t.Fatalf("no illegal step drawn in the window (%v)", err)
	}
	if x := red[0]; x < 0 || x > 1280 {
		t.Errorf("the window opens with its first illegal step at x=%.0f, off screen", x)
	}
	viewShot(t, ctx, "diagram-window.png")
	full := open(fullURL)
	t.Logf("window: %.0f px, %d boxes; whole: %.0f px, %d boxes", win.Width, win.Ops, full.Width, full.Ops)
	if win.FullRef != lin.HTMLFull || !strings.Contains(win.Note, "Key "+lin.FirstFailingKey) {
		t.Errorf("the window's note %q links %q; want it to name key %s and link %s", win.Note, win.FullRef, lin.FirstFailingKey, lin.HTMLFull)
	}
	if win.Width > 8*1280 || win.Width*4 > full.Width || win.Ops*4 > full.Ops {
		t.Errorf("the window is %.0f px wide with %d boxes, the whole %.0f px with %d: want a window of a few screens", win.Width, win.Ops, full.Width, full.Ops)
	}

	// The whole diagram: jump to the first error, wait for the smooth
	// scroll to end (the browser's scrollend event, not a quiet spell of
	// wall time), and find every row label in view.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__scrolled = new Promise(resolve =>
		document.addEventListener("scrollend", () => resolve(window.scrollX), {once: true})); true`)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("jump-link"))); err != nil {
		t.Fatal(err)
	}
	scrolled, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`window.__scrolled`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if scrolled < 1280 {
		t.Fatalf("jump to first error scrolled to x=%.0f; the test wants a diagram wider than a screen", scrolled)
	}
	type label struct {
		Text        string
		Left, Right float64
	}
	labels, err := chromedp.Run(ctx, chromedp.Evaluate[[]label](`Array.from(document.querySelectorAll("#canvas svg text[text-anchor=end]")).map(t => {
		const r = t.getBoundingClientRect();
		return {Text: t.textContent, Left: r.left, Right: r.right};
	})`))
	if err != nil {
		t.Fatal(err)
	}
	width, _ := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.documentElement.clientWidth`))
	texts := map[string]bool{}
	for _, l := range labels {
		texts[l.Text] = true
		if l.Left < 0 || l.Right > width {
			t.Errorf("after jumping to x=%.0f, row label %q is off screen (%.0f–%.0f of %.0f)", scrolled, l.Text, l.Left, l.Right, width)
		}
	}
	if !texts["0"] || !texts["faults"] {
		t.Errorf("row labels %v: want the clients' and the fault rows'", texts)
	}
	viewShot(t, ctx, "diagram-full-jumped.png")
}

// viewShot saves a screenshot of what the viewport shows now, as shot
// does, without resizing or scrolling it.
func viewShot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	dirs := []string{t.TempDir()}
	if d := os.Getenv("SPLITBRAIN_SCREENSHOT_DIR"); d != "" {
		dirs = append(dirs, d)
	}
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(d, name)
		if err := os.WriteFile(p, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", p)
	}
}
