package campaign

import (
	"bytes"
	"fmt"
	"html/template"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/splitbrain/splitbrain/harness"
	"github.com/splitbrain/splitbrain/model"
)

// cellRow is one cell's line in the matrix table.
type cellRow struct {
	Cell   string
	Totals Totals
	Ops    int // client operations over the cell's runs with results
	OK     int // of which ended ok
	Low    int // runs flagged for a low ok share
}

// OKShare is the share of the cell's client operations that ended ok.
func (c cellRow) OKShare() float64 {
	if c.Ops == 0 {
		return 0
	}
	return float64(c.OK) / float64(c.Ops)
}

type summaryData struct {
	X        *Index
	Line     string
	Groups   []Group
	Cells    []cellRow
	Banner   string
	BannerOK string // "ok", "fail" or "unknown"
	Seeds    string
	Low      int // runs flagged for a low ok share
}

// writeSummary writes summary.html: failures first, grouped by
// signature, each run with its repro command, links into its run
// directory and its shrunk schedule where one exists; then runs without a
// verdict; then every cell's counts and the full list.
func writeSummary(x *Index) error {
	d := summaryData{X: x, Line: x.describe(), Groups: Groups(x.Runs)}
	byCell := map[string]*cellRow{}
	var minSeed, maxSeed uint64
	for i, e := range x.Runs {
		r := byCell[e.Cell]
		if r == nil {
			r = &cellRow{Cell: e.Cell}
			byCell[e.Cell] = r
			d.Cells = append(d.Cells, cellRow{Cell: e.Cell})
		}
		r.Totals.add(e.Verdict)
		if e.Shares != nil {
			r.Ops += e.Shares.Ops
			r.OK += int(math.Round(e.Shares.OK * float64(e.Shares.Ops)))
		}
		if e.LowOKShare {
			r.Low++
			d.Low++
		}
		if i == 0 || e.Seed < minSeed {
			minSeed = e.Seed
		}
		if e.Seed > maxSeed {
			maxSeed = e.Seed
		}
	}
	for i := range d.Cells {
		d.Cells[i] = *byCell[d.Cells[i].Cell]
	}
	if len(x.Runs) > 0 {
		d.Seeds = fmt.Sprintf("%d–%d", minSeed, maxSeed)
	}
	t := x.Totals
	switch {
	case t.Invalid > 0:
		d.Banner, d.BannerOK = fmt.Sprintf("%d of %d runs failed", t.Invalid, t.Runs), "fail"
	case t.Unknown+t.Errors > 0:
		d.Banner, d.BannerOK = fmt.Sprintf("no failure, but %d of %d runs have no verdict", t.Unknown+t.Errors, t.Runs), "unknown"
	case t.Runs == 0:
		d.Banner, d.BannerOK = "no runs", "unknown"
	default:
		d.Banner, d.BannerOK = fmt.Sprintf("all %d runs valid", t.Runs), "ok"
	}
	var buf bytes.Buffer
	if err := summaryTmpl.Execute(&buf, d); err != nil {
		return err
	}
	tmp := filepath.Join(x.dir, "."+SummaryFile+".tmp")
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(x.dir, SummaryFile))
}

var summaryTmpl = template.Must(template.New("summary").Funcs(template.FuncMap{
	"join":  strings.Join,
	"upper": func(v Verdict) string { return strings.ToUpper(string(v)) },
	"time":  func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	"dur": func(s float64) string {
		return time.Duration(s * float64(time.Second)).Round(100 * time.Millisecond).String()
	},
	"link":   func(dir, file string) string { return filepath.ToSlash(filepath.Join(dir, file)) },
	"lin":    func() string { return harness.LinearHTML },
	"tl":     func() string { return harness.TimelineFile },
	"shrunk": func() string { return ShrunkFile },
	"budget": func(d harness.Duration) string { return time.Duration(d).String() },
	"pct":    func(f float64) string { return fmt.Sprintf("%.1f%%", 100*f) },
	"minok":  func() string { return fmt.Sprintf("%.0f%%", 100*model.MinOKShare) },
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>splitbrain campaign {{.X.ID}}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;padding:0 1em;color:#222}
h1{font-size:1.4em;margin-bottom:.2em} h2{margin-top:1.6em;border-bottom:1px solid #ddd}
h3{font-size:1.05em;margin:1.2em 0 .3em}
.banner{padding:.6em 1em;border-radius:6px;font-weight:600;font-size:1.1em}
.fail{background:#fde2e1;color:#8a1c16}.ok{background:#e2f5e5;color:#1d5e2a}.unknown{background:#fff4d6;color:#7a5a00}
.dot{display:inline-block;width:.8em;height:.8em;border-radius:50%;vertical-align:middle;margin-right:.4em}
.green{background:#2ea043}.yellow{background:#d4a72c}.red{background:#cf222e}.grey{background:#8c959f}
table{border-collapse:collapse;margin:.4em 0}td,th{padding:.2em .7em;border-bottom:1px solid #eee;text-align:left;vertical-align:top}
code,pre{font:12px/1.4 ui-monospace,monospace;background:#f6f8fa;padding:.1em .3em;border-radius:3px}
pre{padding:.5em;overflow-x:auto;white-space:pre-wrap}
.v-invalid{color:#cf222e;font-weight:600}.v-valid{color:#1a7f37}.v-unknown,.v-error{color:#9a6700;font-weight:600}
.muted{color:#777}.explain{max-width:70em}.low{color:#9a6700;font-weight:600}.stopped{color:#7d4e00}
</style></head><body>
<h1>splitbrain campaign {{.X.ID}}</h1>
<div class="banner {{.BannerOK}}">{{.Banner}}</div>
<p>{{.Line}}</p>
<table>
<tr><th>code under test</th><td><span class="dot {{.X.Git.Color}}" title="{{.X.Git.Status}}"></span>{{.X.Git.String}}{{if .X.Git.Repo}} <span class="muted">({{.X.Git.Repo}}{{if .X.Git.Commit}}, {{.X.Git.Commit}}{{end}})</span>{{end}}
{{- if .X.Git.Dirty}}<br><span class="muted">changed: {{join .X.Git.Dirty ", "}}{{if gt .X.Git.Changes (len .X.Git.Dirty)}}, … ({{.X.Git.Changes}} in all){{end}}</span>{{end}}</td></tr>
<tr><th>mode</th><td>{{.X.Params.Mode}}</td></tr>
{{- if .X.Params.Scenarios}}<tr><th>scenarios</th><td>{{join .X.Params.Scenarios ", "}}</td></tr>{{end}}
{{- range $i, $n := .X.Params.Nemesis}}{{if eq $i 0}}<tr><th>fault mixes</th><td>{{end}}{{if $i}}; {{end}}{{join $n ","}}{{end}}{{if .X.Params.Nemesis}}</td></tr>{{end}}
<tr><th>seeds</th><td>{{if .Seeds}}{{.Seeds}}{{else}}none{{end}}{{if .X.Params.Budget}} (budget {{budget .X.Params.Budget}}){{end}}</td></tr>
{{- if .X.Params.Bugs}}<tr><th>bugs enabled</th><td>{{join .X.Params.Bugs ", "}}</td></tr>{{end}}
{{- if .X.Params.RunArgs}}<tr><th>run flags</th><td><code>{{join .X.Params.RunArgs " "}}</code></td></tr>{{end}}
{{- if .X.Merged}}<tr><th>merged from</th><td>{{range .X.Merged}}<a href="{{.}}/summary.html">{{.}}</a> {{end}}</td></tr>
{{- else}}<tr><th>shard</th><td>{{.X.Params.Shard}}</td></tr>{{end}}
{{- if .Low}}<tr><th>tested little</th><td class="low">{{.Low}} run{{if gt .Low 1}}s{{end}} with under {{minok}} of operations ok (marked in the tables below)</td></tr>{{end}}
<tr><th>started</th><td>{{time .X.Started}}{{if not .X.Finished.IsZero}}, finished {{time .X.Finished}}{{end}}</td></tr>
{{- if .X.Command}}<tr><th>command</th><td><code>{{.X.Command}}</code></td></tr>{{end}}
</table>

{{if .Groups}}<h2>Runs that did not pass, by signature</h2>
<table>
<tr><th>verdict</th><th>signature</th><th>runs</th><th>first repro</th></tr>
{{range $i, $g := .Groups}}<tr><td class="v-{{.Verdict}}">{{upper .Verdict}}</td><td><a href="#g{{$i}}">{{.Signature}}</a></td><td>{{len .Runs}}</td><td><code>{{(index .Runs 0).Repro}}</code></td></tr>
{{end}}</table>
{{range $i, $g := .Groups}}{{with index .Runs 0}}
<h3 id="g{{$i}}"><span class="v-{{.Verdict}}">{{upper .Verdict}}</span> {{$g.Signature}} — {{len $g.Runs}} run{{if gt (len $g.Runs) 1}}s{{end}}</h3>
<p>First: seed {{.Seed}}, {{.Cell}} · <a href="{{.Dir}}/">dir</a> · <a href="{{link .Dir tl}}">timeline</a>{{if eq .Verdict "invalid"}} · <a href="{{link .Dir lin}}">diagram</a>{{end}}<br>
repro: <code>{{.Repro}}</code></p>
{{- if .Explanation}}<p class="explain">{{.Explanation}}</p>{{end}}
{{- if .Error}}<p class="explain">error: {{.Error}}</p>{{end}}
{{- template "stopped" .}}
{{- if eq .Verdict "invalid"}}{{if .Shrunk}}<details open><summary>shrunk schedule</summary><pre>{{.Shrunk}}</pre></details>
{{- else}}<p class="muted">No shrunk schedule: shrinking is splitbrain selftest's work; a {{shrunk}} in a run directory appears here.</p>{{end}}{{end}}
{{end}}<details{{if le (len $g.Runs) 5}} open{{end}}><summary>all {{len $g.Runs}} runs</summary>
<table>
<tr><th>seed</th><th>cell</th><th>run</th><th>repro</th></tr>
{{range $g.Runs}}<tr><td>{{.Seed}}</td><td>{{.Cell}}</td>
<td><a href="{{.Dir}}/">dir</a> · <a href="{{link .Dir tl}}">timeline</a>{{if eq .Verdict "invalid"}} · <a href="{{link .Dir lin}}">diagram</a>{{end}}</td>
<td><code>{{.Repro}}</code>
{{- if .Explanation}}<details><summary>what went wrong</summary><p class="explain">{{.Explanation}}</p></details>{{end}}
{{- if .Error}}<details><summary>error</summary><p class="explain">{{.Error}}</p></details>{{end}}
{{- template "stopped" .}}
{{- if .Shrunk}}<details><summary>shrunk schedule</summary><pre>{{.Shrunk}}</pre></details>{{end}}
</td></tr>
{{end}}</table></details>
{{end}}{{else}}<p>Every run passed.</p>{{end}}

<h2>Cells</h2>
<table><tr><th>cell</th><th>runs</th><th>valid</th><th>invalid</th><th>unknown</th><th>errors</th><th title="share of the client operations that ended ok, over the cell's runs">ok ops</th><th title="runs with under {{minok}} of operations ok">tested little</th></tr>
{{range .Cells}}<tr><td>{{.Cell}}</td><td>{{.Totals.Runs}}</td><td>{{.Totals.Valid}}</td><td{{if .Totals.Invalid}} class="v-invalid"{{end}}>{{.Totals.Invalid}}</td><td>{{.Totals.Unknown}}</td><td>{{.Totals.Errors}}</td><td>{{if .Ops}}{{pct .OKShare}}{{else}}—{{end}}</td><td{{if .Low}} class="low"{{end}}>{{.Low}}</td></tr>
{{end}}</table>

<h2>All runs</h2>
<details><summary>{{len .X.Runs}} runs</summary>
<table><tr><th>#</th><th>cell</th><th>seed</th><th>verdict</th><th>signature</th><th>wall</th><th>test</th><th title="share of the run's client operations that ended ok">ok ops</th><th>run</th></tr>
{{range .X.Runs}}<tr><td>{{.Index}}</td><td>{{.Cell}}</td><td>{{.Seed}}</td><td class="v-{{.Verdict}}">{{.Verdict}}{{if .Incomplete}} <span class="muted" title="{{.Incomplete}}">(did not finish)</span>{{end}}{{if .CheckTimedOut}} <span class="muted" title="{{.CheckTimedOut}}">(check timed out)</span>{{end}}</td><td>{{.Signature}}</td><td>{{dur .WallSeconds}}</td><td>{{dur .TestSeconds}}</td><td{{if .LowOKShare}} class="low" title="under {{minok}} of operations ok: this run tested little"{{end}}>{{with .Shares}}{{pct .OK}} of {{.Ops}}{{else}}—{{end}}</td><td><a href="{{.Dir}}/">dir</a></td></tr>
{{end}}</table></details>
</body></html>
{{define "stopped"}}
{{- if .Incomplete}}<p class="explain stopped">did not finish: {{.Incomplete}}</p>{{end}}
{{- if .CheckTimedOut}}<p class="explain stopped">check timed out: {{.CheckTimedOut}}</p>{{end}}
{{- range .Skipped}}<p class="explain stopped">not drawn: {{.}}</p>{{end}}
{{- end}}`))
