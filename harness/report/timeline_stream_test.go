package report

import (
	"html/template"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/splitbrain/splitbrain/harness/history"
)

// streamTimeline writes evs through a TimelineWriter into a temporary
// directory and returns the directory and the files written.
func streamTimeline(t *testing.T, evs []history.Event, opts TimelineOptions) (string, []string) {
	t.Helper()
	dir := t.TempDir()
	w := NewTimelineWriter(filepath.Join(dir, "timeline.html"), SurveyOf(evs), opts)
	for i := range evs {
		w.Add(&evs[i])
	}
	files, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	return dir, files
}

// boxes are the op and fault boxes of a page, rendered to text: what a
// page shows.
func boxes(pg *html.Node) []string {
	var out []string
	for _, n := range find(pg, func(n *html.Node) bool { return hasClass(n, "op") || hasClass(n, "fault") || hasClass(n, "band") }) {
		out = append(out, attr(n, "class")+"|"+attr(n, "id")+"|"+attr(n, "style")+"|"+attr(n, "title")+"|"+textOf(n))
	}
	return out
}

// TestTimelineStreamedPagesAreTheWholeTimeline: a history of many pages,
// written a file of pages at a time as they complete, shows on every page
// exactly what the one-file timeline of the same history shows there —
// with ops that complete late (on a later page), never complete, and
// faults that span pages.
func TestTimelineStreamedPagesAreTheWholeTimeline(t *testing.T) {
	evs := synth(3000, 12, 7)
	opts := TimelineOptions{Title: "t", Focus: -1, PageOps: 97}
	dir, files := streamTimeline(t, evs, opts)
	nPages := ceilDiv(3000, 97)
	if want := 1 + ceilDiv(nPages, PagesPerFile); len(files) != want || files[0] != "timeline.html" {
		t.Fatalf("files %v, want timeline.html and %d files of pages", files, want-1)
	}
	whole := parseHTML(t, writeTimeline(t, evs, opts))
	wantPages := find(whole, byClass("page"))
	if len(wantPages) != nPages {
		t.Fatalf("the one-file timeline has %d pages, want %d", len(wantPages), nPages)
	}
	seen := 0
	for _, f := range files[1:] {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > 5<<20 {
			t.Errorf("%s is %d bytes", f, len(b))
		}
		for _, pg := range find(parseHTML(t, b), byClass("page")) {
			id := attr(pg, "id")
			var want *html.Node
			for _, w := range wantPages {
				if attr(w, "id") == id {
					want = w
				}
			}
			if want == nil {
				t.Fatalf("%s: page %s is not in the one-file timeline", f, id)
			}
			got, exp := boxes(pg), boxes(want)
			if strings.Join(got, "\n") != strings.Join(exp, "\n") {
				t.Fatalf("%s %s differs from the one-file timeline:\n%d boxes vs %d", f, id, len(got), len(exp))
			}
			seen++
		}
	}
	if seen != nPages {
		t.Errorf("the files hold %d pages, want %d", seen, nPages)
	}
	index, err := os.ReadFile(filepath.Join(dir, "timeline.html"))
	if err != nil {
		t.Fatal(err)
	}
	doc := parseHTML(t, index)
	links := find(doc, func(n *html.Node) bool { return n.Data == "a" && strings.HasPrefix(attr(n, "href"), "timeline/part-") })
	if len(links) < nPages {
		t.Errorf("the index links %d pages, want %d", len(links), nPages)
	}
	for _, l := range links {
		name := strings.SplitN(strings.TrimPrefix(attr(l, "href"), "timeline/"), "#", 2)[0]
		if _, err := os.Stat(filepath.Join(dir, "timeline", name)); err != nil {
			t.Errorf("the index links %s: %v", attr(l, "href"), err)
		}
	}
}

// TestTimelineStreamSmallIsOneFile: a history of a few pages is one file,
// the same bytes WriteTimeline writes.
func TestTimelineStreamSmallIsOneFile(t *testing.T) {
	evs := synth(500, 6, 3)
	opts := TimelineOptions{Title: "t", Focus: -1, PageOps: 200}
	dir, files := streamTimeline(t, evs, opts)
	if len(files) != 1 {
		t.Fatalf("files %v", files)
	}
	b, err := os.ReadFile(filepath.Join(dir, files[0]))
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != string(writeTimeline(t, evs, opts)) {
		t.Error("the streamed one-file timeline differs from WriteTimeline's")
	}
}

// FuzzEscapeToIsHTMLEscape: the timeline's own escaper writes what
// html/template's does.
func FuzzEscapeToIsHTMLEscape(f *testing.F) {
	f.Add(`<img src=x onerror="alert('&')">` + "\x00é")
	f.Fuzz(func(t *testing.T, s string) {
		var b strings.Builder
		escapeTo(&b, s)
		if want := template.HTMLEscapeString(s); b.String() != want {
			t.Fatalf("escapeTo(%q) = %q, want %q", s, b.String(), want)
		}
	})
}
