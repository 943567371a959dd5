package serve

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// indexBody is what the index template gets.
type indexBody struct {
	Dir      string
	Runs     []*RunSummary
	Total    int // runs in the results root
	Matching int // runs the filters keep
	Filters  []filterLink
	Verdict  string
	Name     string
	Names    []string // test names, for the name box's suggestions
	Page     int
	Pages    int
	First    int // 1-based number of the first run shown
	Prev     string
	Next     string
}

type filterLink struct {
	Verdict string // "" for all
	Label   string
	N       int
	Href    string
	Current bool
}

// IndexFilter selects runs for the index.
type IndexFilter struct {
	Verdict string // "" or one of Verdicts
	Name    string // case-insensitive substring of the test name; "" for all
}

// Keep reports whether the filter keeps run.
func (f IndexFilter) Keep(run *RunSummary) bool {
	if f.Verdict != "" && run.Verdict != f.Verdict {
		return false
	}
	return f.Name == "" || strings.Contains(strings.ToLower(run.Name), strings.ToLower(f.Name))
}

func indexURL(f IndexFilter, page int) string {
	q := url.Values{}
	if f.Verdict != "" {
		q.Set("verdict", f.Verdict)
	}
	if f.Name != "" {
		q.Set("name", f.Name)
	}
	if page > 1 {
		q.Set("page", strconv.Itoa(page))
	}
	if len(q) == 0 {
		return "/"
	}
	return "/?" + q.Encode()
}

// runDirs are the directories the index scans: the root, then the Pages'
// RunDirs.
func (s *Server) runDirs() []RunDir {
	dirs := []RunDir{{Dir: ""}}
	for _, p := range s.o.Pages {
		if p.RunDirs != nil {
			dirs = append(dirs, p.RunDirs(&View{s: s})...)
		}
	}
	return dirs
}

func (s *Server) serveIndex(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := IndexFilter{Verdict: q.Get("verdict"), Name: strings.TrimSpace(q.Get("name"))}
	if f.Verdict == "all" {
		f.Verdict = ""
	}
	if f.Verdict != "" && !contains(Verdicts, f.Verdict) {
		s.fail(w, r, http.StatusBadRequest, "verdict filter %q: want one of %s", f.Verdict, strings.Join(Verdicts, ", "))
		return
	}
	page := 1
	if p := q.Get("page"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 {
			s.fail(w, r, http.StatusBadRequest, "page %q: want a number from 1", p)
			return
		}
		page = n
	}
	root, err := s.openRoot()
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "cannot open the results directory: %v", err)
		return
	}
	defer root.Close()
	all, err := s.scan(root, s.runDirs())
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "cannot list the results directory: %v", err)
		return
	}

	b := indexBody{Dir: s.dir, Total: len(all), Verdict: f.Verdict, Name: f.Name, Page: page}
	names := map[string]bool{}
	counts := map[string]int{}
	byName := IndexFilter{Name: f.Name}
	var kept []*RunSummary
	for _, run := range all {
		names[run.Name] = true
		if !byName.Keep(run) {
			continue
		}
		counts[""]++
		counts[run.Verdict]++
		if f.Keep(run) {
			kept = append(kept, run)
		}
	}
	for n := range names {
		b.Names = append(b.Names, n)
	}
	sort.Strings(b.Names)
	for _, v := range append([]string{""}, Verdicts...) {
		label := v
		if v == "" {
			label = "all"
		}
		b.Filters = append(b.Filters, filterLink{Verdict: v, Label: label, N: counts[v],
			Href: indexURL(IndexFilter{Verdict: v, Name: f.Name}, 1), Current: v == f.Verdict})
	}
	b.Matching = len(kept)
	per := s.o.PageRuns
	b.Pages = max(1, (len(kept)+per-1)/per)
	lo := min((page-1)*per, len(kept))
	hi := min(lo+per, len(kept))
	b.Runs = kept[lo:hi]
	b.First = lo + 1
	if page > 1 {
		b.Prev = indexURL(f, min(page-1, b.Pages))
	}
	if page < b.Pages {
		b.Next = indexURL(f, page+1)
	}
	s.render(w, r, http.StatusOK, "index", pageData{Title: "runs", Body: b})
}
