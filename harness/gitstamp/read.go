package gitstamp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"sort"
	"strings"
	"time"
)

// Read stamps the git work tree containing dir ("" means the current
// directory). It never fails: outside a work tree the stamp has Status
// StatusNone and no Error; when git is missing, refuses the repository, is
// cut short by ctx, or answers with something unexpected, Status is
// StatusNone (or the status already learned) and Error says what happened.
//
// The status covers the whole work tree, not only dir. Read runs the git
// binary found in PATH up to four times (rev-parse --show-toplevel,
// status --porcelain=v2 --branch, rev-parse --short, config) with
// GIT_OPTIONAL_LOCKS=0, so it never takes the index lock that a concurrent
// commit needs, and with the repository-selecting variables (GIT_DIR,
// GIT_WORK_TREE, ...) removed, so a caller running inside a git hook still
// stamps dir and not the hook's repository.
func Read(ctx context.Context, dir string) Stamp {
	g, err := newGit(ctx, dir)
	if err != nil {
		return Stamp{Status: StatusNone, Error: err.Error()}
	}

	top, err := g.run("rev-parse", "--show-toplevel")
	if err != nil {
		return outsideRepo(err)
	}
	s := Stamp{Repo: strings.TrimSuffix(string(top), "\n"), Status: StatusNone}
	if s.Repo == "" { // some git versions print nothing in a bare repository
		s.Error = "inside a git directory with no work tree (a bare repository or a .git directory)"
		return s
	}
	g.dir = s.Repo

	out, err := g.run("status", "--porcelain=v2", "--branch", "-z", "--untracked-files=normal")
	if err != nil {
		s.Error = err.Error()
		return s
	}
	p, err := parsePorcelain(out)
	if err != nil {
		s.Error = err.Error()
		return s
	}
	var errs []string
	s.Commit, s.Branch, s.Upstream = p.oid, p.head, p.upstream
	s.Ahead, s.Behind = p.ahead, p.behind
	if p.upstream != "" && !p.hasAB {
		errs = append(errs, fmt.Sprintf("upstream %s is gone; ahead/behind unknown", p.upstream))
	}
	s.Changes = len(p.paths)
	sort.Strings(p.paths)
	if len(p.paths) > 0 {
		s.Dirty = p.paths[:min(len(p.paths), MaxDirty)]
	}
	switch {
	case s.Changes > 0:
		s.Status = StatusDirty
	case s.Ahead > 0:
		s.Status = StatusAhead
	default:
		s.Status = StatusClean
	}

	if s.Commit != "" {
		short, err := g.run("rev-parse", "--short", s.Commit)
		if err != nil {
			errs = append(errs, err.Error())
		} else {
			s.Short = strings.TrimSpace(string(short))
		}
	}
	if p.detached {
		short := s.Short
		if short == "" {
			short = s.Commit[:min(7, len(s.Commit))]
		}
		s.Branch = "HEAD (detached at " + short + ")"
	}

	remote, err := g.run("config", "--get", "remote.origin.url")
	var gerr *gitError
	switch {
	case err == nil:
		s.Remote = redactURL(strings.TrimSpace(string(remote)))
	case errors.As(err, &gerr) && gerr.exit == 1 && gerr.stderr == "":
		// Exit 1 with nothing said: the key is not set.
	default:
		errs = append(errs, err.Error())
	}

	s.Error = strings.Join(errs, "; ")
	return s
}

// outsideRepo turns a failed `git rev-parse --show-toplevel` into a stamp.
func outsideRepo(err error) Stamp {
	var gerr *gitError
	if !errors.As(err, &gerr) || gerr.exit <= 0 {
		return Stamp{Status: StatusNone, Error: err.Error()}
	}
	msg := gerr.stderr
	switch {
	case strings.Contains(msg, "not a git repository"):
		return Stamp{Status: StatusNone}
	case strings.Contains(msg, "dubious ownership"):
		repo := quoted(msg)
		return Stamp{Repo: repo, Status: StatusNone, Error: fmt.Sprintf(
			"git refuses the repository at %s: it is owned by another user (safe.directory); "+
				"to trust it run: git config --global --add safe.directory %s", repo, repo)}
	case strings.Contains(msg, "must be run in a work tree"):
		return Stamp{Status: StatusNone, Error: "inside a git directory with no work tree " +
			"(a bare repository or a .git directory): " + err.Error()}
	}
	return Stamp{Status: StatusNone, Error: err.Error()}
}

// quoted returns the first '...'-quoted text in msg, or "".
func quoted(msg string) string {
	_, rest, ok := strings.Cut(msg, "'")
	if !ok {
		return ""
	}
	q, _, ok := strings.Cut(rest, "'")
	if !ok {
		return ""
	}
	return q
}

// redactURL removes credentials from a remote URL before it is recorded:
// for http(s) the whole user part goes (a token is often the user name),
// for other URL schemes the password does. scp-like "user@host:path" has no
// secret and is kept.
func redactURL(raw string) string {
	if !strings.Contains(raw, "://") {
		return raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable remote URL)"
	}
	if u.User == nil {
		return raw
	}
	if u.Scheme == "http" || u.Scheme == "https" {
		u.User = nil
		return u.String()
	}
	return u.Redacted()
}

// git runs the git binary for one Read.
type git struct {
	ctx  context.Context
	path string
	dir  string
	env  []string
}

// strippedEnv are the variables Read does not pass on to git: those that
// make git look somewhere other than the working directory for the
// repository, its index or its objects, and those Read sets itself.
var strippedEnv = []string{
	"GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR",
	"GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES",
	"GIT_NAMESPACE", "GIT_PREFIX", "GIT_OPTIONAL_LOCKS", "LC_ALL",
}

func newGit(ctx context.Context, dir string) (*git, error) {
	path, err := exec.LookPath("git")
	if err != nil {
		return nil, fmt.Errorf("git not installed: %w", err)
	}
	env := make([]string, 0, len(os.Environ())+3)
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		drop := false
		for _, r := range strippedEnv {
			drop = drop || name == r
		}
		if !drop {
			env = append(env, kv)
		}
	}
	env = append(env,
		"GIT_OPTIONAL_LOCKS=0",  // never take index.lock to refresh stat info
		"LC_ALL=C",              // messages we match on are in English
		"GIT_TERMINAL_PROMPT=0", // never wait for a password
	)
	return &git{ctx: ctx, path: path, dir: dir, env: env}, nil
}

// gitError is a git command that ran and failed (exit > 0), or was stopped
// by the context (exit -1).
type gitError struct {
	args   []string
	exit   int
	stderr string // trimmed
	cause  error
}

func (e *gitError) Error() string {
	cmd := "git " + strings.Join(e.args, " ")
	if e.cause != nil {
		return cmd + ": " + e.cause.Error()
	}
	msg := oneLine(e.stderr)
	if msg == "" {
		msg = "no message"
	}
	return fmt.Sprintf("%s: exit status %d: %s", cmd, e.exit, msg)
}

func (e *gitError) Unwrap() error { return e.cause }

// run runs git with args in g.dir and returns its standard output.
func (g *git) run(args ...string) ([]byte, error) {
	cmd := exec.CommandContext(g.ctx, g.path, args...)
	cmd.Dir = g.dir
	cmd.Env = g.env
	// If git leaves a child holding the pipes after being killed, give up
	// on them soon rather than hang the caller.
	cmd.WaitDelay = time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err == nil {
		return stdout.Bytes(), nil
	}
	if cerr := g.ctx.Err(); cerr != nil {
		return nil, &gitError{args: args, exit: -1, cause: cerr}
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() > 0 {
		return nil, &gitError{args: args, exit: exit.ExitCode(), stderr: strings.TrimSpace(stderr.String())}
	}
	return nil, &gitError{args: args, exit: -1, cause: err}
}

// oneLine joins the non-blank lines of git's message with "; " and drops
// the "fatal: " and "error: " prefixes.
func oneLine(msg string) string {
	var parts []string
	for _, l := range strings.Split(msg, "\n") {
		l = strings.TrimSpace(l)
		l = strings.TrimPrefix(l, "fatal: ")
		l = strings.TrimPrefix(l, "error: ")
		if l != "" {
			parts = append(parts, l)
		}
	}
	return strings.Join(parts, "; ")
}
