package serve

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"os"
	"path"
	"strings"
	"time"

	"github.com/splitbrain/splitbrain/harness"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

var templates = template.Must(template.New("").Funcs(funcs).ParseFS(templateFS, "templates/*.html"))

// textTypes are the extensions shown as plain text (the history, logs,
// Jepsen EDN, scenarios).
var textTypes = map[string]bool{".jsonl": true, ".log": true, ".txt": true, ".edn": true, ".lua": true, ".md": true, ".csv": true, ".out": true, ".err": true}

// contentType is the Content-Type a results file is served with, and
// whether it must be downloaded rather than shown (types we do not know).
func contentType(name string) (ctype string, attachment bool) {
	ext := strings.ToLower(path.Ext(name))
	switch {
	case ext == ".html" || ext == ".htm":
		return "text/html; charset=utf-8", false
	case ext == ".png":
		return "image/png", false
	case ext == ".svg":
		return "image/svg+xml", false
	case ext == ".jpg" || ext == ".jpeg":
		return "image/jpeg", false
	case ext == ".json":
		return "application/json; charset=utf-8", false
	case textTypes[ext] || path.Base(name) == harness.ReproFile:
		return "text/plain; charset=utf-8", false
	}
	return "application/octet-stream", true
}

// serveFile serves one regular file of the results root. A run directory
// redirects to its page; other directories, FIFOs, sockets and devices
// are refused without being opened. Everything is opened through
// os.Root, which refuses symbolic links that leave the root.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, segs []string) {
	if len(segs) == 0 {
		s.fail(w, r, http.StatusNotFound, "no file named")
		return
	}
	root, err := s.openRoot()
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "cannot open the results directory: %v", err)
		return
	}
	defer root.Close()
	rel := path.Join(segs...)
	if st, err := root.Stat(rel); err == nil && st.IsDir() {
		// Directories are not listed; a run directory (linked as "dir/"
		// from a campaign's summary.html, say) is shown as its page.
		if _, ok := stampRun(root, rel); ok {
			http.Redirect(w, r, RunURL(rel), http.StatusFound)
			return
		}
		s.fail(w, r, http.StatusNotFound, "%s is a directory, and not a run's: directories are not listed", rel)
		return
	}
	f, st, err := openRegular(root, rel)
	if err != nil {
		s.notFound(w, r, rel, err)
		return
	}
	defer f.Close()
	ctype, attach := contentType(rel)
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Content-Security-Policy", fileCSP)
	h.Set("Cache-Control", "no-cache")
	if attach || r.URL.Query().Get("download") != "" {
		h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": path.Base(rel)}))
	}
	http.ServeContent(w, r, "", st.ModTime(), f)
}

// notFound answers a failed open: 404, saying why when the reason is a
// link leaving the root (which the user may want to know about).
func (s *Server) notFound(w http.ResponseWriter, r *http.Request, rel string, err error) {
	if errors.Is(err, fs.ErrNotExist) {
		s.fail(w, r, http.StatusNotFound, "%s: not found in the results directory", rel)
		return
	}
	s.fail(w, r, http.StatusNotFound, "%s: not served: %v", rel, stripRoot(err))
}

// stripRoot keeps an *os.PathError's operation and reason but not the
// path, which may hold the results directory's absolute name.
func stripRoot(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

type staticFile struct {
	body  []byte
	ctype string
	etag  string
}

var static = func() map[string]staticFile {
	m := map[string]staticFile{}
	ents, err := staticFS.ReadDir("static")
	if err != nil {
		panic(err)
	}
	for _, e := range ents {
		b, err := staticFS.ReadFile("static/" + e.Name())
		if err != nil {
			panic(err)
		}
		ct := mime.TypeByExtension(path.Ext(e.Name()))
		switch path.Ext(e.Name()) {
		case ".css":
			ct = "text/css; charset=utf-8"
		case ".js":
			ct = "text/javascript; charset=utf-8"
		case ".svg":
			ct = "image/svg+xml"
		}
		sum := sha256.Sum256(b)
		m[e.Name()] = staticFile{body: b, ctype: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
	}
	return m
}()

func serveStatic(w http.ResponseWriter, r *http.Request, segs []string) {
	if len(segs) != 1 {
		http.NotFound(w, r)
		return
	}
	f, ok := static[segs[0]]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.ctype)
	h.Set("ETag", f.etag)
	h.Set("Cache-Control", "no-cache")
	// The icon is also asked for by the sandboxed results pages, whose
	// origin is opaque.
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
}
