package serve

import (
	"errors"
	"net/http"
	"net/url"
	"os"
	"path"
	"strings"
	"unicode/utf8"
)

// A request path is refused before any routing if it could name something
// other than what its segments say. ServeMux would clean "/a/../b" and
// redirect; we answer 400 instead, so a traversal attempt never turns
// into a redirect that a client follows.

// errBadPath and errHidden are the two ways splitPath refuses a path.
var (
	errBadPath = errors.New("bad path")
	errHidden  = errors.New("hidden file")
)

// splitPath checks an escaped request path (as sent, percent-encoding and
// all) and returns its decoded segments. It refuses (errBadPath, answered
// 400): a path not starting with "/"; empty segments other than one
// trailing slash; a segment that is "." or ".." after decoding; a decoded
// segment holding "/", "\", "%" (double encoding), NUL or another control
// character, or bytes that are not UTF-8; malformed percent-encoding. A
// segment starting with "." (after decoding) is errHidden (answered 404):
// the results store's dot-files are writers' temporaries.
func splitPath(escaped string) ([]string, error) {
	if !strings.HasPrefix(escaped, "/") {
		return nil, errBadPath
	}
	if escaped == "/" {
		return nil, nil
	}
	raw := strings.Split(escaped[1:], "/")
	segs := make([]string, 0, len(raw))
	hidden := false
	for i, r := range raw {
		if r == "" {
			if i == len(raw)-1 && i > 0 {
				break // one trailing slash
			}
			return nil, errBadPath
		}
		s, err := url.PathUnescape(r)
		if err != nil || !utf8.ValidString(s) || s == "." || s == ".." {
			return nil, errBadPath
		}
		for _, c := range []byte(s) {
			if c < 0x20 || c == 0x7f || c == '/' || c == '\\' || c == '%' {
				return nil, errBadPath
			}
		}
		if s[0] == '.' {
			hidden = true
		}
		segs = append(segs, s)
	}
	if hidden {
		return nil, errHidden
	}
	return segs, nil
}

// requestSegments is splitPath of r's path as the client sent it.
func requestSegments(r *http.Request) ([]string, error) {
	return splitPath(r.URL.EscapedPath())
}

// maxLinkHops bounds symbolic link resolution, as the kernel's ELOOP does.
const maxLinkHops = 40

// errEscapes is a symbolic link whose target lies outside the results root
// (or is absolute, which os.Root refuses too).
var errEscapes = errors.New("symbolic link leads outside the results directory")

// resolve turns checked segments into the canonical path of what they name
// inside root, following symbolic links as os.Root does and refusing those
// that leave the root or are absolute. The result has no symlinks, so it
// is a stable name for a run even when "latest" moves on.
func resolve(root *os.Root, segs []string) (string, error) {
	var out []string
	queue := append([]string(nil), segs...)
	hops := 0
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		switch s {
		case "", ".":
			continue
		case "..":
			if len(out) == 0 {
				return "", errEscapes
			}
			out = out[:len(out)-1]
			continue
		}
		p := path.Join(append(append([]string(nil), out...), s)...)
		fi, err := root.Lstat(p)
		if err != nil {
			return "", err
		}
		if fi.Mode()&os.ModeSymlink == 0 {
			out = append(out, s)
			continue
		}
		if hops++; hops > maxLinkHops {
			return "", errors.New("too many levels of symbolic links")
		}
		target, err := root.Readlink(p)
		if err != nil {
			return "", err
		}
		if path.IsAbs(target) || strings.HasPrefix(target, `\`) {
			return "", errEscapes
		}
		queue = append(strings.Split(target, "/"), queue...)
	}
	return path.Join(out...), nil
}

// escapeSegments is the URL path of slash-separated rel, each segment
// percent-encoded.
func escapeSegments(rel string) string {
	parts := strings.Split(rel, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}

// RunURL is the URL of the page of the run directory at rel (slash
// separated, relative to the results root).
func RunURL(rel string) string { return "/run/" + escapeSegments(rel) }

// FileURL is the URL of the file at rel inside the results root.
func FileURL(rel string) string { return "/file/" + escapeSegments(rel) }
