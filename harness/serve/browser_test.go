package serve

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's Chromium (apt-get install chromium; .ci/setup
// installs it).
const chromiumPath = "/usr/bin/chromium"

// Verdict colours the stylesheet gives the badges, as getComputedStyle
// reports them.
var badgeColours = map[string]string{
	VerdictValid:   "rgb(26, 127, 55)",
	VerdictInvalid: "rgb(207, 34, 46)",
}

// TestBrowser drives headless Chromium through the UI: the index shows the
// valid and the invalid run with their colours, the invalid run's page
// shows the explanation of its first anomaly and both plots (loaded, not
// broken images), the copy button copies the repro command, and nothing
// on the way is refused by the Content Security Policy or throws. It saves
// screenshots of the index and of the invalid run's page in the test's
// temporary directory (and in $SPLITBRAIN_SCREENSHOT_DIR when set).
func TestBrowser(t *testing.T) {
	needChromium(t)
	f := runFixture(t)
	base := startServer(t, newServer(t, f.Dir, Options{Hosts: LoopbackHosts}))
	validRel, invalidRel := f.rel(t, f.Valid), f.rel(t, f.Invalid)

	ctx := startBrowser(t)

	// The index: both runs, each with its verdict's class, text and colour.
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("table.runs"))); err != nil {
		t.Fatalf("index: %v", err)
	}
	type row struct {
		Path, Verdict, Class, Badge, Colour, Border string
	}
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[[]row](`Array.from(document.querySelectorAll("tr.run")).map(r => {
		const b = r.querySelector(".badge");
		return {Path: r.dataset.path, Verdict: r.dataset.verdict, Class: r.className, Badge: b.textContent.trim(),
			Colour: getComputedStyle(b).backgroundColor, Border: getComputedStyle(r.cells[0]).borderLeftColor};
	})`))
	if err != nil {
		t.Fatalf("reading the index: %v", err)
	}
	want := map[string]string{validRel: VerdictValid, invalidRel: VerdictInvalid}
	if len(rows) != len(want) {
		t.Fatalf("index lists %d runs, want %d: %+v", len(rows), len(want), rows)
	}
	for _, r := range rows {
		v, ok := want[r.Path]
		if !ok {
			t.Errorf("index lists %q, which is not a fixture run", r.Path)
			continue
		}
		if r.Verdict != v || r.Badge != v || !strings.Contains(r.Class, "v-"+v) {
			t.Errorf("run %s: verdict %q, badge %q, class %q; want %s", r.Path, r.Verdict, r.Badge, r.Class, v)
		}
		if r.Colour != badgeColours[v] || r.Border != badgeColours[v] {
			t.Errorf("run %s (%s): badge colour %s, row border %s; want %s (is the stylesheet loading?)", r.Path, v, r.Colour, r.Border, badgeColours[v])
		}
	}
	shot(t, ctx, "index.png")

	// Open the invalid run from the index, as a person would.
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(`tr.v-invalid td.name a`)))
	if err != nil {
		t.Fatalf("opening the invalid run: %v", err)
	}
	if resp.Status != 200 {
		t.Fatalf("invalid run page: HTTP %d", resp.Status)
	}
	loc, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname`))
	if err != nil || loc != RunURL(invalidRel) {
		t.Fatalf("clicked through to %q (%v), want %q", loc, err, RunURL(invalidRel))
	}

	// The explanation of the first anomaly, as results.json has it.
	explanation, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.ID("explanation")))
	if err != nil {
		t.Fatalf("no explanation on the invalid run's page: %v", err)
	}
	lin := f.Invalid.Results.Linearizability
	if lin.Explanation == "" {
		t.Fatal("the fixture's invalid run has no explanation in results.json")
	}
	if strings.Join(strings.Fields(explanation), " ") != strings.Join(strings.Fields(lin.Explanation), " ") {
		t.Errorf("explanation on the page:\n%s\nwant (results.json):\n%s", explanation, lin.Explanation)
	}
	title, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(".finding .ftitle")))
	if err != nil || !strings.Contains(title, lin.Anomaly) || !strings.Contains(title, lin.FirstFailingKey) {
		t.Errorf("first finding's title %q (%v), want the anomaly %q on key %q", title, err, lin.Anomaly, lin.FirstFailingKey)
	}

	// The plots, loaded: naturalWidth > 0 only for an image that decoded.
	type img struct {
		Src      string
		Complete bool
		Width    int
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`(() => {
		const imgs = Array.from(document.querySelectorAll("img.plot"));
		return imgs.length >= 2 && imgs.every(i => i.complete);
	})()`, chromedp.WithPollingTimeout(0))); err != nil {
		t.Fatalf("plots did not finish loading: %v", err)
	}
	imgs, err := chromedp.Run(ctx, chromedp.Evaluate[[]img](`Array.from(document.querySelectorAll("img.plot")).map(i => ({Src: i.getAttribute("src"), Complete: i.complete, Width: i.naturalWidth}))`))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, i := range imgs {
		if i.Width <= 0 {
			t.Errorf("plot %s did not load (naturalWidth %d)", i.Src, i.Width)
		}
		seen[filepath.Base(i.Src)] = true
	}
	for _, p := range []string{"latency.png", "rate.png"} {
		if !seen[p] {
			t.Errorf("the page shows no %s (images: %+v)", p, imgs)
		}
	}

	// The porcupine diagram and the timeline are framed, and load. The
	// frames are lazy: a viewport as tall as the page brings them in (and
	// lets the screenshot show them).
	frames, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("iframe.artifact")).map(f => f.getAttribute("src"))`))
	if err != nil {
		t.Fatal(err)
	}
	wantFrames := []string{FileURL(invalidRel + "/linearizability.html"), FileURL(invalidRel + "/timeline.html")}
	if strings.Join(frames, " ") != strings.Join(wantFrames, " ") {
		t.Errorf("frames %v, want %v", frames, wantFrames)
	}
	height, err := chromedp.Run(ctx, chromedp.Evaluate[int64](`document.documentElement.scrollHeight`))
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, height)); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`performance.getEntriesByType("resource").filter(e => e.initiatorType === "iframe" && e.responseEnd > 0).length >= 2`,
		chromedp.WithPollingTimeout(0))); err != nil {
		t.Errorf("the linearizability diagram and the timeline did not load in their frames: %v", err)
	}

	// The copy button copies the repro command. The clipboard is stubbed:
	// a headless browser without focus may refuse the real one. The
	// button says "Copied" for a while; an observer records every label
	// it shows, so that a slow machine cannot miss it.
	copied, err := chromedp.Run(ctx, chromedp.Evaluate[string](`new Promise(resolve => {
		const btn = document.querySelector("button[data-copy=repro-cmd]");
		window.__labels = [];
		new MutationObserver(() => window.__labels.push(btn.textContent)).observe(btn, {childList: true, characterData: true, subtree: true});
		navigator.clipboard.writeText = text => { resolve(text); return Promise.resolve(); };
		btn.click();
	})`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("copy button: %v", err)
	}
	if copied != f.Invalid.Results.Repro {
		t.Errorf("copy button copied %q, want the repro command %q", copied, f.Invalid.Results.Repro)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`window.__labels.includes("Copied")`,
		chromedp.WithPollingTimeout(0))); err != nil {
		t.Errorf("the copy button does not say it copied: %v", err)
	}

	// Give the frames a moment to paint, then take the screenshot.
	chromedp.Do(ctx, chromedp.Sleep(time.Second))
	shot(t, ctx, "invalid-run.png")

}

// needChromium skips the test when Chromium is not installed.
func needChromium(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("skipping the browser test: Chromium is not installed at %s (apt-get install chromium, or run .ci/setup as root)", chromiumPath)
	}
}

// startBrowser starts headless Chromium for the test and returns the
// context of its tab. Its steps and polls have no wall-clock bound of
// their own (a slow machine only makes them slower; a page that never
// gets there is a hang, which go test's -timeout reports). Until the test ends it
// collects the console; then it logs it and fails the test on every
// exception, console error and Content Security Policy refusal.
func startBrowser(t *testing.T) context.Context {
	t.Helper()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	t.Cleanup(cancelAlloc)
	tab, cancelTab := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf))
	t.Cleanup(cancelTab)
	ctx, cancel := context.WithCancel(tab)
	t.Cleanup(cancel)

	// Start the browser, then collect the console: exceptions, CSP
	// refusals, failed loads.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	var mu sync.Mutex
	var console []chromedp.ConsoleMessage
	consoleCtx, stopConsole := context.WithCancel(ctx)
	var consoleDone sync.WaitGroup
	consoleDone.Add(1)
	messages := chromedp.Console(consoleCtx)
	go func() {
		defer consoleDone.Done()
		for m, err := range messages {
			if err != nil {
				return
			}
			mu.Lock()
			console = append(console, m)
			mu.Unlock()
		}
	}()
	// Report the console last (cleanups run in reverse), also when the
	// test stops early: what the browser refused or threw is often why.
	t.Cleanup(func() {
		stopConsole()
		consoleDone.Wait()
		mu.Lock()
		defer mu.Unlock()
		for _, m := range console {
			t.Logf("console: %s (%s)", m, m.URL)
			if m.IsException() || m.Type == chromedp.ConsoleError || strings.Contains(m.Text, "Content Security Policy") {
				t.Errorf("browser console: %s (at %s)", m, m.URL)
			}
		}
	})
	return ctx
}

// shot saves a screenshot of the whole page in the test's temporary
// directory, and in $SPLITBRAIN_SCREENSHOT_DIR when that is set. It grows
// the viewport to the page's height rather than asking for a screenshot
// beyond the viewport, which leaves out-of-process frames blank.
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	height, err := chromedp.Run(ctx, chromedp.Evaluate[int64](`document.documentElement.scrollHeight`))
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, height)); err != nil {
		t.Fatal(err)
	}
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900))
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", p)
	if dir := os.Getenv("SPLITBRAIN_SCREENSHOT_DIR"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", filepath.Join(dir, name))
	}
}
