package gitstamp

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestMain isolates every git the tests run (helpers and Read alike) from
// the machine's configuration and pins commit dates.
func TestMain(m *testing.M) {
	for _, kv := range [][2]string{
		{"GIT_CONFIG_GLOBAL", os.DevNull},
		{"GIT_CONFIG_NOSYSTEM", "1"},
		{"GIT_AUTHOR_DATE", "2026-01-02T03:04:05Z"},
		{"GIT_COMMITTER_DATE", "2026-01-02T03:04:05Z"},
	} {
		os.Setenv(kv[0], kv[1])
	}
	for _, name := range strippedEnv {
		os.Unsetenv(name)
	}
	os.Exit(m.Run())
}

func requireGit(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed (not in PATH); gitstamp needs the git binary to be tested")
	}
}

// gitIn runs git in dir and returns its trimmed output; failure ends the test.
func gitIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git %s in %s: %v: %s", strings.Join(args, " "), dir, err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// newRepo makes an empty repository on branch main with a local identity.
func newRepo(t *testing.T) string {
	t.Helper()
	requireGit(t)
	dir := realDir(t, t.TempDir())
	gitIn(t, dir, "init", "-q", "-b", "main")
	gitIn(t, dir, "config", "user.name", "Stamp Test")
	gitIn(t, dir, "config", "user.email", "stamp@example.com")
	gitIn(t, dir, "config", "commit.gpgsign", "false")
	return dir
}

// realDir resolves symlinks (macOS's /var -> /private/var), as git does.
func realDir(t *testing.T, dir string) string {
	t.Helper()
	r, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func writeFile(t *testing.T, dir, name, content string) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// commit writes name with content and commits it.
func commit(t *testing.T, dir, name, content string) string {
	t.Helper()
	writeFile(t, dir, name, content)
	gitIn(t, dir, "add", "--", name)
	gitIn(t, dir, "commit", "-q", "-m", "change "+name)
	return gitIn(t, dir, "rev-parse", "HEAD")
}

func read(t *testing.T, dir string) Stamp {
	t.Helper()
	return Read(context.Background(), dir)
}

// wantHead checks the fields that identify the commit.
func wantHead(t *testing.T, s Stamp, repo, branch string) {
	t.Helper()
	commit := gitIn(t, repo, "rev-parse", "HEAD")
	short := gitIn(t, repo, "rev-parse", "--short", "HEAD")
	if s.Repo != repo || s.Branch != branch || s.Commit != commit || s.Short != short {
		t.Errorf("stamp identifies repo %q branch %q commit %q short %q; want %q %q %q %q",
			s.Repo, s.Branch, s.Commit, s.Short, repo, branch, commit, short)
	}
}

func TestReadNotARepository(t *testing.T) {
	requireGit(t)
	dir := realDir(t, t.TempDir())
	// Do not let git find a repository above the temporary directory.
	t.Setenv("GIT_CEILING_DIRECTORIES", filepath.Dir(dir))
	s := read(t, dir)
	if s.Status != StatusNone || s.Error != "" || s.Repo != "" || s.Branch != "" || s.Commit != "" {
		t.Fatalf("outside a repository: got %+v, want status none and nothing else", s)
	}
	if s.String() != "no git repository" || s.Color() != "grey" {
		t.Errorf("String %q Color %q", s.String(), s.Color())
	}
}

func TestReadNoCommits(t *testing.T) {
	dir := newRepo(t)
	s := read(t, dir)
	want := Stamp{Repo: dir, Branch: "main", Status: StatusClean}
	if !equal(s, want) {
		t.Fatalf("fresh repository: got %+v, want %+v", s, want)
	}
	writeFile(t, dir, "notes.txt", "x")
	s = read(t, dir)
	want = Stamp{Repo: dir, Branch: "main", Status: StatusDirty, Changes: 1, Dirty: []string{"notes.txt"}}
	if !equal(s, want) {
		t.Fatalf("fresh repository with an untracked file: got %+v, want %+v", s, want)
	}
	if got := s.String(); got != "main (no commits) dirty (1 file)" {
		t.Errorf("String() = %q", got)
	}
}

func TestReadClean(t *testing.T) {
	dir := newRepo(t)
	commit(t, dir, "a.go", "package a\n")
	// Ignored files are not changes: results/ is ignored in this project.
	commit(t, dir, ".gitignore", "results/\n")
	writeFile(t, dir, "results/run1/history.jsonl", "{}\n")
	s := read(t, dir)
	wantHead(t, s, dir, "main")
	if s.Status != StatusClean || s.Changes != 0 || s.Dirty != nil || s.Error != "" ||
		s.Remote != "" || s.Upstream != "" || s.Ahead != 0 || s.Behind != 0 {
		t.Fatalf("clean repository: got %+v", s)
	}
	if got, want := s.String(), "main@"+s.Short+" clean"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if s.Color() != "green" {
		t.Errorf("Color() = %q, want green", s.Color())
	}
	// Short is git's abbreviation, which follows core.abbrev.
	gitIn(t, dir, "config", "core.abbrev", "12")
	if s = read(t, dir); s.Short != s.Commit[:12] {
		t.Errorf("with core.abbrev=12: Short = %q, want %q", s.Short, s.Commit[:12])
	}
}

func TestReadDirty(t *testing.T) {
	cases := []struct {
		name   string
		change func(t *testing.T, dir string)
		want   []string
	}{
		{"modified", func(t *testing.T, dir string) { writeFile(t, dir, "a.go", "package b\n") }, []string{"a.go"}},
		{"staged", func(t *testing.T, dir string) {
			writeFile(t, dir, "n.go", "package a\n")
			gitIn(t, dir, "add", "n.go")
		}, []string{"n.go"}},
		{"untracked", func(t *testing.T, dir string) { writeFile(t, dir, "u.go", "package a\n") }, []string{"u.go"}},
		{"untracked directory", func(t *testing.T, dir string) {
			writeFile(t, dir, "new/x.go", "")
			writeFile(t, dir, "new/y.go", "")
		}, []string{"new/"}},
		{"deleted", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "a.go")) }, []string{"a.go"}},
		{"renamed", func(t *testing.T, dir string) { gitIn(t, dir, "mv", "a.go", "b.go") }, []string{"b.go"}},
		{"odd names", func(t *testing.T, dir string) {
			writeFile(t, dir, "with space.go", "")
			writeFile(t, dir, "tab\there.go", "")
			if runtime.GOOS != "windows" {
				writeFile(t, dir, "new\nline.go", "")
			}
		}, func() []string {
			if runtime.GOOS == "windows" {
				return []string{"tab\there.go", "with space.go"}
			}
			return []string{"new\nline.go", "tab\there.go", "with space.go"}
		}()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := newRepo(t)
			commit(t, dir, "a.go", "package a\n")
			c.change(t, dir)
			s := read(t, dir)
			wantHead(t, s, dir, "main")
			if s.Status != StatusDirty || s.Changes != len(c.want) || !slices.Equal(s.Dirty, c.want) || s.Error != "" {
				t.Fatalf("got status %q changes %d dirty %q error %q; want dirty %d %q",
					s.Status, s.Changes, s.Dirty, s.Error, len(c.want), c.want)
			}
			if s.Color() != "red" {
				t.Errorf("Color() = %q, want red", s.Color())
			}
		})
	}
}

func TestReadUntrackedCountsDespiteConfig(t *testing.T) {
	dir := newRepo(t)
	commit(t, dir, "a.go", "package a\n")
	gitIn(t, dir, "config", "status.showUntrackedFiles", "no")
	writeFile(t, dir, "u.go", "package a\n")
	if s := read(t, dir); s.Status != StatusDirty || !slices.Equal(s.Dirty, []string{"u.go"}) {
		t.Fatalf("untracked file with status.showUntrackedFiles=no: got %+v, want dirty [u.go]", s)
	}
}

func TestReadDirtyListIsSortedAndCapped(t *testing.T) {
	dir := newRepo(t)
	commit(t, dir, "a.go", "package a\n")
	var all []string
	for i := 30; i > 0; i-- { // created in reverse order
		name := fmt.Sprintf("f%02d.txt", i)
		writeFile(t, dir, name, "x")
		all = append(all, name)
	}
	// git lists tracked changes before untracked files; z.go sorts last.
	commit(t, dir, "z.go", "package a\n")
	writeFile(t, dir, "z.go", "package changed\n")
	all = append(all, "z.go")
	slices.Sort(all)
	s := read(t, dir)
	if s.Changes != 31 || !slices.Equal(s.Dirty, all[:MaxDirty]) {
		t.Fatalf("got changes %d dirty %q; want 31 and %q", s.Changes, s.Dirty, all[:MaxDirty])
	}
	if got, want := s.String(), "main@"+s.Short+" dirty (31 files)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

// withOrigin gives dir a bare "origin" with main pushed and tracked.
func withOrigin(t *testing.T, dir string) string {
	t.Helper()
	origin := filepath.Join(realDir(t, t.TempDir()), "origin.git")
	gitIn(t, dir, "init", "-q", "--bare", "-b", "main", origin)
	gitIn(t, dir, "remote", "add", "origin", origin)
	gitIn(t, dir, "push", "-q", "-u", "origin", "main")
	return origin
}

func TestReadUpstream(t *testing.T) {
	dir := newRepo(t)
	commit(t, dir, "a.go", "package a\n")
	origin := withOrigin(t, dir)

	s := read(t, dir)
	wantHead(t, s, dir, "main")
	if s.Status != StatusClean || s.Upstream != "origin/main" || s.Remote != origin || s.Ahead != 0 || s.Behind != 0 || s.Error != "" {
		t.Fatalf("pushed: got %+v, want clean, upstream origin/main, remote %s", s, origin)
	}

	commit(t, dir, "b.go", "package a\n")
	if s = read(t, dir); s.Status != StatusAhead || s.Ahead != 1 {
		t.Fatalf("one local commit: got %+v, want ahead 1", s)
	}
	commit(t, dir, "c.go", "package a\n")
	s = read(t, dir)
	wantHead(t, s, dir, "main")
	if s.Status != StatusAhead || s.Ahead != 2 || s.Behind != 0 || s.Color() != "yellow" {
		t.Fatalf("two local commits: got %+v, want ahead 2", s)
	}
	if got, want := s.String(), "main@"+s.Short+" ahead 2 of origin/main"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}

	// Someone else pushes; we fetch: ahead 2, behind 1.
	other := realDir(t, t.TempDir())
	gitIn(t, other, "clone", "-q", origin, "c")
	clone := filepath.Join(other, "c")
	gitIn(t, clone, "config", "user.name", "Other")
	gitIn(t, clone, "config", "user.email", "other@example.com")
	commit(t, clone, "z.go", "package a\n")
	gitIn(t, clone, "push", "-q", "origin", "main")
	gitIn(t, dir, "fetch", "-q", "origin")
	s = read(t, dir)
	if s.Status != StatusAhead || s.Ahead != 2 || s.Behind != 1 {
		t.Fatalf("diverged: got %+v, want ahead 2 behind 1", s)
	}
	if got, want := s.String(), "main@"+s.Short+" ahead 2 of origin/main, behind 1"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}

	// Dirty takes precedence over ahead; the counts stay.
	writeFile(t, dir, "a.go", "package dirty\n")
	s = read(t, dir)
	if s.Status != StatusDirty || s.Ahead != 2 || s.Behind != 1 || s.Color() != "red" {
		t.Fatalf("dirty and ahead: got %+v, want dirty with ahead 2 behind 1", s)
	}
	if got, want := s.String(), "main@"+s.Short+" dirty (1 file), ahead 2 of origin/main, behind 1"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestReadBehindOnlyIsClean(t *testing.T) {
	dir := newRepo(t)
	commit(t, dir, "a.go", "package a\n")
	withOrigin(t, dir)
	commit(t, dir, "b.go", "package a\n")
	gitIn(t, dir, "push", "-q", "origin", "main")
	gitIn(t, dir, "reset", "-q", "--hard", "HEAD~1")
	s := read(t, dir)
	if s.Status != StatusClean || s.Ahead != 0 || s.Behind != 1 {
		t.Fatalf("behind only: got %+v, want clean behind 1", s)
	}
	if got, want := s.String(), "main@"+s.Short+" clean, behind 1 of origin/main"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestReadUpstreamGone(t *testing.T) {
	dir := newRepo(t)
	commit(t, dir, "a.go", "package a\n")
	withOrigin(t, dir)
	gitIn(t, dir, "checkout", "-q", "-b", "feature")
	gitIn(t, dir, "push", "-q", "-u", "origin", "feature")
	gitIn(t, dir, "push", "-q", "origin", "--delete", "feature")
	gitIn(t, dir, "fetch", "-q", "--prune", "origin")
	s := read(t, dir)
	wantHead(t, s, dir, "feature")
	if s.Status != StatusClean || s.Upstream != "origin/feature" || !strings.Contains(s.Error, "upstream origin/feature is gone") {
		t.Fatalf("upstream deleted: got %+v, want clean with a gone-upstream error", s)
	}
}

func TestReadDetached(t *testing.T) {
	dir := newRepo(t)
	first := commit(t, dir, "a.go", "package a\n")
	commit(t, dir, "b.go", "package a\n")
	gitIn(t, dir, "checkout", "-q", "--detach", first)
	s := read(t, dir)
	short := gitIn(t, dir, "rev-parse", "--short", first)
	wantHead(t, s, dir, "HEAD (detached at "+short+")")
	if s.Commit != first || s.Status != StatusClean || s.Error != "" {
		t.Fatalf("detached: got %+v, want clean at %s", s, first)
	}
	if got, want := s.String(), "HEAD (detached at "+short+") clean"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestReadFromSubdirectoryCoversWholeTree(t *testing.T) {
	dir := newRepo(t)
	commit(t, dir, "deep/er/a.go", "package a\n")
	writeFile(t, dir, "top.txt", "elsewhere in the tree")
	s := read(t, filepath.Join(dir, "deep", "er"))
	wantHead(t, s, dir, "main")
	if s.Status != StatusDirty || !slices.Equal(s.Dirty, []string{"top.txt"}) {
		t.Fatalf("from a subdirectory: got %+v, want dirty [top.txt] relative to %s", s, dir)
	}
}

func TestReadIgnoresCallersGitDir(t *testing.T) {
	other := newRepo(t)
	commit(t, other, "o.go", "package o\n")
	dir := newRepo(t)
	commit(t, dir, "a.go", "package a\n")
	// As inside a git hook of another repository.
	t.Setenv("GIT_DIR", filepath.Join(other, ".git"))
	t.Setenv("GIT_WORK_TREE", other)
	s := read(t, dir)
	os.Unsetenv("GIT_DIR")
	os.Unsetenv("GIT_WORK_TREE")
	wantHead(t, s, dir, "main")
}

func TestReadDoesNotRewriteIndex(t *testing.T) {
	dir := newRepo(t)
	commit(t, dir, "a.go", "package a\n")
	// Same content, new mtime: a locking `git status` would refresh the
	// index's stat data and write it back under index.lock.
	old := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := os.Chtimes(filepath.Join(dir, "a.go"), old, old); err != nil {
		t.Fatal(err)
	}
	index := filepath.Join(dir, ".git", "index")
	before, err := os.ReadFile(index)
	if err != nil {
		t.Fatal(err)
	}
	if s := read(t, dir); s.Status != StatusClean {
		t.Fatalf("touched file: got %+v, want clean", s)
	}
	after, _ := os.ReadFile(index)
	if !bytes.Equal(before, after) {
		t.Fatal("Read rewrote .git/index: it took the index lock (GIT_OPTIONAL_LOCKS=0 not in effect)")
	}
	// Control: plain git status does rewrite it, so the check above can fail.
	gitIn(t, dir, "status", "--porcelain")
	if after, _ = os.ReadFile(index); bytes.Equal(before, after) {
		t.Skip("this git does not refresh the index on status; the lock check proves nothing here")
	}
}

func TestReadRemoteCredentialsRedacted(t *testing.T) {
	dir := newRepo(t)
	commit(t, dir, "a.go", "package a\n")
	gitIn(t, dir, "remote", "add", "origin", "https://user:s3cret@example.com/team/sut.git")
	s := read(t, dir)
	if s.Remote != "https://example.com/team/sut.git" || strings.Contains(fmt.Sprint(s), "s3cret") {
		t.Fatalf("Remote = %q, want the URL without credentials", s.Remote)
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"git@github.com:splitbrain/splitbrain.git":    "git@github.com:splitbrain/splitbrain.git",
		"https://github.com/splitbrain/splitbrain":    "https://github.com/splitbrain/splitbrain",
		"https://ghp_token@github.com/x/y.git":        "https://github.com/x/y.git",
		"http://u:p@host:8080/r.git":                  "http://host:8080/r.git",
		"ssh://git:pw@host/r.git":                     "ssh://git:xxxxx@host/r.git",
		"ssh://git@host/r.git":                        "ssh://git@host/r.git",
		"/srv/git/origin.git":                         "/srv/git/origin.git",
		"https://host/%zz":                            "(unparseable remote URL)",
		"file:///srv/git/origin.git":                  "file:///srv/git/origin.git",
		"https://user:p%40ss@host/path?q=1#frag":      "https://host/path?q=1#frag",
		"https://[::1]:9418/r.git":                    "https://[::1]:9418/r.git",
		"git://token:x-oauth-basic@host/r.git":        "git://token:xxxxx@host/r.git",
		"https://only-user@dev.azure.com/org/_git/rp": "https://dev.azure.com/org/_git/rp",
	} {
		if got := redactURL(in); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestReadBareRepository(t *testing.T) {
	requireGit(t)
	bare := filepath.Join(realDir(t, t.TempDir()), "b.git")
	gitIn(t, filepath.Dir(bare), "init", "-q", "--bare", bare)
	s := read(t, bare)
	if s.Status != StatusNone || !strings.Contains(s.Error, "no work tree") {
		t.Fatalf("bare repository: got %+v, want none with a no-work-tree error", s)
	}
}

func TestReadMissingDirectory(t *testing.T) {
	requireGit(t)
	missing := filepath.Join(t.TempDir(), "gone")
	s := read(t, missing)
	if s.Status != StatusNone || !strings.Contains(s.Error, missing) {
		t.Fatalf("missing directory: got %+v, want none with an error naming %s", s, missing)
	}
}

// makeForeign makes git consider dir owned by another user, by chown when
// running as root, else by git's own test switch.
func makeForeign(t *testing.T, dir string) {
	t.Helper()
	t.Setenv("GIT_TEST_ASSUME_DIFFERENT_OWNER", "1")
	cmd := exec.Command("git", "rev-parse", "--show-toplevel")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil && strings.Contains(string(out), "dubious ownership") {
		return
	}
	os.Unsetenv("GIT_TEST_ASSUME_DIFFERENT_OWNER")
	if os.Geteuid() != 0 || os.Getenv("SUDO_UID") != "" {
		t.Skip("cannot make git see another owner: GIT_TEST_ASSUME_DIFFERENT_OWNER unsupported and not root")
	}
	err := filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, 65534, 65534)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestReadSafeDirectoryRefusal(t *testing.T) {
	dir := newRepo(t)
	commit(t, dir, "a.go", "package a\n")
	makeForeign(t, dir)
	s := read(t, dir)
	if s.Status != StatusNone || s.Repo != dir || !strings.Contains(s.Error, "safe.directory "+dir) {
		t.Fatalf("foreign repository: got %+v, want none, repo %s, an error telling how to trust it", s, dir)
	}
	if !strings.HasPrefix(s.String(), "git state unknown: git refuses the repository at "+dir) || s.Color() != "grey" {
		t.Errorf("String() = %q Color() = %q", s.String(), s.Color())
	}
}

func TestReadGitNotInstalled(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	s := read(t, t.TempDir())
	if s.Status != StatusNone || !strings.Contains(s.Error, "git not installed") {
		t.Fatalf("no git in PATH: got %+v, want none with a not-installed error", s)
	}
}

func TestReadCanceledContext(t *testing.T) {
	dir := newRepo(t)
	commit(t, dir, "a.go", "package a\n")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := Read(ctx, dir)
	if s.Status != StatusNone || !strings.Contains(s.Error, context.Canceled.Error()) {
		t.Fatalf("canceled context: got %+v, want none with a canceled error", s)
	}
}

// fakeGit puts a shell script named git first in PATH.
func fakeGit(t *testing.T, script string) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("fake git is a shell script")
	}
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "git"), []byte("#!/bin/sh\n"+script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
}

// TestReadTimeoutKillsHungGit: a git that hangs is killed when the
// context ends. The context ends once git status has started (not after a
// wall-clock delay, which a loaded machine could spend before git even
// answers rev-parse).
func TestReadTimeoutKillsHungGit(t *testing.T) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep command to make a hung git with")
	}
	top := t.TempDir()
	started := filepath.Join(t.TempDir(), "status-started")
	// rev-parse answers; status says it started, then hangs until killed.
	fakeGit(t, fmt.Sprintf("case \"$1\" in rev-parse) echo '%s';; *) : >'%s'; exec '%s' 3600;; esac\n", top, started, sleep))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case <-time.After(10 * time.Millisecond):
			}
			if _, err := os.Stat(started); err == nil {
				cancel()
				return
			}
		}
	}()
	s := Read(ctx, top)
	close(done)
	if s.Status != StatusNone || s.Repo != top || !strings.Contains(s.Error, "git status") ||
		!strings.Contains(s.Error, context.Canceled.Error()) {
		t.Fatalf("hung git status: got %+v, want none, repo %s, a context error naming git status", s, top)
	}
}

func TestReadEmptyTopLevel(t *testing.T) {
	fakeGit(t, "exit 0\n") // as some git versions do in a bare repository
	s := read(t, t.TempDir())
	if s.Status != StatusNone || !strings.Contains(s.Error, "no work tree") {
		t.Fatalf("empty --show-toplevel: got %+v, want none with a no-work-tree error", s)
	}
}

func TestReadUnexpectedOutput(t *testing.T) {
	top := t.TempDir()
	fakeGit(t, fmt.Sprintf("case \"$1\" in rev-parse) echo '%s';; *) printf '# branch.oid xyz\\000';; esac\n", top))
	s := read(t, top)
	if s.Status != StatusNone || !strings.Contains(s.Error, "record 1") || !strings.Contains(s.Error, `branch.oid "xyz"`) {
		t.Fatalf("garbled status output: got %+v, want none with a parse error naming record 1", s)
	}
}

func TestReadRemoteConfigError(t *testing.T) {
	dir := newRepo(t)
	commit(t, dir, "a.go", "package a\n")
	// A broken config file makes `git config --get` fail loudly (not exit 1).
	// Read must keep the status it learned and report the remote problem.
	top := dir
	fakeGit(t, fmt.Sprintf(`case "$1" in
config) echo 'fatal: bad config line 3 in file .git/config' >&2; exit 128;;
*) exec %q "$@";;
esac
`, realGit(t)))
	s := read(t, top)
	if s.Status != StatusClean || s.Commit == "" || !strings.Contains(s.Error, "git config --get remote.origin.url: exit status 128: bad config line 3") {
		t.Fatalf("config failure: got %+v, want clean with the config error", s)
	}
	if !strings.HasSuffix(s.String(), " clean [error: "+s.Error+"]") {
		t.Errorf("String() = %q, want the partial-stamp error at the end", s.String())
	}
}

func realGit(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git is not installed")
	}
	return p
}

func equal(a, b Stamp) bool {
	return fmt.Sprintf("%#v", a) == fmt.Sprintf("%#v", b)
}
