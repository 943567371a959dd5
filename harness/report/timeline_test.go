package report

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/splitbrain/splitbrain/harness/history"
)

// writeTimeline writes a timeline to a temp file and returns its bytes.
func writeTimeline(t *testing.T, evs []history.Event, opts TimelineOptions) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "timeline.html")
	if err := WriteTimeline(path, evs, opts); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func parseHTML(t *testing.T, b []byte) *html.Node {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("timeline does not parse: %v", err)
	}
	return doc
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func hasClass(n *html.Node, c string) bool {
	for _, f := range strings.Fields(attr(n, "class")) {
		if f == c {
			return true
		}
	}
	return false
}

// find returns the element nodes under n (inclusive) that match.
func find(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && match(n) {
			out = append(out, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return out
}

func byClass(c string) func(*html.Node) bool {
	return func(n *html.Node) bool { return hasClass(n, c) }
}

func textOf(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}

// pageOf returns the .page section holding n.
func pageOf(n *html.Node) *html.Node {
	for ; n != nil; n = n.Parent {
		if n.Type == html.ElementNode && hasClass(n, "page") {
			return n
		}
	}
	return nil
}

func small() []history.Event {
	w := func(t int64, p int, v string) history.Event {
		e := inv(t, p, history.FWrite, "x")
		e.Value = history.Str(v)
		return e
	}
	wDone := func(t int64, p int, v string) history.Event {
		e := done(t, p, history.OK, history.FWrite, "x")
		e.Value = history.Str(v)
		return e
	}
	rDone := done(7e6, 1, history.OK, history.FRead, "x")
	rDone.Value = history.Str("1")
	cas := inv(8e6, 2, history.FCAS, "y")
	cas.Prev, cas.Value = history.Str("3"), history.Str("4")
	casFail := cas
	casFail.Type, casFail.Time, casFail.Error = history.Fail, 9e6, "precondition failed"
	timeout := done(40e6, 0, history.Info, history.FWrite, "x")
	timeout.Value, timeout.Error = history.Str("2"), "timeout"
	return hist(
		w(1e6, 0, "1"),                  // 0
		wDone(3e6, 0, "1"),              // 1
		inv(4e6, 1, history.FRead, "x"), // 2
		nem(5e6, history.FaultPartition, "halves [n1] [n2 n3]"), // 3
		rDone,           // 4
		cas,             // 5
		casFail,         // 6
		w(10e6, 0, "2"), // 7
		nem(20e6, history.FaultNote, "look here"), // 8
		nem(30e6, history.FaultHeal, ""),          // 9
		timeout,                                   // 10
		inv(41e6, 3, history.FRead, "z"),          // 11, never completes
	)
}

func TestTimelineSmall(t *testing.T) {
	evs := small()
	doc := parseHTML(t, writeTimeline(t, evs, TimelineOptions{Title: "small", Focus: 6, Highlight: []int64{7, 9}}))
	ops := find(doc, byClass("op"))
	want := map[string]struct {
		class, label string
		hover        []string
	}{
		"op-0":  {"ok", "write x 1", []string{"process 0", `write "x" "1"`, "invoke  #0 at 0.001000 s", "#1 at 0.003000 s (latency 2.000 ms)", "node    n1"}},
		"op-2":  {"ok", "read x 1", []string{"process 1", "value   \"1\""}},
		"op-5":  {"fail", "cas y 3→4", []string{`cas "y" ["3" "4"]`, "error   precondition failed"}},
		"op-7":  {"info", "write x 2", []string{"error   timeout", "#10 at 0.040000 s"}},
		"op-11": {"info", "read z", []string{"never completed"}},
	}
	if len(ops) != len(want) {
		t.Fatalf("%d op boxes, want %d", len(ops), len(want))
	}
	for _, n := range ops {
		id := attr(n, "id")
		w, ok := want[id]
		if !ok {
			t.Errorf("unexpected op box %q", id)
			continue
		}
		if !hasClass(n, w.class) {
			t.Errorf("%s class %q, want %s", id, attr(n, "class"), w.class)
		}
		if got := textOf(n); got != w.label {
			t.Errorf("%s label %q, want %q", id, got, w.label)
		}
		for _, h := range w.hover {
			if !strings.Contains(attr(n, "title"), h) {
				t.Errorf("%s hover %q lacks %q", id, attr(n, "title"), h)
			}
		}
	}
	byID := map[string]*html.Node{}
	for _, n := range find(doc, func(n *html.Node) bool { return attr(n, "id") != "" }) {
		byID[attr(n, "id")] = n
	}
	if !hasClass(byID["op-5"], "focus") || !hasClass(byID["op-7"], "hl") || hasClass(byID["op-0"], "hl") {
		t.Errorf("focus/highlight classes wrong: op-5 %q, op-7 %q, op-0 %q",
			attr(byID["op-5"], "class"), attr(byID["op-7"], "class"), attr(byID["op-0"], "class"))
	}
	if !hasClass(byID["op-11"], "open") {
		t.Errorf("never-completed op is not marked open: %q", attr(byID["op-11"], "class"))
	}
	// The op box spans its invoke to its completion: rows 0..1 for op-0.
	if s := attr(byID["op-0"], "style"); s != "top:0px;height:34px" {
		t.Errorf("op-0 style %q", s)
	}

	// Faults: the partition window from #3 to #9, the note instant, a band
	// for the window across the process columns.
	part, note := byID["ev-3"], byID["ev-8"]
	if part == nil || note == nil {
		t.Fatalf("fault boxes missing: partition %v note %v", part, note)
	}
	if !strings.Contains(textOf(part), "partition halves [n1] [n2 n3]") || !strings.Contains(attr(part, "title"), "to   #9 at 0.030000 s") {
		t.Errorf("partition box %q / %q", textOf(part), attr(part, "title"))
	}
	if !hasClass(part, "hl") || hasClass(note, "hl") {
		t.Errorf("highlighting the heal (#9) should outline the partition only: %q, %q", attr(part, "class"), attr(note, "class"))
	}
	if !hasClass(note, "instant") {
		t.Errorf("note is not drawn as an instant: %q", attr(note, "class"))
	}
	if bands := find(doc, byClass("band")); len(bands) != 1 {
		t.Errorf("%d bands, want 1 (the partition)", len(bands))
	}
	// Rows are events in order, 18 px each: the partition spans rows 3..9.
	if s := attr(part, "style"); !strings.HasPrefix(s, "top:54px;height:124px;") {
		t.Errorf("partition style %q", s)
	}
	pages := find(doc, byClass("page"))
	if len(pages) != 1 || !hasClass(pages[0], "initial") {
		t.Errorf("want one initial page, got %d", len(pages))
	}
}

func TestTimelinePaging(t *testing.T) {
	evs := synth(50000, 8, 5)
	focus := int64(70001) // an event somewhere on a later page
	doc := parseHTML(t, writeTimeline(t, evs, TimelineOptions{Focus: focus}))
	pages := find(doc, byClass("page"))
	if len(pages) != 25 {
		t.Fatalf("%d pages for 50,000 ops at 2,000 a page, want 25", len(pages))
	}
	seen := map[string]bool{}
	total := 0
	for i, pg := range pages {
		ops := find(pg, byClass("op"))
		if len(ops) > DefaultPageOps {
			t.Errorf("page %d has %d ops, more than %d", i+1, len(ops), DefaultPageOps)
		}
		total += len(ops)
		for _, o := range ops {
			id := attr(o, "id")
			if seen[id] {
				t.Errorf("op %s on two pages", id)
			}
			seen[id] = true
		}
	}
	if total != 50000 {
		t.Errorf("%d ops across pages, want 50,000", total)
	}
	// The focus event's op is outlined, on the initial page, and nowhere
	// else is.
	foc := find(doc, byClass("focus"))
	if len(foc) != 1 {
		t.Fatalf("%d focus elements, want 1", len(foc))
	}
	f := foc[0]
	if want := "op-" + strconv.FormatInt(focus, 10); attr(f, "id") != want && attr(f, "data-c") != strconv.FormatInt(focus, 10) {
		t.Errorf("focus is on %s (completes %s), not the op of index %d", attr(f, "id"), attr(f, "data-c"), focus)
	}
	if pg := pageOf(f); !hasClass(pg, "initial") || attr(pg, "id") == "page-1" {
		t.Errorf("focus is on %s, which is not the initial page or is page 1", attr(pg, "id"))
	}
	links := find(doc, func(n *html.Node) bool { return n.Data == "a" && textOf(n) == "Go to it." })
	if len(links) != 1 || attr(links[0], "href") != "#"+attr(f, "id") {
		t.Errorf("the focus note does not link to the focus op %s", attr(f, "id"))
	}
	if n := len(find(doc, byClass("initial"))); n != 1 {
		t.Errorf("%d initial pages", n)
	}
	// A smaller page size gives more, smaller pages.
	doc = parseHTML(t, writeTimeline(t, evs[:2000], TimelineOptions{Focus: -1, PageOps: 100}))
	for _, pg := range find(doc, byClass("page")) {
		if n := len(find(pg, byClass("op"))); n > 100 {
			t.Errorf("%s has %d ops, want ≤ 100", attr(pg, "id"), n)
		}
	}
}

func TestTimelineFocusOnFault(t *testing.T) {
	evs := small()
	doc := parseHTML(t, writeTimeline(t, evs, TimelineOptions{Focus: 9, PageOps: 2}))
	foc := find(doc, byClass("focus"))
	if len(foc) != 1 || !hasClass(foc[0], "fault") || attr(foc[0], "data-c") != "9" {
		t.Fatalf("focus on the heal at #9 should outline the partition window; got %d elements", len(foc))
	}
	if !hasClass(pageOf(foc[0]), "initial") {
		t.Errorf("the focus is not on the initial page")
	}
}

func TestTimelineEscapes(t *testing.T) {
	evil := "<script>alert(1)</script>"
	evs := small()
	evs[0].Key, evs[1].Key = evil, evil
	evs[0].Value, evs[1].Value = history.Str(evil+`"'&`), history.Str(evil)
	evs[1].Node = evil
	evs[6].Error = evil
	evs[8].Value = history.Str(evil)
	b := writeTimeline(t, evs, TimelineOptions{Title: evil, Focus: -1})
	if bytes.Contains(b, []byte("<script>alert")) {
		t.Fatalf("unescaped user data in the timeline")
	}
	doc := parseHTML(t, b)
	scripts := find(doc, func(n *html.Node) bool { return n.Data == "script" })
	if len(scripts) != 1 || strings.Contains(textOf(scripts[0]), "alert") {
		t.Errorf("%d script elements; want only the page's own", len(scripts))
	}
	// The values survive as text.
	op0 := find(doc, func(n *html.Node) bool { return attr(n, "id") == "op-0" })[0]
	if !strings.Contains(textOf(op0), evil) || !strings.Contains(attr(op0, "title"), "node    "+evil) {
		t.Errorf("escaped value lost: %q / %q", textOf(op0), attr(op0, "title"))
	}
	if title := find(doc, func(n *html.Node) bool { return n.Data == "title" }); textOf(title[0]) != evil {
		t.Errorf("title %q", textOf(title[0]))
	}
}

func TestTimelineDeterministic(t *testing.T) {
	evs := synth(5000, 5, 9)
	opts := TimelineOptions{Title: "t", Focus: 3000, PageOps: 700, Highlight: []int64{1, 2, 3000}}
	a, b := writeTimeline(t, evs, opts), writeTimeline(t, evs, opts)
	if !bytes.Equal(a, b) {
		t.Errorf("two timelines of the same history differ")
	}
}

func TestTimelineOddHistories(t *testing.T) {
	for name, evs := range map[string][]history.Event{
		"empty":        nil,
		"only nemesis": hist(nem(0, history.FaultKill, "n1"), nem(1e9, history.FaultRestart, "n1"), nem(2e9, history.FaultClock, "x")),
		"one open op":  hist(inv(0, 0, history.FRead, "k")),
		"orphan":       hist(done(0, 0, history.OK, history.FRead, "k"), inv(1, 0, history.FRead, "k")),
	} {
		t.Run(name, func(t *testing.T) {
			doc := parseHTML(t, writeTimeline(t, evs, TimelineOptions{Focus: -1}))
			if n := len(find(doc, byClass("page"))); n != 1 {
				t.Errorf("%d pages, want 1", n)
			}
			nemesis := 0
			for _, e := range evs {
				if e.Process == history.Nemesis {
					nemesis++
				}
			}
			if nemesis > 0 && len(find(doc, byClass("fault"))) == 0 {
				t.Errorf("no fault boxes")
			}
		})
	}
}

func TestTimelineBadOptions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.html")
	for _, o := range []TimelineOptions{{Focus: 99}, {Focus: -1, Highlight: []int64{3, 12}}} {
		err := WriteTimeline(path, small(), o)
		if err == nil || !strings.Contains(err.Error(), "is not a history index (indices run 0–11)") {
			t.Errorf("options %+v: error %v", o, err)
		}
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("a timeline was written despite the error")
	}
}

func TestTimelineIndicesNotPositions(t *testing.T) {
	// A history cut from the middle of a longer one: indices start at 100.
	evs := small()
	for i := range evs {
		evs[i].Index += 100
	}
	doc := parseHTML(t, writeTimeline(t, evs, TimelineOptions{Focus: 106, Highlight: []int64{107}}))
	foc := find(doc, byClass("focus"))
	if len(foc) != 1 || attr(foc[0], "id") != "op-105" {
		t.Errorf("focus on #106 should outline op-105")
	}
	if hl := find(doc, byClass("hl")); len(hl) != 1 || attr(hl[0], "id") != "op-107" {
		t.Errorf("highlight on #107 should outline op-107")
	}
	err := WriteTimeline(filepath.Join(t.TempDir(), "t.html"), evs, TimelineOptions{Focus: 6})
	if err == nil || !strings.Contains(err.Error(), "indices run 100–111") {
		t.Errorf("focus 6 in a history of 100–111: error %v", err)
	}
}

// TestTimelineDelete: a delete's box and hover name the key and no value
// ("delete k3", not "delete k3 nil"), whatever its outcome.
func TestTimelineDelete(t *testing.T) {
	evs := hist(
		inv(1e6, 0, history.FDelete, "k3"),
		done(2e6, 0, history.OK, history.FDelete, "k3"),
		inv(3e6, 1, history.FDelete, "k3"),
		done(4e6, 1, history.Info, history.FDelete, "k3"),
		inv(5e6, 2, history.FDelete, "k3"), // never completes
	)
	doc := parseHTML(t, writeTimeline(t, evs, TimelineOptions{Title: "deletes"}))
	ops := find(doc, byClass("op"))
	if len(ops) != 3 {
		t.Fatalf("%d op boxes, want 3", len(ops))
	}
	for _, n := range ops {
		if got := textOf(n); got != "delete k3" {
			t.Errorf("%s label %q, want \"delete k3\"", attr(n, "id"), got)
		}
		if title := attr(n, "title"); !strings.Contains(title, "delete \"k3\"\n") || strings.Contains(title, "nil") {
			t.Errorf("%s hover %q: want the line delete \"k3\" and no nil", attr(n, "id"), title)
		}
	}
}
