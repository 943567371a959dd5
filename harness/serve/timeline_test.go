package serve

import (
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/splitbrain/splitbrain/harness"
	"github.com/splitbrain/splitbrain/harness/history"
	"github.com/splitbrain/splitbrain/harness/report"
)

// TestPagedTimelineServed: a run whose timeline is an index and files of
// pages (a long run's) is served whole: the run page frames the index, and
// the index's links to its pages, relative to it, resolve to files served
// as HTML.
func TestPagedTimelineServed(t *testing.T) {
	f := runFixture(t)
	root := t.TempDir()
	rel := f.rel(t, f.Valid)
	run := filepath.Join(root, filepath.FromSlash(rel))
	copyDir(t, f.Valid.Dir, run)
	hr, err := history.ReadFile(filepath.Join(run, harness.HistoryFile))
	if err != nil {
		t.Fatal(err)
	}
	w := report.NewTimelineWriter(filepath.Join(run, harness.TimelineFile), report.SurveyOf(hr.Events), report.TimelineOptions{Focus: -1, PageOps: 100})
	for i := range hr.Events {
		w.Add(&hr.Events[i])
	}
	files, err := w.Close()
	if err != nil || len(files) < 3 {
		t.Fatalf("timeline files %v, %v: want an index and files of pages", files, err)
	}
	s := newServer(t, root, Options{})
	if body := get(t, s, RunURL(rel)).Body.String(); !strings.Contains(body, `<iframe class="artifact" src="`+FileURL(rel+"/timeline.html")+`"`) {
		t.Fatal("the run page does not frame the timeline's index")
	}
	index := get(t, s, FileURL(rel+"/timeline.html"))
	if index.Code != http.StatusOK {
		t.Fatalf("index: %d", index.Code)
	}
	links := regexp.MustCompile(`href="(timeline/part-[0-9]+\.html)#page-[0-9]+"`).FindAllStringSubmatch(index.Body.String(), -1)
	if len(links) == 0 {
		t.Fatal("the index links no page")
	}
	for _, l := range []string{links[0][1], links[len(links)-1][1]} {
		page := get(t, s, FileURL(rel+"/"+l))
		if page.Code != http.StatusOK || !strings.HasPrefix(page.Header().Get("Content-Type"), "text/html") {
			t.Errorf("%s: %d %s", l, page.Code, page.Header().Get("Content-Type"))
		}
		if !strings.Contains(page.Body.String(), `href="../timeline.html"`) {
			t.Errorf("%s does not link back to the index", l)
		}
	}
}
