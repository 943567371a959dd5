package report

import (
	"fmt"
	"html/template"
	"sort"
	"strconv"
	"strings"

	"github.com/splitbrain/splitbrain/harness/history"
)

// DefaultPageOps is the number of ops per timeline page when
// TimelineOptions.PageOps is not set.
const DefaultPageOps = 2000

// TimelineOptions shape WriteTimeline's output.
type TimelineOptions struct {
	Title     string  // page title; "timeline" when empty
	Focus     int64   // history index to open on, highlighted and scrolled to; -1 for none
	PageOps   int     // ops per page; DefaultPageOps when ≤ 0
	Highlight []int64 // history indices whose ops (or fault windows) are outlined
}

// Timeline geometry, in CSS pixels.
const (
	rowPx     = 18  // one row per history event on the page
	colPx     = 150 // one column per client process
	gutterPx  = 96  // the time gutter on the left
	nemLanePx = 150 // one nemesis lane per concurrently open fault…
	nemMaxPx  = 360 // …narrowed so that many lanes stay within this…
	nemMinPx  = 24  // …but no narrower than this
	tickEvery = 10  // a time label every this many rows
	boxRunes  = 40  // op box label length before it is cut
)

// WriteTimeline writes a self-contained HTML timeline of events to path:
// one column per client process with each op a box from its invoke to
// its completion, coloured by outcome, with the details on hover; a
// nemesis column of fault windows, which are also shaded across every
// process column. Ops are split into pages of opts.PageOps (each op on
// the page of its invoke); all pages are in the one file and switch by
// URL fragment (#page-3, #op-1234), in CSS alone, with a few lines of
// script for keyboard paging and the jump-to-index box. The same events
// and options give the same bytes.
func WriteTimeline(path string, events []history.Event, opts TimelineOptions) error {
	doc, err := buildTimeline(events, opts)
	if err != nil {
		return err
	}
	// A large timeline is tens of megabytes: written through a temporary
	// file, so a failed write leaves no torn file.
	return writeTimelineDoc(path, doc)
}

// The template's data.
type (
	tlDoc struct {
		Title     string
		Summary   []string
		Kinds     []tlKind
		Pages     []*tlPage
		FocusNote string
		FocusID   string // element (or page) to link the focus note to
		// In a timeline spread over files: the index, and the files
		// before and after this one ("" at the ends).
		IndexHref, PrevPart, NextPart string
	}
	tlKind struct {
		Class, Name string
		R, G, B     uint8
		Instant     bool
	}
	tlPage struct {
		N, Of      int
		ID         string
		Initial    bool
		Range      string // ops, indices and times covered, in words
		Prev, Next string // page ids, "" at the ends
		Height     int
		Width      int
		NemLeft    int
		NemWidth   int
		ProcLeft   int
		Cols       []*tlCol
		Faults     []tlFault
		Bands      []tlBand
		Ticks      []tlTick
		Empty      bool
	}
	tlCol struct {
		Name string
		Left int
		Ops  []tlOp
	}
	tlOp struct {
		ID, Class, Label, Title string
		Done                    string // history index of the completion, for the jump box
		Top, Height             int
	}
	tlFault struct {
		ID, Class, Label, Title  string
		Done                     string
		Top, Height, Left, Width int
	}
	tlBand struct {
		Class       string
		Top, Height int
	}
	tlTick struct {
		Top         int
		Text, Title string
	}
)

type timeline struct {
	// fileOf names the file holding page k when the pages are spread
	// over several files; nil when they are all in one.
	fileOf   func(k int) string
	end      int64 // the end of the history
	p        *parsed
	opts     TimelineOptions
	kinds    map[string]string // fault kind -> CSS class
	hl       map[int]bool      // highlighted event positions
	focus    int               // focus event position, -1 for none
	nemPos   []int             // positions of nemesis events
	windows  []history.Window  // fault windows and marks, by start
	winPos   [][2]int          // per window: start and end positions (end -1 when open)
	byOpPos  map[int]int       // event position -> op ordinal
	pal      *palette
	kindsDoc []tlKind // the fault kinds' legend
}

// kindsOf gives each fault kind of the palette its CSS class and legend
// entry.
func (t *timeline) kindsOf() {
	instant := map[string]bool{}
	for _, w := range t.windows {
		instant[w.F] = isInstant(w)
	}
	for i, k := range t.pal.Faults {
		c := t.pal.Fault(k)
		cls := "fk" + strconv.Itoa(i)
		t.kinds[k] = cls
		name := k
		if k == history.FaultNote {
			name = "note, skipped or failed fault"
		}
		t.kindsDoc = append(t.kindsDoc, tlKind{Class: cls, Name: name, R: c.R, G: c.G, B: c.B, Instant: instant[k]})
	}
}

func buildTimeline(events []history.Event, opts TimelineOptions) (*tlDoc, error) {
	if opts.PageOps <= 0 {
		opts.PageOps = DefaultPageOps
	}
	if opts.Title == "" {
		opts.Title = "timeline"
	}
	p := parse(events)
	t := &timeline{p: p, end: p.End, opts: opts, kinds: map[string]string{}, hl: map[int]bool{}, focus: -1,
		byOpPos: map[int]int{}}
	if opts.Focus >= 0 {
		pos, ok := p.position(opts.Focus)
		if !ok {
			return nil, fmt.Errorf("report: timeline focus %d is not a history index (%s)", opts.Focus, indexRange(events))
		}
		t.focus = pos
	}
	for _, idx := range opts.Highlight {
		pos, ok := p.position(idx)
		if !ok {
			return nil, fmt.Errorf("report: timeline highlight %d is not a history index (%s)", idx, indexRange(events))
		}
		t.hl[pos] = true
	}
	for i := range p.Ops {
		o := &p.Ops[i]
		t.byOpPos[o.InvPos] = i
		if o.HasDone {
			t.byOpPos[o.DonePos] = i
		}
	}
	for i, e := range events {
		if e.Process == history.Nemesis {
			t.nemPos = append(t.nemPos, i)
		}
	}
	// Marks (notes, skipped and failed faults) take the nemesis column as
	// instants, like the faults, but cast no band across the processes.
	t.windows = append(append([]history.Window(nil), p.Windows...), p.Marks...)
	sort.SliceStable(t.windows, func(i, j int) bool { return t.windows[i].StartIndex < t.windows[j].StartIndex })
	for _, w := range t.windows {
		s, _ := p.position(w.StartIndex)
		e := -1
		if w.EndIndex >= 0 {
			e, _ = p.position(w.EndIndex)
		}
		t.winPos = append(t.winPos, [2]int{s, e})
	}

	t.pal = newPalette(p)
	t.kindsOf()
	doc := &tlDoc{Title: opts.Title, Kinds: t.kindsDoc}

	nPages := max(1, ceilDiv(len(p.Ops), opts.PageOps))
	initial := 0
	if t.focus >= 0 {
		initial = t.pageOf(t.focus, nPages)
	}
	for k := 0; k < nPages; k++ {
		pg := t.page(k, nPages)
		pg.Initial = k == initial
		doc.Pages = append(doc.Pages, pg)
	}
	doc.Summary = t.summary(nPages)
	if t.focus >= 0 {
		doc.FocusNote = fmt.Sprintf("Opened on page %d at history index %d (outlined in red).", initial+1, opts.Focus)
		doc.FocusID = focusID(doc.Pages[initial])
	}
	return doc, nil
}

// focusID is the id of the focus element on page pg, or the page's own
// id when the focus element has none (a fault window begun on an earlier
// page).
func focusID(pg *tlPage) string {
	isFocus := func(class string) bool { return strings.Contains(" "+class+" ", " focus ") }
	for _, c := range pg.Cols {
		for _, o := range c.Ops {
			if isFocus(o.Class) {
				return o.ID
			}
		}
	}
	for _, f := range pg.Faults {
		if isFocus(f.Class) && f.ID != "" {
			return f.ID
		}
	}
	return pg.ID
}

func indexRange(events []history.Event) string {
	if len(events) == 0 {
		return "the history is empty"
	}
	return fmt.Sprintf("indices run %d–%d", events[0].Index, events[len(events)-1].Index)
}

// pageBounds returns the event positions [lo, hi) whose nemesis events
// belong to page k: from its first op's invoke to the next page's.
func (t *timeline) pageBounds(k, nPages int) (lo, hi int) {
	ops := t.p.Ops
	hi = len(t.p.Events)
	if k > 0 {
		lo = ops[k*t.opts.PageOps].InvPos
	}
	if k+1 < nPages {
		hi = ops[(k+1)*t.opts.PageOps].InvPos
	}
	return lo, hi
}

// pageOf returns the page showing the event at pos: its op's page, or
// for a nemesis event the page whose bounds hold it.
func (t *timeline) pageOf(pos, nPages int) int {
	if o, ok := t.byOpPos[pos]; ok {
		return o / t.opts.PageOps
	}
	for k := 0; k < nPages; k++ {
		if lo, hi := t.pageBounds(k, nPages); pos >= lo && pos < hi {
			return k
		}
	}
	return 0
}

func (t *timeline) summary(nPages int) []string {
	p := t.p
	var ok, fail, info, open int
	procs := map[history.Process]bool{}
	for i := range p.Ops {
		procs[p.Ops[i].Process] = true
		switch p.Ops[i].Type {
		case history.OK:
			ok++
		case history.Fail:
			fail++
		default:
			info++
			if !p.Ops[i].HasDone {
				open++
			}
		}
	}
	s := []string{
		fmt.Sprintf("%s events, %s ops over %s: %s ok, %s fail, %s info (%s never completed).",
			thousands(len(p.Events)), thousands(len(p.Ops)), seconds(p.End), thousands(ok), thousands(fail), thousands(info), thousands(open)),
		fmt.Sprintf("%s client processes, %s fault events, %s page(s) of at most %s ops; each op is on the page of its invoke.",
			thousands(len(procs)), thousands(len(t.nemPos)), thousands(nPages), thousands(t.opts.PageOps)),
	}
	if p.Orphans > 0 {
		s = append(s, fmt.Sprintf("%s completion(s) had no open invoke and are not shown.", thousands(p.Orphans)))
	}
	return s
}

// page lays out page k: rows are the page's events in history order.
func (t *timeline) page(k, nPages int) *tlPage {
	p := t.p
	from := min(k*t.opts.PageOps, len(p.Ops))
	to := min(from+t.opts.PageOps, len(p.Ops))
	lo, hi := t.pageBounds(k, nPages)
	return t.layout(k, nPages, p.Ops[from:to], from, lo, hi, func(pos int) *history.Event { return &p.Events[pos] })
}

// pageLink is the href of page k (0-based) from the file holding page
// from: a fragment in the same file, else the other file's name and the
// fragment.
func (t *timeline) pageLink(k, from int) string {
	id := "#page-" + strconv.Itoa(k+1)
	if t.fileOf == nil {
		return id
	}
	if f := t.fileOf(k); f != t.fileOf(from) {
		return f + id
	}
	return id
}

// layout lays out page k of nPages: its ops (from the from-th op of the
// history on), the nemesis events at positions [lo, hi), and ev, which
// returns the event at a position of the page's rows.
func (t *timeline) layout(k, nPages int, ops []op, from, lo, hi int, ev func(pos int) *history.Event) *tlPage {
	pg := &tlPage{N: k + 1, Of: nPages, ID: "page-" + strconv.Itoa(k+1)}
	if k > 0 {
		pg.Prev = t.pageLink(k-1, k)
	}
	if k+1 < nPages {
		pg.Next = t.pageLink(k+1, k)
	}
	to := from + len(ops)

	var rows []int
	for i := range ops {
		rows = append(rows, ops[i].InvPos)
		if ops[i].HasDone {
			rows = append(rows, ops[i].DonePos)
		}
	}
	for _, pos := range t.nemPos {
		if pos >= lo && pos < hi {
			rows = append(rows, pos)
		}
	}
	sort.Ints(rows)
	rows = dedupe(rows)
	rowOf := make(map[int]int, len(rows))
	for r, pos := range rows {
		rowOf[pos] = r
	}
	pg.Height = max(1, len(rows)) * rowPx
	if len(rows) == 0 {
		pg.Empty = true
		pg.Range = "no events"
	} else {
		first, last := ev(rows[0]), ev(rows[len(rows)-1])
		pg.Range = fmt.Sprintf("history indices %d–%d, %s – %s", first.Index, last.Index, seconds(first.Time), seconds(last.Time))
		if to > from {
			pg.Range = fmt.Sprintf("ops %s–%s, ", thousands(from+1), thousands(to)) + pg.Range
		}
	}
	for r := 0; r < len(rows); r += tickEvery {
		e := ev(rows[r])
		pg.Ticks = append(pg.Ticks, tlTick{Top: r * rowPx, Text: strconv.FormatFloat(float64(e.Time)/1e9, 'f', 6, 64) + " s",
			Title: fmt.Sprintf("history index %d at %s", e.Index, seconds(e.Time))})
	}

	// Fault windows that overlap the page's rows, in lanes.
	lanes := t.faults(pg, rows, lo, hi)
	pg.NemLeft = gutterPx
	laneW := nemLanePx
	if lanes*laneW > nemMaxPx {
		laneW = max(nemMinPx, nemMaxPx/lanes) // the labels elide; the titles keep the whole text
	}
	pg.NemWidth = max(1, lanes) * laneW
	pg.ProcLeft = pg.NemLeft + pg.NemWidth + 8
	for i := range pg.Faults {
		pg.Faults[i].Left = pg.NemLeft + pg.Faults[i].Left*laneW
		pg.Faults[i].Width = laneW
	}

	// One column per process on this page, in process order.
	cols := map[history.Process]*tlCol{}
	var procs []history.Process
	for i := range ops {
		if cols[ops[i].Process] == nil {
			cols[ops[i].Process] = &tlCol{Name: "process " + ops[i].Process.String()}
			procs = append(procs, ops[i].Process)
		}
	}
	sort.Slice(procs, func(i, j int) bool { return procs[i] < procs[j] })
	for i, pr := range procs {
		cols[pr].Left = pg.ProcLeft + i*colPx
		pg.Cols = append(pg.Cols, cols[pr])
	}
	pg.Width = pg.ProcLeft + max(1, len(procs))*colPx + 16
	for i := range ops {
		o := &ops[i]
		top := rowOf[o.InvPos]
		bottom := len(rows) - 1
		if o.HasDone {
			bottom = rowOf[o.DonePos]
		}
		c := cols[o.Process]
		c.Ops = append(c.Ops, t.opBox(o, top, bottom))
	}
	return pg
}

func dedupe(xs []int) []int {
	out := xs[:0]
	for i, x := range xs {
		if i == 0 || x != xs[i-1] {
			out = append(out, x)
		}
	}
	return out
}

func (t *timeline) opBox(o *op, top, bottom int) tlOp {
	cls := "op " + string(o.Type)
	if !o.HasDone {
		cls += " open"
	}
	if t.hl[o.InvPos] || (o.HasDone && t.hl[o.DonePos]) {
		cls += " hl"
	}
	if t.focus >= 0 && (t.focus == o.InvPos || (o.HasDone && t.focus == o.DonePos)) {
		cls += " focus"
	}
	shown := o.Invoke
	if o.F == history.FRead {
		shown = o.Done // a read's value is its result
		if !o.HasDone || o.Type != history.OK {
			shown = &history.Event{F: o.F, Process: o.Process}
		}
	}
	label := o.F + " " + truncate(o.Key, 12)
	switch {
	case o.F == history.FDelete:
		// A delete carries no value: "delete k3", not "delete k3 nil".
	case o.F != history.FRead || (o.HasDone && o.Type == history.OK):
		label += " " + shortValue(shown, boxRunes)
	}
	box := tlOp{ID: "op-" + strconv.FormatInt(o.Invoke.Index, 10), Class: cls, Label: label,
		Top: top * rowPx, Height: max(1, bottom-top+1)*rowPx - 2, Title: t.opTitle(o)}
	if o.HasDone {
		box.Done = strconv.FormatInt(o.Done.Index, 10)
	}
	return box
}

func (t *timeline) opTitle(o *op) string {
	var b strings.Builder
	b.Grow(160)
	b.WriteString("op ")
	b.WriteString(thousands(o.Ordinal + 1))
	b.WriteString(" · process ")
	b.WriteString(o.Process.String())
	b.WriteString("\n")
	b.WriteString(o.F)
	b.WriteByte(' ')
	b.WriteString(strconv.Quote(o.Key))
	if o.F != history.FRead && o.F != history.FDelete {
		b.WriteByte(' ')
		b.WriteString(valueText(o.Invoke))
	}
	b.WriteString("\ninvoke  #")
	b.WriteString(strconv.FormatInt(o.Invoke.Index, 10))
	b.WriteString(" at ")
	b.WriteString(seconds(o.Invoke.Time))
	if o.HasDone {
		d := o.Done
		typ := string(d.Type)
		b.WriteString("\n")
		b.WriteString(typ)
		for i := len(typ); i < 7; i++ {
			b.WriteByte(' ')
		}
		b.WriteString(" #")
		b.WriteString(strconv.FormatInt(d.Index, 10))
		b.WriteString(" at ")
		b.WriteString(seconds(d.Time))
		b.WriteString(" (latency ")
		b.WriteString(duration(d.Time - o.Invoke.Time))
		b.WriteString(")")
		if o.F == history.FRead {
			b.WriteString("\nvalue   ")
			b.WriteString(valueText(d))
		}
		if d.Node != "" {
			b.WriteString("\nnode    ")
			b.WriteString(d.Node)
		}
		if d.Error != "" {
			b.WriteString("\nerror   ")
			b.WriteString(d.Error)
		}
	} else {
		b.WriteString("\nnever completed: outcome unknown")
	}
	return b.String()
}

// faults adds the page's fault boxes (Left holds the lane until the
// caller converts it to pixels) and bands, and returns the lanes used.
func (t *timeline) faults(pg *tlPage, rows []int, lo, hi int) int {
	if len(rows) == 0 {
		return 0
	}
	first, last := rows[0], rows[len(rows)-1]
	var laneEnd []int // last row used by each lane
	for i, w := range t.windows {
		sp, ep := t.winPos[i][0], t.winPos[i][1]
		if isInstant(w) {
			if sp < lo || sp >= hi {
				continue
			}
			ep = sp
		}
		if sp > last || (ep >= 0 && ep < first) {
			continue
		}
		top := sort.SearchInts(rows, sp) // first row at or after the start
		bottom := len(rows) - 1
		if ep >= 0 {
			bottom = sort.SearchInts(rows, ep+1) - 1 // last row at or before the end
		}
		if bottom < top {
			bottom = top
		}
		lane := -1
		for l, e := range laneEnd {
			if e < top {
				lane = l
				break
			}
		}
		if lane < 0 {
			lane = len(laneEnd)
			laneEnd = append(laneEnd, 0)
		}
		laneEnd[lane] = bottom
		cls := "fault " + t.kinds[w.F]
		if isInstant(w) {
			cls += " instant"
		}
		if w.F == history.FaultNote {
			cls += " mark"
		}
		if sp < first {
			cls += " cont" // began on an earlier page
		}
		if ep < 0 || ep > last {
			cls += " more" // goes on past this page
		}
		if t.hl[sp] || (ep >= 0 && t.hl[ep]) {
			cls += " hl"
		}
		if t.focus >= 0 && (t.focus == sp || t.focus == ep) && t.focus >= lo && t.focus < hi {
			cls += " focus"
		}
		f := tlFault{Class: cls, Label: truncate(w.Label, 60), Title: faultTitle(w, t.end),
			Top: top * rowPx, Height: (bottom-top+1)*rowPx - 2, Left: lane}
		if sp >= lo && sp < hi {
			f.ID = "ev-" + strconv.FormatInt(w.StartIndex, 10)
		}
		if w.EndIndex >= 0 && w.EndIndex != w.StartIndex {
			f.Done = strconv.FormatInt(w.EndIndex, 10)
		}
		pg.Faults = append(pg.Faults, f)
		if !isInstant(w) {
			pg.Bands = append(pg.Bands, tlBand{Class: "band " + t.kinds[w.F], Top: f.Top, Height: f.Height + 2})
		}
	}
	return len(laneEnd)
}

func faultTitle(w history.Window, end int64) string {
	if isInstant(w) {
		return fmt.Sprintf("%s\n#%d at %s", w.Label, w.StartIndex, seconds(w.Start))
	}
	s := fmt.Sprintf("%s\nfrom #%d at %s\n", w.Label, w.StartIndex, seconds(w.Start))
	if w.End < 0 {
		return s + fmt.Sprintf("never closed (history ends at %s)", seconds(end))
	}
	return s + fmt.Sprintf("to   #%d at %s (%s)", w.EndIndex, seconds(w.End), duration(w.End-w.Start))
}

// OpsHTML renders the column's op boxes: what the template would write
// for each (every value escaped as html/template escapes text and quoted
// attributes: TestTimelineEscapes), written directly, since a long run has
// a million of them and the template's reflection would be most of the
// time spent on the timeline.
func (c *tlCol) OpsHTML() template.HTML {
	var b strings.Builder
	n := 0
	for i := range c.Ops {
		n += 96 + len(c.Ops[i].Class) + len(c.Ops[i].Title) + len(c.Ops[i].Label)
	}
	b.Grow(n + n/8)
	esc := func(s string) { escapeTo(&b, s) }
	for i := range c.Ops {
		o := &c.Ops[i]
		b.WriteString(`<div class="`)
		esc(o.Class)
		b.WriteString(`" id="`)
		esc(o.ID)
		b.WriteByte('"')
		if o.Done != "" {
			b.WriteString(` data-c="`)
			esc(o.Done)
			b.WriteByte('"')
		}
		b.WriteString(` style="top:`)
		b.WriteString(strconv.Itoa(o.Top))
		b.WriteString(`px;height:`)
		b.WriteString(strconv.Itoa(o.Height))
		b.WriteString(`px" title="`)
		esc(o.Title)
		b.WriteString(`">`)
		esc(o.Label)
		b.WriteString("</div>\n")
	}
	return template.HTML(b.String())
}

// escapeTo writes s to b escaped as template.HTMLEscapeString escapes it
// (TestEscapeToIsHTMLEscape): safe as text and inside a quoted attribute.
func escapeTo(b *strings.Builder, s string) {
	if strings.IndexAny(s, "\"'&<>\x00") < 0 {
		b.WriteString(s)
		return
	}
	last := 0
	for i := 0; i < len(s); i++ {
		var rep string
		switch s[i] {
		case '"':
			rep = "&#34;"
		case '\'':
			rep = "&#39;"
		case '&':
			rep = "&amp;"
		case '<':
			rep = "&lt;"
		case '>':
			rep = "&gt;"
		case 0:
			rep = "\uFFFD"
		default:
			continue
		}
		b.WriteString(s[last:i])
		b.WriteString(rep)
		last = i + 1
	}
	b.WriteString(s[last:])
}

// TicksHTML renders the page's time labels, as OpsHTML renders op boxes.
func (pg *tlPage) TicksHTML() template.HTML {
	var b strings.Builder
	for _, t := range pg.Ticks {
		b.WriteString(`<div class="tick" style="top:`)
		b.WriteString(strconv.Itoa(t.Top))
		b.WriteString(`px" title="`)
		escapeTo(&b, t.Title)
		b.WriteString(`">`)
		escapeTo(&b, t.Text)
		b.WriteString("</div>\n")
	}
	return template.HTML(b.String())
}
