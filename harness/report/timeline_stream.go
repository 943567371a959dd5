package report

import (
	"bufio"
	"fmt"
	"html/template"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/splitbrain/splitbrain/harness/history"
)

// PagesPerFile is how many timeline pages one file holds. A history of
// at most that many pages is one file, as WriteTimeline writes it; a
// larger one is an index (the file at the timeline's path) and files of
// PagesPerFile pages each in a directory beside it, so that no file a
// browser opens is more than a few megabytes (a page of DefaultPageOps
// ops is about 0.6 MB).
const PagesPerFile = 4

// TimelineWriter writes the timeline of a history read one event at a
// time, after a Survey of it. A small history (one file) is kept in
// memory and written by WriteTimeline at Close; a larger one is written
// a file of pages at a time as its pages complete (a page is complete
// once each of its ops has completed, or the history has ended), so its
// memory holds the pages still open, never the history. Close writes the
// index last: it can point at an operation found by a check that ran
// meanwhile (SetFocus).
type TimelineWriter struct {
	path  string
	opts  TimelineOptions
	info  HistoryInfo
	small []history.Event // the whole history, when it is one file

	t        *timeline
	nPages   int
	dir      string         // the pages' directory, beside path
	ops      *opStream      //
	pages    map[int]*tlBuf // pages not yet written
	firstInv []int          // per page, the position of its first op's invoke (-1 until seen)
	written  int            // pages written
	files    []string       // files written, relative to the directory of path
	err      error
	render   chan rendering // files of pages laid out, to render
	rendered chan error     // the renderer's first error, when it ends
}

// rendering is a file of pages laid out, for the renderer goroutine: the
// reading goroutine lays pages out while the last file is rendered.
type rendering struct {
	path string
	doc  *tlDoc
}

// tlBuf is a page being gathered.
type tlBuf struct {
	ops  []op
	done int // ops complete
}

// NewTimelineWriter prepares the timeline of the history info describes,
// to be written to path. opts.Focus and opts.Highlight apply to a
// history of one file (they are history indices, checked at Close).
func NewTimelineWriter(path string, info HistoryInfo, opts TimelineOptions) *TimelineWriter {
	if opts.PageOps <= 0 {
		opts.PageOps = DefaultPageOps
	}
	if opts.Title == "" {
		opts.Title = "timeline"
	}
	w := &TimelineWriter{path: path, opts: opts, info: info}
	w.nPages = max(1, ceilDiv(info.Ops, opts.PageOps))
	if w.nPages <= PagesPerFile {
		w.small = make([]history.Event, 0, info.Events)
		return w
	}
	w.dir = strings.TrimSuffix(path, filepath.Ext(path))
	base := filepath.Base(w.dir)
	windows, marks := splitFaults(info.Nemesis)
	t := &timeline{opts: opts, end: info.End, kinds: map[string]string{}, hl: map[int]bool{}, focus: -1}
	t.fileOf = func(k int) string { return partName(k / PagesPerFile) }
	t.nemPos = info.NemesisPos
	posOf := make(map[int64]int, len(info.Nemesis))
	for i, e := range info.Nemesis {
		posOf[e.Index] = info.NemesisPos[i]
	}
	t.windows = append(append([]history.Window(nil), windows...), marks...)
	sort.SliceStable(t.windows, func(i, j int) bool { return t.windows[i].StartIndex < t.windows[j].StartIndex })
	for _, win := range t.windows {
		e := -1
		if win.EndIndex >= 0 {
			e = posOf[win.EndIndex]
		}
		t.winPos = append(t.winPos, [2]int{posOf[win.StartIndex], e})
	}
	fs := map[string]bool{}
	for _, f := range info.Fs {
		fs[f] = true
	}
	t.pal = newPaletteOf(windows, marks, fs)
	t.kindsOf()
	w.t = t
	w.pages = map[int]*tlBuf{}
	w.firstInv = make([]int, w.nPages)
	for i := range w.firstInv {
		w.firstInv[i] = -1
	}
	_ = base
	w.ops = newOpStream(info.End, w.opDone)
	w.ops.invoked = func(o *op) {
		if o.Ordinal%opts.PageOps == 0 && o.Ordinal/opts.PageOps < w.nPages {
			w.firstInv[o.Ordinal/opts.PageOps] = o.InvPos
		}
	}
	if err := os.MkdirAll(w.dir, 0o755); err != nil {
		w.err = fmt.Errorf("report: %w", err)
	}
	w.render, w.rendered = make(chan rendering, 1), make(chan error, 1)
	go func() {
		var first error
		for r := range w.render {
			if first == nil {
				first = writeTimelineDoc(r.path, r.doc)
			}
		}
		w.rendered <- first
	}()
	return w
}

// partName is the file name of the j-th file of pages (0-based), in the
// pages' directory.
func partName(j int) string { return fmt.Sprintf("part-%04d.html", j+1) }

// Add reads the next event.
func (w *TimelineWriter) Add(e *history.Event) {
	if w.small != nil {
		w.small = append(w.small, *e)
		return
	}
	if w.err != nil {
		return
	}
	w.ops.add(e)
	w.flush()
}

func (w *TimelineWriter) opDone(o *op) {
	k := min(o.Ordinal/w.opts.PageOps, w.nPages-1)
	b := w.pages[k]
	if b == nil {
		b = &tlBuf{}
		w.pages[k] = b
	}
	b.ops = append(b.ops, *o)
	b.done++
}

// pageOps is how many ops page k has.
func (w *TimelineWriter) pageOps(k int) int {
	return min(w.opts.PageOps, w.info.Ops-k*w.opts.PageOps)
}

// ready reports whether page k can be laid out: all its ops are complete,
// and the next page's first invoke (its upper bound) has been read.
func (w *TimelineWriter) ready(k int, ended bool) bool {
	if ended {
		return true
	}
	b := w.pages[k]
	if b == nil || b.done < w.pageOps(k) {
		return false
	}
	return k+1 >= w.nPages || w.firstInv[k+1] >= 0
}

// flush writes every file of pages that is ready, in order.
func (w *TimelineWriter) flush() {
	for w.err == nil && w.written < w.nPages {
		last := min(w.written+PagesPerFile, w.nPages) - 1
		if !w.ready(last, false) {
			return
		}
		w.writePart(w.written/PagesPerFile, false)
	}
}

// writePart lays out and writes the j-th file of pages.
func (w *TimelineWriter) writePart(j int, ended bool) {
	from, to := j*PagesPerFile, min((j+1)*PagesPerFile, w.nPages)
	doc := &tlDoc{Title: w.opts.Title, Kinds: w.t.kindsDoc, IndexHref: "../" + filepath.Base(w.path)}
	if j > 0 {
		doc.PrevPart = partName(j - 1)
	}
	if to < w.nPages {
		doc.NextPart = partName(j + 1)
	}
	doc.Summary = []string{fmt.Sprintf("File %s of %s: pages %s–%s of %s, %s ops a page; each op is on the page of its invoke.",
		thousands(j+1), thousands(ceilDiv(w.nPages, PagesPerFile)), thousands(from+1), thousands(to), thousands(w.nPages), thousands(w.opts.PageOps))}
	for k := from; k < to; k++ {
		b := w.pages[k]
		delete(w.pages, k)
		var ops []op
		if b != nil {
			ops = b.ops
		}
		sort.Slice(ops, func(a, c int) bool { return ops[a].Ordinal < ops[c].Ordinal })
		lo, hi := w.bounds(k)
		evs := map[int]*history.Event{}
		for i := range ops {
			evs[ops[i].InvPos] = ops[i].Invoke
			if ops[i].HasDone {
				evs[ops[i].DonePos] = ops[i].Done
			}
		}
		for i, pos := range w.info.NemesisPos {
			if pos >= lo && pos < hi {
				evs[pos] = &w.info.Nemesis[i]
			}
		}
		pg := w.t.layout(k, w.nPages, ops, k*w.opts.PageOps, lo, hi, func(pos int) *history.Event { return evs[pos] })
		pg.Initial = k == from
		doc.Pages = append(doc.Pages, pg)
	}
	name := partName(j)
	w.render <- rendering{filepath.Join(w.dir, name), doc}
	w.files = append(w.files, filepath.Join(filepath.Base(w.dir), name))
	w.written = to
}

// bounds are the positions [lo, hi) whose nemesis events page k shows:
// from its first op's invoke to the next page's.
func (w *TimelineWriter) bounds(k int) (lo, hi int) {
	hi = w.info.Events
	if k > 0 {
		lo = w.firstInv[k]
	}
	if k+1 < w.nPages && w.firstInv[k+1] >= 0 {
		hi = w.firstInv[k+1]
	}
	return lo, hi
}

// stopRenderer waits for the files handed to the renderer to be written
// and ends it.
func (w *TimelineWriter) stopRenderer() {
	if w.render == nil {
		return
	}
	close(w.render)
	if err := <-w.rendered; err != nil && w.err == nil {
		w.err = err
	}
	w.render = nil
}

// Abort gives up a timeline not closed: it ends the goroutine rendering
// its files. What was written stays.
func (w *TimelineWriter) Abort() { w.stopRenderer() }

// SetFocus names the history index (an op's invoke) that the index links
// to, or that a one-file timeline opens on; -1 for none.
func (w *TimelineWriter) SetFocus(index int64) { w.opts.Focus = index }

// Close writes what is left and the index, and returns the files written,
// relative to the directory of the timeline's path (the index first).
func (w *TimelineWriter) Close() ([]string, error) {
	base := filepath.Base(w.path)
	if w.small != nil {
		if err := WriteTimeline(w.path, w.small, w.opts); err != nil {
			return nil, err
		}
		return []string{base}, nil
	}
	if w.err == nil {
		w.ops.close()
		for w.err == nil && w.written < w.nPages {
			w.writePart(w.written/PagesPerFile, true)
		}
	}
	w.stopRenderer()
	if w.err != nil {
		return nil, w.err
	}
	if err := writeFileAtomic(w.path, func(bw *bufio.Writer) error { return timelineIndexTemplate.Execute(bw, w.index()) }); err != nil {
		return nil, err
	}
	return append([]string{base}, w.files...), nil
}

// The index's data.
type (
	tlIndex struct {
		Title   string
		Summary []string
		Kinds   []tlKind
		Dir     string
		Pages   []tlIndexPage
		Faults  []tlIndexFault
		Focus   *tlIndexFault
		Starts  []int64 // per page, the history index of its first row
		Files   []string
	}
	tlIndexPage struct {
		N           int
		Href, Range string
		Faults      int // fault events starting on it
	}
	tlIndexFault struct {
		Label, When, Href string
		Page              int
	}
)

// index is the index page: every page with its range, every fault with
// the page it starts on, the focus.
func (w *TimelineWriter) index() *tlIndex {
	dir := filepath.Base(w.dir)
	x := &tlIndex{Title: w.opts.Title, Kinds: w.t.kindsDoc, Dir: dir}
	pageOfPos := func(pos int) int {
		k := sort.Search(w.nPages, func(k int) bool { lo, _ := w.bounds(k); return lo > pos }) - 1
		return max(0, k)
	}
	for k := 0; k < w.nPages; k++ {
		lo, hi := w.bounds(k)
		from := k * w.opts.PageOps
		x.Pages = append(x.Pages, tlIndexPage{N: k + 1, Href: dir + "/" + partName(k/PagesPerFile) + "#page-" + strconv.Itoa(k+1),
			Range: fmt.Sprintf("ops %s–%s, positions %d–%d", thousands(from+1), thousands(from+w.pageOps(k)), lo, hi-1)})
		x.Starts = append(x.Starts, int64(lo))
	}
	for j := 0; j < ceilDiv(w.nPages, PagesPerFile); j++ {
		x.Files = append(x.Files, dir+"/"+partName(j))
	}
	for i, win := range w.t.windows {
		k := pageOfPos(w.t.winPos[i][0])
		x.Pages[k].Faults++
		when := "at " + seconds(win.Start)
		if !isInstant(win) {
			when = "from " + seconds(win.Start) + faultEnd(win)
		}
		x.Faults = append(x.Faults, tlIndexFault{Label: win.Label, When: when, Page: k + 1,
			Href: dir + "/" + partName(k/PagesPerFile) + "#ev-" + strconv.FormatInt(win.StartIndex, 10)})
	}
	ok := w.info.OKOps
	x.Summary = []string{
		fmt.Sprintf("%s events, %s ops over %s: %s ok, %s ended otherwise (fail, info or never completed).",
			thousands(w.info.Events), thousands(w.info.Ops), seconds(w.info.End), thousands(ok), thousands(w.info.Ops-ok)),
		fmt.Sprintf("%s pages of at most %s ops, %d pages a file in %s/ (each op is on the page of its invoke); %s fault events.",
			thousands(w.nPages), thousands(w.opts.PageOps), PagesPerFile, dir, thousands(len(w.info.Nemesis))),
	}
	if w.opts.Focus >= 0 {
		// Positions are history indices in a history read by a Scanner.
		k := pageOfPos(int(w.opts.Focus))
		x.Focus = &tlIndexFault{Label: fmt.Sprintf("history index %d", w.opts.Focus), Page: k + 1,
			Href: dir + "/" + partName(k/PagesPerFile) + "#op-" + strconv.FormatInt(w.opts.Focus, 10)}
	}
	return x
}

func faultEnd(w history.Window) string {
	if w.End < 0 {
		return ", never closed"
	}
	return " to " + seconds(w.End)
}

// writeTimelineDoc renders doc to path.
func writeTimelineDoc(path string, doc *tlDoc) error {
	return writeFileAtomic(path, func(bw *bufio.Writer) error { return timelineTemplate.Execute(bw, doc) })
}

// writeFileAtomic writes path through a temporary file renamed into
// place, so that a failed write leaves no torn file.
func writeFileAtomic(path string, write func(*bufio.Writer) error) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	bw := bufio.NewWriterSize(f, 256<<10)
	err = write(bw)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("report: writing timeline: %w", err)
	}
	return nil
}

// timelineIndexTemplate is the index of a timeline spread over files.
var timelineIndexTemplate = template.Must(template.New("index").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{.Title}}</title>
<style>
body{font:13px/1.4 system-ui,sans-serif;margin:0;padding:12px 16px;color:#222}
h1{font-size:18px;margin:0 0 6px} h2{font-size:15px;margin:14px 0 4px}
.muted{color:#666;margin:2px 0}
nav.pages a{display:inline-block;min-width:2.2em;text-align:center;margin:1px;padding:0 3px;border:1px solid #ccc;border-radius:3px;text-decoration:none;color:#225}
nav.pages a.f{border-color:#c80;background:#fff4e0}
.legend span{margin-right:12px;white-space:nowrap}.sw{display:inline-block;width:12px;height:12px;vertical-align:-2px;margin-right:4px;border:1px solid #999}
table{border-collapse:collapse}td{padding:1px 8px 1px 0;vertical-align:top}
{{range .Kinds}}.{{.Class}}{--rgb:{{.R}},{{.G}},{{.B}}}
{{end}}</style>
</head>
<body>
<h1>{{.Title}}</h1>
{{range .Summary}}<p class="muted">{{.}}</p>
{{end}}{{with .Focus}}<p>Focus: {{.Label}}, on <a href="{{.Href}}">page {{.Page}}</a>.</p>
{{end}}<p class="legend">{{range .Kinds}}<span><i class="sw {{.Class}}" style="background:rgb(var(--rgb))"></i>{{.Name}}{{if .Instant}} (instant){{end}}</span>{{end}}</p>
<form id="jump">go to history index <input name="i" inputmode="numeric" autocomplete="off"> <button>go</button> <span id="jumpmsg"></span></form>
<h2>Pages</h2>
<p class="muted">Pages where faults begin are outlined; hover a page for its range.</p>
<nav class="pages">{{range .Pages}}<a href="{{.Href}}" title="{{.Range}}{{if .Faults}}; {{.Faults}} fault event(s) begin here{{end}}"{{if .Faults}} class="f"{{end}}>{{.N}}</a>{{end}}</nav>
{{if .Faults}}<h2>Faults</h2>
<table>{{range .Faults}}<tr><td><a href="{{.Href}}">page {{.Page}}</a></td><td>{{.When}}</td><td>{{.Label}}</td></tr>
{{end}}</table>
{{end}}<script>
(function () {
  var starts = [{{range $i, $s := .Starts}}{{if $i}},{{end}}{{$s}}{{end}}];
  var files = [{{range $i, $f := .Files}}{{if $i}},{{end}}{{$f}}{{end}}];
  var per = {{.PagesPerFile}};
  document.getElementById("jump").addEventListener("submit", function (e) {
    e.preventDefault();
    var i = this.elements.i.value.trim(), msg = document.getElementById("jumpmsg");
    if (!/^[0-9]+$/.test(i)) { msg.textContent = "not a history index"; return; }
    var n = Number(i), k = 0;
    while (k + 1 < starts.length && starts[k + 1] <= n) k++;
    location.href = files[Math.floor(k / per)] + "#op-" + i;
  });
})();
</script>
</body>
</html>
`))

// PagesPerFile for the index's script.
func (x *tlIndex) PagesPerFile() int { return PagesPerFile }
