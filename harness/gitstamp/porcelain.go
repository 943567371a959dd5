package gitstamp

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// porcelain is what Read takes from `git status --porcelain=v2 --branch -z`.
type porcelain struct {
	oid      string // full commit hash; "" when the branch has no commits yet ("(initial)")
	head     string // branch name; "" when detached
	detached bool
	upstream string // e.g. "origin/main"; "" when none is configured
	hasAB    bool   // a "# branch.ab" header was present (upstream exists and is not gone)
	ahead    int
	behind   int
	paths    []string // changed paths in git's order (renames: the new path), never ignored files
}

// PorcelainError is output of `git status --porcelain=v2 -z` that does not
// have the documented shape: the 1-based record (NUL-terminated field), its
// byte offset in the output, and what is wrong there.
type PorcelainError struct {
	Record int
	Offset int
	Msg    string
}

func (e *PorcelainError) Error() string {
	return fmt.Sprintf("git status --porcelain=v2 output, record %d (byte %d): %s", e.Record, e.Offset, e.Msg)
}

// parsePorcelain parses NUL-separated porcelain v2 status output with branch
// headers. It is strict: unknown entry kinds, wrong field counts, malformed
// headers, a missing branch header and an unterminated final record are
// errors, because a stamp built from output we do not understand would be a
// guess. Unknown "# " headers are skipped (git may add new ones).
func parsePorcelain(out []byte) (porcelain, error) {
	var p porcelain
	var sawOID, sawHead bool
	record, offset := 0, 0
	fail := func(format string, args ...any) (porcelain, error) {
		return porcelain{}, &PorcelainError{Record: record, Offset: offset, Msg: fmt.Sprintf(format, args...)}
	}
	// next returns the next NUL-terminated record and advances past it.
	rest := out
	next := func() (string, bool) {
		i := bytes.IndexByte(rest, 0)
		if i < 0 {
			return "", false
		}
		rec := string(rest[:i])
		rest = rest[i+1:]
		return rec, true
	}
	for len(rest) > 0 {
		record++
		offset = len(out) - len(rest)
		rec, ok := next()
		if !ok {
			return fail("record not terminated by NUL (output cut short?)")
		}
		if rec == "" {
			return fail("empty record")
		}
		switch rec[0] {
		case '#':
			if err := p.header(rec, &sawOID, &sawHead); err != "" {
				return fail("%s", err)
			}
		case '1':
			path, err := entryPath(rec, 9)
			if err != "" {
				return fail("ordinary change entry: %s", err)
			}
			p.paths = append(p.paths, path)
		case '2':
			path, err := entryPath(rec, 10)
			if err != "" {
				return fail("rename/copy entry: %s", err)
			}
			orig, ok := next()
			if !ok || orig == "" {
				return fail("rename/copy entry for %q: missing original path record", path)
			}
			record++
			p.paths = append(p.paths, path)
		case 'u':
			path, err := entryPath(rec, 11)
			if err != "" {
				return fail("unmerged entry: %s", err)
			}
			p.paths = append(p.paths, path)
		case '?':
			if len(rec) < 3 || rec[1] != ' ' {
				return fail("untracked entry %q: want \"? <path>\"", rec)
			}
			p.paths = append(p.paths, rec[2:])
		case '!':
			// Ignored files (only listed with --ignored) are not changes.
			if len(rec) < 3 || rec[1] != ' ' {
				return fail("ignored entry %q: want \"! <path>\"", rec)
			}
		default:
			return fail("unknown entry kind %q", rec[0])
		}
	}
	record++
	offset = len(out)
	if !sawOID {
		return fail("no \"# branch.oid\" header (was --branch passed?)")
	}
	if !sawHead {
		return fail("no \"# branch.head\" header (was --branch passed?)")
	}
	return p, nil
}

// header applies one "# ..." record; it returns a non-empty message when the
// record is malformed.
func (p *porcelain) header(rec string, sawOID, sawHead *bool) string {
	if !strings.HasPrefix(rec, "# ") {
		return fmt.Sprintf("header %q: want \"# <name> <value>\"", rec)
	}
	name, value, _ := strings.Cut(rec[2:], " ")
	switch name {
	case "branch.oid":
		if *sawOID {
			return "duplicate branch.oid header"
		}
		*sawOID = true
		if value == "(initial)" {
			return ""
		}
		if !isHash(value) {
			return fmt.Sprintf("branch.oid %q: want a 40 or 64 digit hex hash or \"(initial)\"", value)
		}
		p.oid = value
	case "branch.head":
		if *sawHead {
			return "duplicate branch.head header"
		}
		*sawHead = true
		if value == "" || strings.ContainsAny(value, " \n") {
			return fmt.Sprintf("branch.head %q: want a branch name or \"(detached)\"", value)
		}
		if value == "(detached)" {
			p.detached = true
			return ""
		}
		p.head = value
	case "branch.upstream":
		if p.upstream != "" {
			return "duplicate branch.upstream header"
		}
		if value == "" || strings.ContainsAny(value, " \n") {
			return fmt.Sprintf("branch.upstream %q: want an upstream branch name", value)
		}
		p.upstream = value
	case "branch.ab":
		if p.hasAB {
			return "duplicate branch.ab header"
		}
		a, b, ok := strings.Cut(value, " ")
		ahead, okA := count(a, '+')
		behind, okB := count(b, '-')
		if !ok || !okA || !okB {
			return fmt.Sprintf("branch.ab %q: want \"+<ahead> -<behind>\"", value)
		}
		p.hasAB, p.ahead, p.behind = true, ahead, behind
	}
	return ""
}

// entryPath returns the path of a change entry that has fields
// space-separated fields, the last being the path (which may itself
// contain spaces). The second field is the two-letter XY status.
func entryPath(rec string, fields int) (string, string) {
	f := strings.SplitN(rec, " ", fields)
	if len(f) != fields {
		return "", fmt.Sprintf("%q has %d fields, want %d", rec, len(f), fields)
	}
	if len(f[1]) != 2 {
		return "", fmt.Sprintf("%q: status %q is not two letters", rec, f[1])
	}
	if f[fields-1] == "" {
		return "", fmt.Sprintf("%q: empty path", rec)
	}
	return f[fields-1], ""
}

// count parses "+12" (with sign '+') or "-3" (with sign '-').
func count(s string, sign byte) (int, bool) {
	if len(s) < 2 || s[0] != sign {
		return 0, false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s[1:])
	return n, err == nil
}

func isHash(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
