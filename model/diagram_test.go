package model

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/splitbrain/splitbrain/harness/history"
)

// payload is a value that runs script wherever it is taken for HTML.
const payload = `<img src=x onerror="window.__xss=1">`

// readDiagram parses a diagram file this package wrote.
func readDiagram(t *testing.T, path string) (*diagramPage, string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := parseDiagram(b)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return p, string(b)
}

// payloadHistory is not linearizable, and its values, a node name and an
// error text are the payload: a write of it, a read of it, an
// indeterminate write of another payload whose error text is a payload
// too (kept: a read sees its value), then a stale read of the first.
func payloadHistory() []history.Event {
	b := newBuilder()
	b.nodes[1] = payload
	b.write(0, k, payload).read(1, k, v(payload))
	b.inv(2, history.FWrite, k, v(payload+"2"))
	b.events[len(b.events)-1].Node = payload
	b.add(history.Event{Type: history.Info, Process: 2, F: history.FWrite, Key: k, Value: v(payload + "2"), Error: payload})
	delete(b.open, 2)
	b.read(1, k, v(payload+"2")).write(0, k, "3").read(1, k, v(payload))
	return b.events
}

// TestDiagramEscapesInnerHTMLText: what porcupine's page puts into
// innerHTML (state descriptions, operation metadata with node names and
// error texts) is escaped; what it sets as textContent (descriptions) is
// not, so that it shows as written.
func TestDiagramEscapesInnerHTMLText(t *testing.T) {
	path := filepath.Join(t.TempDir(), "linearizability.html")
	res := check(t, payloadHistory(), Options{HTMLPath: path})
	if res.Valid != Invalid || res.HTML == "" {
		t.Fatalf("valid %v, HTML %q: the payload history must fail and be drawn", res.Valid, res.HTML)
	}
	page, raw := readDiagram(t, path)
	if strings.Contains(raw, "<img") {
		t.Errorf("the page holds a raw <img tag: the data must be JSON-escaped inside its script")
	}
	escaped := escapeHTML(payload)
	var states, metas, descs int
	for _, part := range page.Data.Partitions {
		for _, o := range part.History {
			if strings.ContainsAny(o.Metadata, `<>"`) {
				t.Errorf("metadata %q reaches innerHTML unescaped", o.Metadata)
			}
			if strings.Contains(o.Metadata, escaped) {
				metas++
			}
			if strings.Contains(o.Description, "<img src=x") {
				descs++
			}
			if strings.Contains(o.Description, "&lt;") {
				t.Errorf("description %q is escaped, but porcupine shows it as text: it would read &lt;", o.Description)
			}
		}
		for _, lin := range part.PartialLinearizations {
			for _, s := range lin {
				if strings.ContainsAny(s.StateDescription, "<>") {
					t.Errorf("state %q reaches innerHTML unescaped", s.StateDescription)
				}
				if strings.Contains(s.StateDescription, "&lt;img src=x") {
					states++
				}
			}
		}
	}
	// The node (on processes 1 and 2) and the error text (process 2) are
	// in the metadata of the reads and the indeterminate write.
	if metas < 3 || states == 0 || descs == 0 {
		t.Errorf("payload found escaped in %d metadata, %d states, raw in %d descriptions; want ≥3, ≥1, ≥1 (did the history change?)", metas, states, descs)
	}
}

// TestDiagramModelEscapes: diagramModel escapes the two descriptions and
// leaves the rest of the model alone.
func TestDiagramModelEscapes(t *testing.T) {
	h, err := newKVHistory(payloadHistory(), nil)
	if err != nil {
		t.Fatal(err)
	}
	m := kvModel(h.values, h.initial)
	dm := diagramModel(m)
	ops := h.operations(k)
	var info *op
	for _, o := range ops {
		if x := o.Metadata.(*op); x.comp != nil && x.comp.Error != "" {
			info = x
		}
	}
	if info == nil {
		t.Fatal("no operation with an error in the payload history")
	}
	if got, want := dm.DescribeOperationMetadata(info), escapeHTML(m.DescribeOperationMetadata(info)); got != want {
		t.Errorf("metadata %q, want %q", got, want)
	}
	state := m.Init()
	_, state = m.Step(state, ops[0].Input, ops[0].Output)
	if got := dm.DescribeState(state); got != escapeHTML(strconv.Quote(payload)) {
		t.Errorf("state %q, want the quoted payload escaped", got)
	}
	if got, want := dm.DescribeOperation(ops[0].Input, ops[0].Output), m.DescribeOperation(ops[0].Input, ops[0].Output); got != want {
		t.Errorf("description %q changed to %q: it is shown as text", want, got)
	}
}

func escapeHTML(s string) string {
	r := strings.NewReplacer("&", "&amp;", "'", "&#39;", "<", "&lt;", ">", "&gt;", `"`, "&#34;")
	return r.Replace(s)
}

// longHistory is one key written and read by 4 processes for n rounds,
// with a stale read in round bad and a partition over rounds 10–20.
func longHistory(n, bad int) []history.Event {
	b := newBuilder()
	for r := 0; r < n; r++ {
		if r == 10 {
			b.nemesis(history.FaultPartition, "halves [n1 n2] [n3]")
		}
		if r == 20 {
			b.nemesis(history.FaultHeal, "")
		}
		val := fmt.Sprint(r)
		b.inv(0, history.FWrite, k, v(val)).inv(1, history.FRead, k).ok(0).okRead(1, v(val))
		seen := val
		if r == bad {
			seen = fmt.Sprint(r - 1)
		}
		b.inv(2, history.FRead, k).inv(3, history.FRead, k).okRead(2, v(val)).okRead(3, v(seen))
	}
	b.write(0, "other", "1").read(1, "other", v("0"))
	return b.events
}

// TestDiagramWindow: a long failing history gets a window around the
// stale read, a full diagram next to it, and the window's longest
// linearizable order ends in the state the full one does.
func TestDiagramWindow(t *testing.T) {
	const rounds, bad = 300, 150
	dir := t.TempDir()
	path := filepath.Join(dir, "linearizability.html")
	res := check(t, longHistory(rounds, bad), Options{HTMLPath: path})
	if res.Valid != Invalid || res.FailingKeys != 2 {
		t.Fatalf("valid %v, %d failing keys; want invalid, 2", res.Valid, res.FailingKeys)
	}
	if res.HTML != "linearizability.html" || res.HTMLFull != "linearizability-full.html" {
		t.Fatalf("HTML %q, HTMLFull %q", res.HTML, res.HTMLFull)
	}
	win, winRaw := readDiagram(t, path)
	full, fullRaw := readDiagram(t, filepath.Join(dir, res.HTMLFull))

	if len(full.Data.Partitions) != 2 || len(win.Data.Partitions) != 1 {
		t.Fatalf("partitions: full %d, window %d; want 2 (every failing key) and 1", len(full.Data.Partitions), len(win.Data.Partitions))
	}
	fp, wp := full.Data.Partitions[0], win.Data.Partitions[0]
	if len(fp.History) != 4*rounds {
		t.Fatalf("full diagram of key %s has %d operations, want %d", k, len(fp.History), 4*rounds)
	}
	if n := len(wp.History); n < windowBefore || n > 4*(windowBefore+windowAfter) {
		t.Errorf("window holds %d operations; want a window of about %d steps", n, windowBefore+windowAfter)
	}
	// The stale read (round bad, process 3) is in the window.
	found := false
	for _, o := range wp.History {
		found = found || o.ClientId == 3 && strings.Contains(o.Description, fmt.Sprintf(`read → "%d"`, bad-1))
	}
	if !found {
		t.Errorf("the stale read of round %d is not in the window", bad)
	}
	// The longest order is drawn, cut to the window, with porcupine's
	// states.
	fl, wl := fp.PartialLinearizations[0], wp.PartialLinearizations[0]
	if len(wl) == 0 || fl[len(fl)-1].StateDescription != wl[len(wl)-1].StateDescription {
		t.Errorf("window's longest order ends in %v, full one in %v", wl[len(wl)-1:], fl[len(fl)-1])
	}
	for _, lin := range wp.PartialLinearizations {
		for _, s := range lin {
			if s.Index < 0 || s.Index >= len(wp.History) {
				t.Fatalf("step index %d outside the window's %d operations", s.Index, len(wp.History))
			}
		}
	}
	for i, li := range wp.Largest {
		if i < 0 || i >= len(wp.History) || li < 0 || li >= len(wp.PartialLinearizations) {
			t.Errorf("Largest[%d] = %d is out of range", i, li)
		}
	}
	// The partition over rounds 10–20 is long before the window; the
	// window has no annotation outside its span.
	for _, a := range win.Data.Annotations {
		t.Errorf("annotation %q in a window far from every fault", a.Description)
	}
	if len(full.Data.Annotations) != 1 {
		t.Errorf("full diagram has %d annotations, want the partition", len(full.Data.Annotations))
	}
	// The window links the full diagram; both keep the row labels.
	if !strings.Contains(winRaw, `href="linearizability-full.html"`) {
		t.Error("the window does not link the full diagram")
	}
	for name, raw := range map[string]string{"window": winRaw, "full": fullRaw} {
		if !strings.Contains(raw, "stickyLabels") || !strings.Contains(raw, `id="sb-note"`) {
			t.Errorf("%s page lacks the sticky row labels or the note", name)
		}
	}
}

// TestDiagramWindowKeepsNearbyFaults: a fault window during the stale
// read is drawn in the window, cut to its span.
func TestDiagramWindowKeepsNearbyFaults(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "l.html")
	res := check(t, longHistory(300, 15), Options{HTMLPath: path})
	if res.HTMLFull == "" {
		t.Fatal("no full diagram for a long history")
	}
	win, _ := readDiagram(t, path)
	if len(win.Data.Annotations) != 1 || !strings.HasPrefix(win.Data.Annotations[0].Description, "partition") {
		t.Fatalf("window annotations %+v, want the partition", win.Data.Annotations)
	}
	a, ops := win.Data.Annotations[0], win.Data.Partitions[0].History
	lo, hi := ops[0].Start, ops[0].Start
	for _, o := range ops {
		lo, hi = min(lo, o.Start), max(hi, o.Start)
	}
	if a.Start < lo || a.End > hi {
		t.Errorf("annotation spans %d–%d, outside the window's starts %d–%d", a.Start, a.End, lo, hi)
	}
}

// TestDiagramSmallIsOneFile: when the window is all of it, there is one
// file and no link.
func TestDiagramSmallIsOneFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "linearizability.html")
	res := check(t, newBuilder().write(0, k, "1").write(0, k, "2").read(1, k, v("1")).events, Options{HTMLPath: path})
	if res.HTML == "" || res.HTMLFull != "" {
		t.Fatalf("HTML %q, HTMLFull %q; want one file", res.HTML, res.HTMLFull)
	}
	if _, err := os.Stat(fullDiagramPath(path)); !os.IsNotExist(err) {
		t.Errorf("a full diagram was written for a small history (stat: %v)", err)
	}
	_, raw := readDiagram(t, path)
	if strings.Contains(raw, "-full.html") || !strings.Contains(raw, "stickyLabels") {
		t.Error("the single diagram links a full one, or lacks the sticky labels")
	}
}

// TestParseDiagramRefusesUnknownData: data porcupine may add in a later
// version is refused rather than dropped.
func TestParseDiagramRefusesUnknownData(t *testing.T) {
	page := "<head></head><div id=\"canvas\"></div><script>const data = {\"Partitions\":[],\"Annotations\":[],\"New\":1}\n\n render(data)\n</script>"
	if _, err := parseDiagram([]byte(page)); err == nil {
		t.Fatal("a field porcupine v1.3 does not have was accepted")
	}
	page = strings.Replace(page, `,"New":1`, "", 1)
	if _, err := parseDiagram([]byte(page)); err != nil {
		t.Fatalf("a page with porcupine v1.3's layout: %v", err)
	}
}
