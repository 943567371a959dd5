package gitstamp

import (
	"fmt"
	"strings"
)

// Status is the state of a work tree, in the order of precedence Read
// applies: a tree that is both dirty and ahead is StatusDirty.
type Status string

const (
	// StatusDirty: the work tree differs from the commit — staged or
	// unstaged changes to tracked files, unmerged paths, or untracked
	// (not ignored) files. Untracked files count because they can change
	// what is built (Go compiles every .go file in a package directory),
	// so the commit alone does not reproduce the run.
	StatusDirty Status = "dirty"
	// StatusAhead: the work tree matches the commit, but the branch has
	// commits its upstream does not, so the commit may exist only on this
	// machine.
	StatusAhead Status = "ahead"
	// StatusClean: the work tree matches a commit that is not ahead of its
	// upstream (or there is no upstream to compare with; see Stamp.Upstream).
	// Being behind the upstream does not change the status: the code under
	// test is still exactly the recorded commit.
	StatusClean Status = "clean"
	// StatusNone: no git state is known. Without Error: the directory is
	// not inside a git work tree. With Error: git could not tell us (not
	// installed, repository refused for safe.directory ownership, timeout,
	// output not understood).
	StatusNone Status = "none"
)

// MaxDirty is how many changed paths a Stamp lists in Dirty.
const MaxDirty = 20

// Stamp is the git state of the code under test, as recorded with every run
// and campaign. The zero value is not a valid stamp; use Read.
type Stamp struct {
	// Repo is the absolute path of the work tree's top-level directory.
	Repo string `json:"repo,omitempty"`
	// Remote is the URL of the "origin" remote, if configured, with any
	// credentials removed (see redactURL).
	Remote string `json:"remote,omitempty"`
	// Branch is the checked-out branch; "HEAD (detached at 1a2b3c4)" when
	// HEAD is detached; "" outside a repository. In a repository with no
	// commits yet it is the branch the first commit will create.
	Branch string `json:"branch,omitempty"`
	// Upstream is the branch Ahead and Behind count against, e.g.
	// "origin/main"; "" when none is configured.
	Upstream string `json:"upstream,omitempty"`
	// Commit is the full hash of HEAD; "" when there are no commits yet.
	Commit string `json:"commit,omitempty"`
	// Short is Commit abbreviated as git does (at least 7 digits, longer
	// when needed to be unique in the repository).
	Short  string `json:"short,omitempty"`
	Status Status `json:"status"`
	// Ahead and Behind count commits relative to Upstream.
	Ahead  int `json:"ahead,omitempty"`
	Behind int `json:"behind,omitempty"`
	// Changes is the number of changed paths (Dirty lists at most MaxDirty).
	Changes int `json:"changes,omitempty"`
	// Dirty lists the first MaxDirty changed paths in byte order, relative
	// to Repo. A rename lists its new path; a wholly untracked directory is
	// listed once, with a trailing slash.
	Dirty []string `json:"dirty,omitempty"`
	// Error says why the stamp is partial or why Status is StatusNone
	// inside what may be a repository. Several problems are joined by "; ".
	Error string `json:"error,omitempty"`
}

// Color is the traffic-light colour of the status, as a git-aware shell
// prompt shows it: "green" clean, "yellow" ahead, "red" dirty, "grey" when
// nothing is known.
func (s Stamp) Color() string {
	switch s.Status {
	case StatusClean:
		return "green"
	case StatusAhead:
		return "yellow"
	case StatusDirty:
		return "red"
	default:
		return "grey"
	}
}

// String is the one-line form for a run summary:
//
//	main@1a2b3c4 clean
//	main@1a2b3c4 ahead 2 of origin/main
//	main@1a2b3c4 dirty (3 files), ahead 1 of origin/main, behind 4
//	HEAD (detached at 1a2b3c4) clean
//	main (no commits) dirty (1 file)
//	no git repository
//	git state unknown: git not installed: ...
//
// A partial stamp ends with " [error: ...]".
func (s Stamp) String() string {
	if s.Status == StatusNone || s.Status == "" {
		if s.Error == "" {
			return "no git repository"
		}
		return "git state unknown: " + s.Error
	}
	var b strings.Builder
	switch {
	case strings.HasPrefix(s.Branch, "HEAD ("):
		b.WriteString(s.Branch) // already names the commit
	case s.Commit == "":
		b.WriteString(s.Branch + " (no commits)")
	default:
		short := s.Short
		if short == "" {
			short = s.Commit[:min(7, len(s.Commit))]
		}
		b.WriteString(s.Branch + "@" + short)
	}
	b.WriteString(" " + string(s.Status))
	if s.Status == StatusDirty {
		fmt.Fprintf(&b, " (%d %s)", s.Changes, plural(s.Changes, "file", "files"))
	}
	if s.Ahead > 0 {
		if s.Status == StatusDirty {
			b.WriteString(", ahead")
		}
		fmt.Fprintf(&b, " %d of %s", s.Ahead, s.Upstream)
	}
	if s.Behind > 0 {
		fmt.Fprintf(&b, ", behind %d", s.Behind)
		if s.Ahead == 0 {
			b.WriteString(" of " + s.Upstream)
		}
	}
	if s.Error != "" {
		b.WriteString(" [error: " + s.Error + "]")
	}
	return b.String()
}

// ANSI escape sequences for Color.
var ansiColor = map[string]string{
	"green":  "\x1b[32m",
	"yellow": "\x1b[33m",
	"red":    "\x1b[31m",
	"grey":   "\x1b[90m",
}

const ansiReset = "\x1b[0m"

// ANSI is String in the stamp's Color, as ANSI escape sequences. It always
// colours; callers decide whether the output is a terminal.
func (s Stamp) ANSI() string {
	return ansiColor[s.Color()] + s.String() + ansiReset
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
