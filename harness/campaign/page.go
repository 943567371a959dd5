package campaign

import (
	"bytes"
	"html/template"
	"net/http"
	"net/url"
	"path"
	"path/filepath"

	"github.com/splitbrain/splitbrain/harness/serve"
)

// ServePage is the campaigns page of `splitbrain serve`: every campaign
// under <results>/campaigns, newest first, with its totals, its failures
// grouped by signature, the git stamp of the code it tested, and links to
// its summary and its runs. Its runs are listed in serve's run index too,
// labelled with their campaign (RunDirs).
func ServePage() serve.Page {
	return serve.Page{Slug: "campaigns", Title: "Campaigns", Serve: servePage, RunDirs: runDirs}
}

// runDirs are the directories of every campaign's runs,
// <results>/campaigns/<id>/runs/<key>/, each laid out as a results
// directory (<name>/<time>/).
func runDirs(v *serve.View) []serve.RunDir {
	ids, _ := v.Dirs("campaigns")
	var out []serve.RunDir
	for _, id := range ids {
		keys, _ := v.Dirs(path.Join("campaigns", id, RunsDir))
		for _, k := range keys {
			out = append(out, serve.RunDir{Dir: path.Join("campaigns", id, RunsDir, k), Label: "campaign " + id, Href: campaignHref(id)})
		}
	}
	return out
}

// campaignHref is the campaign's place on the campaigns page.
func campaignHref(id string) string { return "/campaigns/#" + anchor(id) }

// anchor is the id attribute of a campaign's section.
func anchor(id string) string { return "c-" + url.PathEscape(id) }

// Verdict badges use serve's classes: .badge.v-valid (green),
// .badge.v-invalid (red), .badge.v-unknown (yellow), .badge.v-incomplete
// (grey); a count of zero is a .badge.zero, outlined. The section takes
// the campaign's worst verdict as v-….
var pageTmpl = template.Must(template.New("campaigns").Funcs(template.FuncMap{
	"file":   serve.FileURL,
	"run":    serve.RunURL,
	"anchor": anchor,
}).Parse(`
{{define "count"}}<span class="badge {{if .N}}v-{{.V}}{{else}}zero{{end}}">{{.N}} {{.Label}}</span>{{end}}
<h1>Campaigns</h1>
{{if not .}}<p>No campaigns yet. Start one with <code>splitbrain campaign --seeds 200 --workers 2</code>.</p>{{end}}
{{range .}}
<section id="{{anchor .ID}}" class="campaign v-{{.Worst}}">
  <h2>{{.ID}} <small>{{.Started.UTC.Format "2006-01-02 15:04:05 UTC"}}</small></h2>
  <p>{{.Totals.Runs}} of {{.Planned}} runs:
     {{template "count" (.Count "valid")}}
     {{template "count" (.Count "invalid")}}
     {{template "count" (.Count "unknown")}}
     {{if .Totals.Errors}}{{template "count" (.Count "error")}}{{end}}
     {{if .Interrupted}}<span class="badge v-incomplete">interrupted</span>{{end}}
     {{if .Merged}}<span class="tag">merged</span>{{end}}
     {{if .Shard.N}}<span class="tag">shard {{.Shard.I}}/{{.Shard.N}}</span>{{end}}</p>
  <p>git: <span class="dot git-{{.Git.Color}}"></span><code>{{.Git.String}}</code></p>
  {{with .Failures}}<table><tr><th>signature</th><th>runs</th></tr>
    {{range .}}<tr><td><code>{{.Signature}}</code></td><td>{{.Count}}</td></tr>{{end}}</table>{{end}}
  <p>{{if .SummaryRel}}<a href="{{file .SummaryRel}}">summary</a> · {{end}}<a href="{{file .Index}}">index.json</a>
     {{with .Command}}<br><code>{{.}}</code>{{end}}</p>
</section>
{{end}}`))

type pageEntry struct {
	Summary
	SummaryRel, Index string
}

// badgeCount is one verdict's count as a badge shows it.
type badgeCount struct {
	N        int
	V, Label string // serve's verdict class, the text
}

// Count is the badge of verdict v ("valid", "invalid", "unknown",
// "error").
func (e pageEntry) Count(v string) badgeCount {
	switch v {
	case "valid":
		return badgeCount{e.Totals.Valid, serve.VerdictValid, "valid"}
	case "invalid":
		return badgeCount{e.Totals.Invalid, serve.VerdictInvalid, "invalid"}
	case "unknown":
		return badgeCount{e.Totals.Unknown, serve.VerdictUnknown, "unknown"}
	case "error":
		return badgeCount{e.Totals.Errors, serve.VerdictUnknown, "errors"}
	}
	panic("campaign: no badge for verdict " + v)
}

// Worst is serve's verdict class of the campaign as a whole.
func (e pageEntry) Worst() string {
	switch {
	case e.Totals.Invalid > 0:
		return serve.VerdictInvalid
	case e.Totals.Unknown+e.Totals.Errors > 0:
		return serve.VerdictUnknown
	case e.Totals.Runs == 0 || e.Interrupted:
		return serve.VerdictIncomplete
	}
	return serve.VerdictValid
}

func servePage(v *serve.View, w http.ResponseWriter, r *http.Request, rest []string) {
	if len(rest) > 0 {
		v.Error(w, r, http.StatusNotFound, "no such page")
		return
	}
	root, err := v.OpenRoot()
	if err != nil {
		v.Error(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	defer root.Close()
	list, err := ListRoot(root)
	if err != nil {
		v.Error(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	entries := make([]pageEntry, len(list))
	for i, s := range list {
		rel := func(p string) string {
			if p == "" {
				return ""
			}
			if r, err := filepath.Rel(root.Name(), p); err == nil {
				return filepath.ToSlash(r)
			}
			return p
		}
		entries[i] = pageEntry{Summary: s, SummaryRel: rel(s.Summary), Index: rel(filepath.Join(s.Dir, IndexFile))}
	}
	var b bytes.Buffer
	if err := pageTmpl.Execute(&b, entries); err != nil {
		v.Error(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	v.Render(w, r, "Campaigns", template.HTML(b.String()))
}
