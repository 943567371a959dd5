package serve

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Defaults of Options.
const (
	DefaultAddr     = "127.0.0.1:8080"
	DefaultLogLines = 500
	DefaultPageRuns = 100
)

// Options configure a Server.
type Options struct {
	// Results is the results root (<Results>/<name>/<UTC time>/ run
	// directories). It must exist.
	Results string
	// LogLines is how many lines a page of a node log holds
	// (DefaultLogLines).
	LogLines int
	// PageRuns is how many runs a page of the index lists (DefaultPageRuns).
	PageRuns int
	// Hosts, if set, are the only host names (without port) the server
	// answers in the Host header; others get 403. It defends a loopback
	// server against DNS rebinding (a web page making the browser talk to
	// 127.0.0.1 under its own name). ListenAndServe adds the loopback
	// names when it binds a loopback address.
	Hosts []string
	// Pages are further pages of the UI (see Page), such as a campaign
	// listing.
	Pages []Page
	// ErrorLog receives errors serving requests (nil: the log package's
	// standard logger).
	ErrorLog *log.Logger
}

// Server is the web UI over a results root. It is an http.Handler; it only
// reads. Every file it opens is opened through an os.Root on the results
// directory, so nothing outside it can be served whatever the request
// says; request paths are checked before that (see splitPath), and
// symbolic links are followed only while they stay inside the root.
type Server struct {
	dir   string
	o     Options
	pages map[string]*Page

	mu   sync.Mutex
	runs map[string]*cachedRun // index cache by run path
	logs map[string]*logIndex  // log page offsets by file path
}

// New checks the options and returns a Server over o.Results.
func New(o Options) (*Server, error) {
	if o.Results == "" {
		return nil, errors.New("no results directory given")
	}
	dir, err := filepath.Abs(o.Results)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("results directory: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("results directory %s is not a directory", dir)
	}
	if o.LogLines <= 0 {
		o.LogLines = DefaultLogLines
	}
	if o.PageRuns <= 0 {
		o.PageRuns = DefaultPageRuns
	}
	if o.ErrorLog == nil {
		o.ErrorLog = log.Default()
	}
	s := &Server{dir: dir, o: o, pages: map[string]*Page{}, runs: map[string]*cachedRun{}, logs: map[string]*logIndex{}}
	for i := range o.Pages {
		p := &o.Pages[i]
		if !slugRE.MatchString(p.Slug) || reservedSlugs[p.Slug] {
			return nil, fmt.Errorf("page %q: slug must be letters, digits and '-', and not one of run, file, static", p.Slug)
		}
		if _, dup := s.pages[p.Slug]; dup {
			return nil, fmt.Errorf("page %q registered twice", p.Slug)
		}
		if p.Serve == nil {
			return nil, fmt.Errorf("page %q has no Serve function", p.Slug)
		}
		s.pages[p.Slug] = p
	}
	return s, nil
}

// Dir is the absolute path of the results root.
func (s *Server) Dir() string { return s.dir }

// Security headers. Pages of the UI load only their own stylesheet,
// script and images and frame only the results' own HTML; the results'
// HTML files (porcupine's diagram, the timeline) carry inline script and
// style, so they get a sandbox instead: an opaque origin that can run its
// own scripts but reach nothing of ours.
const (
	pageCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
		"frame-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
	fileCSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' data:; " +
		"form-action 'none'; base-uri 'none'; frame-ancestors 'self'; sandbox allow-scripts allow-forms"
)

func setCommonHeaders(h http.Header) {
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
}

// ServeHTTP answers GET and HEAD requests:
//
//	/                       the run index (?verdict=, ?name=, ?page=)
//	/run/<path>             a run's page (?log=<node>&page=<n> shows a log page)
//	/file/<path>            a file of the results root (?download=1: as an attachment)
//	/static/<name>          the UI's stylesheet, script and icon
//	/<slug>/...             a registered Page
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	setCommonHeaders(h)
	h.Set("Content-Security-Policy", pageCSP)
	if !s.hostAllowed(r.Host) {
		s.fail(w, r, http.StatusForbidden, "host %q is not served here (DNS rebinding defence); use one of %s", r.Host, strings.Join(s.o.Hosts, ", "))
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		s.fail(w, r, http.StatusMethodNotAllowed, "method %s not allowed: this server only reads", r.Method)
		return
	}
	segs, err := requestSegments(r)
	switch {
	case errors.Is(err, errHidden):
		s.fail(w, r, http.StatusNotFound, "not found")
		return
	case err != nil:
		s.fail(w, r, http.StatusBadRequest, "bad path: %q", r.URL.EscapedPath())
		return
	}
	if len(segs) == 0 {
		s.serveIndex(w, r)
		return
	}
	switch segs[0] {
	case "run":
		s.serveRun(w, r, segs[1:])
	case "file":
		s.serveFile(w, r, segs[1:])
	case "static":
		serveStatic(w, r, segs[1:])
	case "favicon.ico":
		// Asked for by the sandboxed results pages too, whose origin is
		// opaque.
		h.Set("Cross-Origin-Resource-Policy", "cross-origin")
		http.Redirect(w, r, "/static/icon.svg", http.StatusMovedPermanently)
	default:
		if p, ok := s.pages[segs[0]]; ok {
			p.Serve(&View{s: s}, w, r, segs[1:])
			return
		}
		s.fail(w, r, http.StatusNotFound, "not found")
	}
}

func (s *Server) hostAllowed(host string) bool {
	if len(s.o.Hosts) == 0 {
		return true
	}
	name := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		name = h
	}
	name = strings.TrimSuffix(strings.TrimPrefix(name, "["), "]")
	for _, allowed := range s.o.Hosts {
		if strings.EqualFold(name, allowed) {
			return true
		}
	}
	return false
}

// openRoot opens the results root for one request. Opening it afresh
// means a results directory removed and recreated (by `splitbrain clean`,
// say) is seen as it is now.
func (s *Server) openRoot() (*os.Root, error) { return os.OpenRoot(s.dir) }

// fail answers with an error page (or plain text for HEAD).
func (s *Server) fail(w http.ResponseWriter, r *http.Request, code int, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	h := w.Header()
	h.Del("Content-Disposition")
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("Cache-Control", "no-store")
	s.render(w, r, code, "error", pageData{Title: http.StatusText(code), Body: errorBody{Code: code, Status: http.StatusText(code), Message: msg}})
}

// pageData is what the layout template gets.
type pageData struct {
	Title string
	Nav   []navLink
	Body  any
}

type navLink struct {
	Href, Title string
	Current     bool
}

type errorBody struct {
	Code            int
	Status, Message string
}

// render executes template name inside the layout.
func (s *Server) render(w http.ResponseWriter, r *http.Request, code int, name string, d pageData) {
	d.Nav = s.nav(r)
	var b strings.Builder
	if err := templates.ExecuteTemplate(&b, name, d); err != nil {
		s.o.ErrorLog.Printf("serve: rendering %s for %s: %v", name, r.URL, err)
		code = http.StatusInternalServerError
		b.Reset()
		b.WriteString("<!DOCTYPE html><title>error</title><p>internal error rendering this page: " + template.HTMLEscapeString(err.Error()))
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	if h.Get("Cache-Control") == "" {
		h.Set("Cache-Control", "no-cache")
	}
	w.WriteHeader(code)
	if r.Method != http.MethodHead {
		w.Write([]byte(b.String()))
	}
}

func (s *Server) nav(r *http.Request) []navLink {
	cur := ""
	if segs, err := requestSegments(r); err == nil && len(segs) > 0 {
		cur = segs[0]
	}
	links := []navLink{{Href: "/", Title: "Runs", Current: cur == "" || cur == "run"}}
	for _, p := range s.o.Pages {
		links = append(links, navLink{Href: "/" + p.Slug + "/", Title: p.Title, Current: cur == p.Slug})
	}
	return links
}

// Serve answers requests on ln until ctx is cancelled, then shuts down:
// it stops accepting, lets requests in flight finish for up to five
// seconds, and returns nil. Any other end is returned as an error.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          s.o.ErrorLog,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

// LoopbackHosts are the host names a loopback server answers by default.
var LoopbackHosts = []string{"localhost", "127.0.0.1", "::1"}

// ListenAndServe serves o.Results on addr until ctx is cancelled. ready,
// if set, is called with the server's URL once it listens (addr may end in
// ":0" to pick a free port). On a loopback addr the server answers only
// the Host names LoopbackHosts and o.Hosts; elsewhere only o.Hosts, or
// any name when o.Hosts is empty.
func ListenAndServe(ctx context.Context, addr string, o Options, ready func(url string)) error {
	if addr == "" {
		addr = DefaultAddr
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	if IsLoopback(ln.Addr()) {
		o.Hosts = append(append([]string(nil), LoopbackHosts...), o.Hosts...)
	}
	s, err := New(o)
	if err != nil {
		ln.Close()
		return err
	}
	if ready != nil {
		ready("http://" + ln.Addr().String() + "/")
	}
	return s.Serve(ctx, ln)
}

// IsLoopback reports whether a listener address is a loopback one.
func IsLoopback(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}
