package model

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/anishathalye/porcupine"
)

// The diagram of a failing history is porcupine's visualization, with
// three changes:
//
//   - Text that porcupine's page puts into innerHTML is escaped. Its
//     tooltips build HTML from DescribeState and DescribeOperationMetadata
//     (index.js, handleMouseMove); operation descriptions, annotation
//     texts and row labels go through textContent and stay as they are,
//     since escaping them would show the entities. A value or error text
//     such as `<img src=x onerror=…>` is therefore shown, never run.
//   - The main file shows a window of the first failing key: the
//     operations overlapping the end of porcupine's longest linearizable
//     order and the operation it cannot place, instead of a page as wide
//     as the history (about 200,000 px for a one-minute run). The whole
//     diagram of every failing key is one link away, in a second file.
//   - The row labels (clients, fault rows) stay in view when the page
//     scrolls sideways, as it does after "jump to first error".
//
// The window is cut from the data porcupine embeds in its page (the
// partitions' operations, partial linearizations and annotations), which
// keeps porcupine's drawing and its state descriptions exact. That data
// is not part of porcupine's API: parseDiagram refuses a page it does not
// recognize, field for field, so a porcupine upgrade that changes it
// fails the tests rather than drawing something else.

// Window bounds: how many steps of the longest linearizable order before
// the point where it gets stuck, and how many operations invoked after
// that point, the window shows (with every operation overlapping them).
const (
	windowBefore = 12
	windowAfter  = 8
)

// fullDiagramPath is where the whole diagram goes when the file at path
// shows a window of it: linearizability.html → linearizability-full.html.
func fullDiagramPath(path string) string {
	ext := filepath.Ext(path)
	return strings.TrimSuffix(path, ext) + "-full" + ext
}

// diagramModel is m as porcupine's page may show it: the descriptions
// porcupine puts into innerHTML are escaped.
func diagramModel(m porcupine.Model) porcupine.Model {
	state, meta := m.DescribeState, m.DescribeOperationMetadata
	if state != nil {
		m.DescribeState = func(s interface{}) string { return html.EscapeString(state(s)) }
	}
	if meta != nil {
		m.DescribeOperationMetadata = func(info interface{}) string { return html.EscapeString(meta(info)) }
	}
	return m
}

// diagramKeys describes the failing keys drawn, for the page's note.
type diagramKeys struct {
	First   string // the key of partition 0, the one the window shows
	Count   int    // failing keys drawn in the full diagram
	Failing int    // failing keys in all (more than Count past MaxKeptFailingKeys)
}

// drawnNote says, when not every failing key is drawn, which are.
func (k diagramKeys) drawnNote() string {
	if k.Failing <= k.Count {
		return ""
	}
	return fmt.Sprintf(" (of the %d keys that are not linearizable, the first %d by name are drawn)", k.Failing, k.Count)
}

// writeDiagrams writes the diagram of info to path: a window of the first
// partition and, unless that window is the whole diagram, the whole
// diagram to fullDiagramPath(path). It returns the base name of the full
// file, or "" when none was needed.
func writeDiagrams(m porcupine.Model, info porcupine.LinearizationInfo, keys diagramKeys, path string) (string, error) {
	var buf bytes.Buffer
	if err := porcupine.Visualize(diagramModel(m), info, &buf); err != nil {
		return "", err
	}
	page, err := parseDiagram(buf.Bytes())
	if err != nil {
		return "", err
	}
	win, shown := page.Data.window(windowBefore, windowAfter)
	if len(page.Data.Partitions) == 1 && shown.Ops == shown.Total {
		b, err := page.render(page.Data, "")
		if err != nil {
			return "", err
		}
		return "", os.WriteFile(path, b, 0o644)
	}
	fullPath := fullDiagramPath(path)
	full, err := page.render(page.Data, fullNote(keys))
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(fullPath, full, 0o644); err != nil {
		return "", err
	}
	b, err := page.render(win, windowNote(keys, shown, filepath.Base(fullPath))+showErrorJS)
	if err != nil {
		return "", err
	}
	return filepath.Base(fullPath), os.WriteFile(path, b, 0o644)
}

// windowNote heads the window page: what it shows and where the rest is.
func windowNote(keys diagramKeys, shown windowShown, full string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<p id="sb-note">Key <code>%s</code>: %d of its %d operations, around the first one that the longest linearizable order found (%d operations) cannot place`,
		html.EscapeString(keys.First), shown.Ops, shown.Total, shown.Prefix)
	if keys.Count > 1 {
		fmt.Fprintf(&b, "; %d keys are not linearizable", max(keys.Count, keys.Failing))
	}
	fmt.Fprintf(&b, `. <a id="sb-full" href="%s">The full diagram</a> shows every operation of `, html.EscapeString(full))
	if keys.Count > 1 {
		b.WriteString("every failing key" + keys.drawnNote() + ".</p>")
	} else {
		b.WriteString("the key" + keys.drawnNote() + ".</p>")
	}
	return b.String()
}

// fullNote heads the full page.
func fullNote(keys diagramKeys) string {
	what := "key <code>" + html.EscapeString(keys.First) + "</code>"
	if keys.Count > 1 {
		what = fmt.Sprintf("the %d keys that are not linearizable", keys.Count)
	}
	return `<p id="sb-note">Every operation of ` + what + keys.drawnNote() + `. Use "jump to first error" to find where the longest linearizable order gets stuck.</p>`
}

// vizData mirrors the data porcupine v1.3 embeds in its page
// (visualization.go: visualizationData). Timestamps are porcupine's
// compressed ones, 100 apart; OriginalStart and OriginalEnd are ours
// (history indexes).
type vizData struct {
	Partitions  []vizPartition
	Annotations []vizAnnotation
}

type vizPartition struct {
	History               []vizOp
	PartialLinearizations [][]vizStep
	Largest               map[int]int // operation → its longest partial linearization
}

type vizOp struct {
	ClientId      int
	Start         int
	OriginalStart string
	End           int
	OriginalEnd   string
	Description   string
	Metadata      string
}

type vizStep struct {
	Index            int
	StateDescription string
}

type vizAnnotation struct {
	ClientId        int
	Tag             string
	Start           int
	End             int
	Description     string
	Details         string
	Annotation      bool
	TextColor       string
	BackgroundColor string
}

// diagramPage is porcupine's page cut around its data.
type diagramPage struct {
	head, tail string // before and after the data's JSON
	Data       vizData
}

// Markers in porcupine's page (visualization/index.html) where the data
// sits and where our additions go.
const (
	dataMarker   = "const data = "
	renderMarker = "render(data)\n"
	headEnd      = "</head>"
	canvasMarker = `<div id="canvas"></div>`
)

// errDiagramLayout is a porcupine page this code does not know.
var errDiagramLayout = errors.New("model: porcupine's visualization page is not laid out as porcupine v1.3's")

// parseDiagram cuts porcupine's page around its data and decodes it,
// refusing a page whose layout or data fields it does not know.
func parseDiagram(page []byte) (*diagramPage, error) {
	s := string(page)
	for _, m := range []string{dataMarker, renderMarker, headEnd, canvasMarker} {
		if strings.Count(s, m) != 1 {
			return nil, fmt.Errorf("%w: %q occurs %d times", errDiagramLayout, m, strings.Count(s, m))
		}
	}
	i := strings.Index(s, dataMarker) + len(dataMarker)
	n := strings.IndexByte(s[i:], '\n')
	if n < 0 {
		return nil, fmt.Errorf("%w: no line end after the data", errDiagramLayout)
	}
	p := &diagramPage{head: s[:i], tail: s[i+n:]}
	dec := json.NewDecoder(strings.NewReader(s[i : i+n]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p.Data); err != nil {
		return nil, fmt.Errorf("%w: its data: %v", errDiagramLayout, err)
	}
	return p, nil
}

// render writes the page with data, note (HTML, may be empty; it may
// hold a script, which runs before porcupine's has drawn anything) above
// the diagram, and our style and script.
func (p *diagramPage) render(data vizData, note string) ([]byte, error) {
	// encoding/json escapes <, > and & in strings, so the data cannot end
	// the script element it sits in.
	j, err := json.Marshal(data)
	if err != nil {
		return nil, err
	}
	head := strings.Replace(p.head, headEnd, "<style>"+diagramCSS+"</style>\n"+headEnd, 1)
	head = strings.Replace(head, canvasMarker, note+canvasMarker, 1)
	tail := strings.Replace(p.tail, renderMarker, renderMarker+stickyLabelsJS, 1)
	return []byte(head + string(j) + tail), nil
}

// showErrorJS, in the window page, scrolls it sideways on load to centre
// the first illegal step of the longest order (the red mark "jump to
// first error" goes to). It scrolls this document only: scrollIntoView,
// which porcupine's jump uses, would also scroll a page that frames it.
const showErrorJS = `<script>
      window.addEventListener('load', () => {
        const points = Array.from(document.querySelectorAll('line.linearization-invalid.linearization-point'))
          .filter((p) => !p.parentElement.classList.contains('hidden'))
          .map((p) => p.getBoundingClientRect().left + window.scrollX)
        if (points.length > 0) {
          window.scrollTo({left: Math.max(0, Math.min(...points) - window.innerWidth / 2), top: window.scrollY})
        }
      })
    </script>`

// diagramCSS fixes the note below porcupine's fixed legend (both stay in
// view however the page scrolls), lets the legend's last words show, and
// styles the row labels' pane.
const diagramCSS = `
#legend svg { overflow: visible; }
#sb-note { position: fixed; top: 42px; left: 10px; max-width: min(60em, calc(100vw - 30px)); margin: 0;
  padding: 2px 4px; font-size: 0.9rem; background: rgba(255, 255, 255, 0.85); backdrop-filter: blur(3px); border-radius: 4px; }
#sb-note ~ #canvas { margin-top: 100px; }
#sb-labels { pointer-events: none; }
#sb-labels .sb-labels-bg { fill: transparent; }
#sb-labels.scrolled .sb-labels-bg { fill: rgba(255, 255, 255, 0.92); }
`

// stickyLabelsJS moves the row labels porcupine draws at the left of its
// SVG into a pane on top that follows horizontal scrolling, so that they
// stay in view after "jump to first error".
const stickyLabelsJS = `
      ;(function stickyLabels() {
        const svg = document.querySelector('#canvas > svg')
        const bg = svg && svg.querySelector(':scope > g')
        if (!bg) return
        const labels = Array.from(bg.querySelectorAll(':scope > text'))
        if (labels.length === 0) return
        let right = 0
        for (const l of labels) {
          const b = l.getBBox()
          right = Math.max(right, b.x + b.width)
        }
        const ns = 'http://www.w3.org/2000/svg'
        const pane = document.createElementNS(ns, 'g')
        pane.setAttribute('id', 'sb-labels')
        const back = document.createElementNS(ns, 'rect')
        back.setAttribute('class', 'sb-labels-bg')
        back.setAttribute('x', 0)
        back.setAttribute('y', 0)
        back.setAttribute('width', right + 6)
        back.setAttribute('height', svg.getAttribute('height'))
        pane.append(back, ...labels)
        svg.append(pane)
        const place = () => {
          const shift = Math.max(0, -svg.getBoundingClientRect().left)
          pane.setAttribute('transform', 'translate(' + shift + ' 0)')
          pane.classList.toggle('scrolled', shift > 0)
        }
        window.addEventListener('scroll', place, {passive: true})
        place()
      })()
`

// windowShown says what a window holds: Ops of the partition's Total
// operations, around the end of a longest linearizable order of Prefix
// operations.
type windowShown struct {
	Ops, Total, Prefix int
}

// window returns the data cut to a window of partition 0 around the point
// where its longest partial linearization P gets stuck: stuck is the
// earliest end among the operations not in P (no operation can be
// linearized after it without it, so P cannot be extended past it). The
// window spans from the earliest start of P's last `before` steps to the
// start of the `after`-th operation invoked after stuck, and holds every
// operation that overlaps it.
//
// Every operation ending before the window is in P (it ends before
// stuck), and every operation of P starts before stuck; so P, cut to the
// window, is drawn with the states porcupine computed and ends where the
// full diagram's does. Another partial linearization is kept only if it
// holds every operation before the window and none after it: otherwise
// porcupine's page would place its illegal next steps among the wrong
// operations. Annotations are cut to the window's span.
func (d vizData) window(before, after int) (vizData, windowShown) {
	if len(d.Partitions) == 0 {
		return d, windowShown{}
	}
	p := d.Partitions[0]
	n := len(p.History)
	var longest []vizStep
	if len(p.PartialLinearizations) > 0 {
		longest = p.PartialLinearizations[0]
	}
	shown := windowShown{Total: n, Prefix: len(longest)}
	inLongest := make([]bool, n)
	for _, s := range longest {
		inLongest[s.Index] = true
	}
	stuck := math.MaxInt
	for i, o := range p.History {
		if !inLongest[i] {
			stuck = min(stuck, o.End)
		}
	}
	if stuck == math.MaxInt {
		// Everything linearized (a search cut short): show it all.
		shown.Ops = n
		return vizData{Partitions: d.Partitions[:1], Annotations: d.Annotations}, shown
	}
	lo := stuck
	for _, s := range longest[max(0, len(longest)-before):] {
		lo = min(lo, p.History[s.Index].Start)
	}
	var later []int
	for _, o := range p.History {
		if o.Start > stuck {
			later = append(later, o.Start)
		}
	}
	sort.Ints(later)
	hi := stuck
	if len(later) > 0 {
		hi = later[min(after, len(later))-1]
	}

	newIndex := make([]int, n)
	// Empty, never nil: porcupine's script iterates these.
	out := vizPartition{History: []vizOp{}, PartialLinearizations: [][]vizStep{}, Largest: map[int]int{}}
	for i, o := range p.History {
		newIndex[i] = -1
		if o.Start <= hi && o.End >= lo {
			newIndex[i] = len(out.History)
			out.History = append(out.History, o)
		}
	}
	shown.Ops = len(out.History)
	for _, lin := range p.PartialLinearizations {
		in := make([]bool, n)
		for _, s := range lin {
			in[s.Index] = true
		}
		fits := true
		for i, o := range p.History {
			if o.End < lo && !in[i] || o.Start > hi && in[i] {
				fits = false
				break
			}
		}
		if !fits {
			continue
		}
		var cut []vizStep
		for _, s := range lin {
			if j := newIndex[s.Index]; j >= 0 {
				cut = append(cut, vizStep{Index: j, StateDescription: s.StateDescription})
			}
		}
		if len(cut) == 0 {
			continue
		}
		for _, s := range cut {
			if _, ok := out.Largest[s.Index]; !ok {
				out.Largest[s.Index] = len(out.PartialLinearizations)
			}
		}
		out.PartialLinearizations = append(out.PartialLinearizations, cut)
	}
	notes := []vizAnnotation{}
	for _, a := range d.Annotations {
		if a.End < lo || a.Start > hi {
			continue
		}
		a.Start, a.End = max(a.Start, lo), min(a.End, hi)
		notes = append(notes, a)
	}
	return vizData{Partitions: []vizPartition{out}, Annotations: notes}, shown
}
