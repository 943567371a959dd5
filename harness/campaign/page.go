package campaign

import (
	"bytes"
	"html/template"
	"net/http"
	"path/filepath"

	"github.com/splitbrain/splitbrain/harness/serve"
)

// ServePage is the campaigns page of `splitbrain serve`: every campaign
// under <results>/campaigns, newest first, with its totals, its failures
// grouped by signature, the git stamp of the code it tested, and links to
// its summary and its runs.
func ServePage() serve.Page {
	return serve.Page{Slug: "campaigns", Title: "Campaigns", Serve: servePage}
}

var pageTmpl = template.Must(template.New("campaigns").Funcs(template.FuncMap{
	"file": serve.FileURL,
	"run":  serve.RunURL,
}).Parse(`
<h1>Campaigns</h1>
{{if not .}}<p>No campaigns yet. Start one with <code>splitbrain campaign --seeds 200 --workers 2</code>.</p>{{end}}
{{range .}}
<section class="campaign {{if .Totals.Invalid}}invalid{{else if or .Totals.Unknown .Totals.Errors}}unknown{{else}}valid{{end}}">
  <h2>{{.ID}} <small>{{.Started.UTC.Format "2006-01-02 15:04:05 UTC"}}</small></h2>
  <p>{{.Totals.Runs}} of {{.Planned}} runs:
     <span class="badge valid">{{.Totals.Valid}} valid</span>
     <span class="badge invalid">{{.Totals.Invalid}} invalid</span>
     <span class="badge unknown">{{.Totals.Unknown}} unknown</span>
     {{if .Totals.Errors}}<span class="badge unknown">{{.Totals.Errors}} errors</span>{{end}}
     {{if .Interrupted}}<span class="badge incomplete">interrupted</span>{{end}}
     {{if .Merged}}<span class="badge">merged</span>{{end}}
     {{if .Shard.N}}<span class="badge">shard {{.Shard.I}}/{{.Shard.N}}</span>{{end}}</p>
  <p>git: <span class="git git-{{.Git.Color}}">{{.Git.String}}</span></p>
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
	list, err := List(root.Name())
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
