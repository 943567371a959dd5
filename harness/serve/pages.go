package serve

import (
	"html/template"
	"net/http"
	"os"
	"regexp"
)

// Page is a further page of the UI: the extension point for listings
// that are not runs, such as campaigns. It is mounted at /<Slug>/ and
// linked from the navigation bar of every page. The run index does not
// scan the top-level results directories named in SkipDirs (campaigns
// live in <results>/campaigns/); a Page shows them, links to any run
// directory inside the root with RunURL (the run page works at any
// depth), and names the directories of runs it keeps there in RunDirs,
// so that the index lists those runs too, labelled.
type Page struct {
	// Slug is the first path segment: letters, digits and '-', not "run",
	// "file" or "static".
	Slug string
	// Title is the link text in the navigation bar.
	Title string
	// Serve answers GET and HEAD requests under /<Slug>/. rest holds the
	// remaining path segments, already checked: none is empty, ".", ".."
	// or hidden, none holds a slash, backslash, '%' or control character.
	Serve func(v *View, w http.ResponseWriter, r *http.Request, rest []string)
	// RunDirs, if set, lists directories of runs laid out as the results
	// root is (<Dir>/<name>/<time>/) that the run index should list with
	// the root's own: a campaign's runs, say. It is called for every
	// index page and reads through v.
	RunDirs func(v *View) []RunDir
}

// RunDir is a directory of runs that a Page adds to the run index.
type RunDir struct {
	// Dir is the directory, slash separated, relative to the results
	// root.
	Dir string
	// Label is shown beside each of its runs in the index ("campaign
	// 20261122T010203Z"); Href, if set, is where the label links.
	Label, Href string
}

// SkipDirs are the top-level directories of the results root that hold no
// test names, so the run index does not scan them.
var SkipDirs = []string{"campaigns"}

var (
	slugRE        = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]*$`)
	reservedSlugs = map[string]bool{"run": true, "file": true, "static": true, "favicon.ico": true}
)

// View is what a Page's Serve gets: read access to the results root and
// the UI's page layout.
type View struct{ s *Server }

// OpenRoot opens the results root; the caller closes it. Every file a Page
// reads must be read through it, so that nothing outside the results
// directory is reachable.
func (v *View) OpenRoot() (*os.Root, error) { return v.s.openRoot() }

// Render answers with a page of the UI: the layout (header, navigation)
// around body, which the Page builds with html/template.
func (v *View) Render(w http.ResponseWriter, r *http.Request, title string, body template.HTML) {
	v.s.render(w, r, http.StatusOK, "custom", pageData{Title: title, Body: body})
}

// Error answers with the UI's error page.
func (v *View) Error(w http.ResponseWriter, r *http.Request, code int, msg string) {
	v.s.fail(w, r, code, "%s", msg)
}

// Runs lists the run directories under dir (slash separated, relative to
// the results root; "" for the root itself, laid out as the root is:
// <dir>/<name>/<time>/), newest first, as the index shows them.
func (v *View) Runs(dir string) ([]*RunSummary, error) {
	root, err := v.s.openRoot()
	if err != nil {
		return nil, err
	}
	defer root.Close()
	return v.s.scan(root, []RunDir{{Dir: dir}})
}

// Dirs lists the subdirectories of dir (slash separated, relative to the
// results root; "" for the root): real directories, not symbolic links,
// not hidden, sorted by name. Anything but a directory at dir is an
// error, found without opening it.
func (v *View) Dirs(dir string) ([]string, error) {
	root, err := v.s.openRoot()
	if err != nil {
		return nil, err
	}
	defer root.Close()
	return listDirs(root, dir)
}
