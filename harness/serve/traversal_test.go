package serve

import (
	"errors"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

const secret = "TOPSECRET-outside-the-results-root"

// traversalRoot is a results root next to a secret it must never serve,
// with one run, a legitimate latest link, and symbolic links that try to
// leave the root every way a link can.
func traversalRoot(t *testing.T) (root string, run synthRun) {
	t.Helper()
	base := t.TempDir()
	root = filepath.Join(base, "results")
	os.MkdirAll(filepath.Join(base, "secret"), 0o755)
	if err := os.WriteFile(filepath.Join(base, "secret", "passwd"), []byte(secret), 0o644); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(base, "results.json"), []byte(secret), 0o644) // a sibling with a run file's name
	run = synthRun{Name: "register", At: t0, Verdict: VerdictInvalid, Seed: 1, Ops: 1}
	dir := writeSynth(t, root, run)
	links := map[string]string{
		filepath.Join(root, "latest"):                  run.rel(),                                    // inside: must work
		filepath.Join(root, "register", "latest"):      run.dirName(),                                // inside: must work
		filepath.Join(root, "escape"):                  "../secret",                                  // relative, leaves the root
		filepath.Join(root, "abs"):                     filepath.Join(base, "secret"),                // absolute
		filepath.Join(root, "etc"):                     "/etc",                                       // absolute, system
		filepath.Join(dir, "evil.txt"):                 "../../../secret/passwd",                     // a file link out
		filepath.Join(dir, "deep.txt"):                 "../../register/../../secret/passwd",         // climbs in, then out
		filepath.Join(root, "register", "outrun"):      "../../secret",                               // a "run" outside
		filepath.Join(root, "loop"):                    "loop",                                       // a loop
		filepath.Join(root, "register", "inside-link"): "../latest",                                  // chain inside: works
		filepath.Join(dir, "logs", "n9.log"):           "../../../../secret/passwd",                  // a log out
		filepath.Join(root, "up"):                      "..",                                         // the parent itself
		filepath.Join(root, "register", "results"):     "../../" + filepath.Base(root) + "/register", // out and back in: refused too
	}
	for link, target := range links {
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
	}
	return root, run
}

// TestTraversalRaw sends request lines exactly as written — no client
// cleans or re-encodes them — and checks that each is refused (400 for a
// path that could climb, 404 for a name that leaves the root through a
// link) and that nothing outside the results root comes back.
func TestTraversalRaw(t *testing.T) {
	root, run := traversalRoot(t)
	addr := startServer(t, newServer(t, root, Options{Hosts: LoopbackHosts}))
	rel := run.rel()
	cases := []struct {
		target string
		code   int
	}{
		// The examples.
		{"/../../etc/passwd", 400},
		{"/%2e%2e/%2e%2e/etc/passwd", 400},
		// Dot segments, plain and encoded, in every position and case.
		{"/file/../../etc/passwd", 400},
		{"/file/../secret/passwd", 400},
		{"/file/register/../../secret/passwd", 400},
		{"/file/" + rel + "/../../../secret/passwd", 400},
		{"/file/%2e%2e/secret/passwd", 400},
		{"/file/%2E%2E/secret/passwd", 400},
		{"/file/.%2e/secret/passwd", 400},
		{"/file/%2e./secret/passwd", 400},
		{"/.%2e/.%2e/etc/passwd", 400},
		{"/file/./register", 400},
		{"/file/%2e/register", 400},
		{"/run/../../etc", 400},
		{"/run/%2e%2e", 400},
		{"/run/register/%2e%2e/%2e%2e", 400},
		{"/static/../server.go", 400},
		{"/static/%2e%2e/server.go", 400},
		// Encoded separators.
		{"/file/..%2f..%2fetc%2fpasswd", 400},
		{"/file/..%2F..%2Fsecret%2Fpasswd", 400},
		{"/file/%2f..%2f..%2fetc%2fpasswd", 400},
		{"/file/register%2f..%2f..%2fsecret%2fpasswd", 400},
		{"/file/..%5c..%5csecret%5cpasswd", 400},
		{"/file/..\\..\\secret\\passwd", 400},
		{"/%2fetc/passwd", 400},
		// Double and triple encoding.
		{"/file/%252e%252e/%252e%252e/etc/passwd", 400},
		{"/file/%252e%252e%252fsecret%252fpasswd", 400},
		{"/file/%25252e%25252e/secret/passwd", 400},
		{"/file/%25", 400},
		// Malformed and overlong encodings, NUL, control characters.
		{"/file/%c0%ae%c0%ae/secret/passwd", 400},
		{"/file/%e0%80%ae%e0%80%ae/secret/passwd", 400},
		{"/file/%2", 400},
		{"/file/%zz", 400},
		{"/file/" + rel + "/results.json%00.png", 400},
		{"/file/%0a/x", 400},
		// Empty segments and absolute-looking paths.
		{"//etc/passwd", 400},
		{"/file//etc/passwd", 400},
		{"/file/" + rel + "//results.json", 400},
		{"http://127.0.0.1/../../etc/passwd", 400},
		{"http://127.0.0.1/file/%2e%2e/secret/passwd", 400},
		// Links that leave the root: refused by os.Root.
		{"/file/escape/passwd", 404},
		{"/file/abs/passwd", 404},
		{"/file/etc/passwd", 404},
		{"/file/" + rel + "/evil.txt", 404},
		{"/file/" + rel + "/deep.txt", 404},
		{"/file/register/outrun/passwd", 404},
		{"/file/up/secret/passwd", 404},
		{"/file/up/results.json", 404},
		{"/file/loop/x", 404},
		{"/run/escape", 404},
		{"/run/register/outrun", 404},
		{"/run/up", 404},
		{"/run/loop", 404},
		{"/file/register/results/" + run.dirName() + "/test.json", 404}, // os.Root: a link may not pass outside, even to come back
		{"/run/register/results/" + run.dirName(), 404},
		{"/run/" + rel + "?log=n9", 404},
		// Names that merely look odd are just names: not found.
		{"/file/..;/secret/passwd", 404},
		{"/file/...", 404},
		{"/file/.../secret/passwd", 404},
		{"/file/.hidden", 404},
		{"/file/" + rel + "/.latest-1", 404},
		{"/nothing/here", 404},
	}
	for _, c := range cases {
		code, body := rawGet(t, addr, c.target)
		if code != c.code {
			t.Errorf("GET %s: %d, want %d", c.target, code, c.code)
		}
		if strings.Contains(body, secret) || strings.Contains(body, "root:x:0:0") {
			t.Errorf("GET %s served something from outside the results root", c.target)
		}
	}
	// Inside the root, links work.
	for _, target := range []string{
		"/file/latest/test.json",
		"/file/register/latest/results.json",
		"/file/register/inside-link/test.json",
		"/file/" + strings.ReplaceAll(rel, "T", "%54") + "/test.json", // harmless encoding of a letter
	} {
		if code, body := rawGet(t, addr, target); code != 200 || !strings.Contains(body, `"register"`) {
			t.Errorf("GET %s: %d, want the run's file", target, code)
		}
	}
	if code, _ := rawGet(t, addr, "/run/latest"); code != http.StatusFound {
		t.Errorf("GET /run/latest: %d, want 302", code)
	}
	// A client that cleans paths itself gets the same answers.
	resp, err := http.Get(addr + "/file/escape/passwd")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	http.DefaultClient.CloseIdleConnections()
	if resp.StatusCode != 404 {
		t.Errorf("http.Get /file/escape/passwd: %d", resp.StatusCode)
	}
}

// The server's answers to the request lines a plain client cannot send:
// Go's HTTP server refuses them before any handler runs.
func TestTraversalMalformedRequestLines(t *testing.T) {
	root, _ := traversalRoot(t)
	addr := startServer(t, newServer(t, root, Options{}))
	for _, target := range []string{"../etc/passwd", "etc/passwd", "*", "/file/a b"} {
		if code, body := rawGet(t, addr, target); code != 400 || strings.Contains(body, secret) {
			t.Errorf("GET %s: %d, want 400", target, code)
		}
	}
}

func TestResolve(t *testing.T) {
	root, run := traversalRoot(t)
	r, err := os.OpenRoot(root)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for in, want := range map[string]string{
		"latest":                    run.rel(),
		"register/latest":           run.rel(),
		"register/inside-link":      run.rel(),
		"register/inside-link/logs": run.rel() + "/logs",
		run.rel():                   run.rel(),
	} {
		got, err := resolve(r, strings.Split(in, "/"))
		if err != nil || got != want {
			t.Errorf("resolve(%s) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"escape", "abs", "etc", "up", "register/outrun", "loop", run.rel() + "/evil.txt", "missing", "register/results/" + run.dirName()} {
		if got, err := resolve(r, strings.Split(in, "/")); err == nil {
			t.Errorf("resolve(%s) = %q, want an error", in, got)
		}
	}
	if _, err := resolve(r, []string{"escape"}); !errors.Is(err, errEscapes) {
		t.Errorf("resolve(escape): %v, want errEscapes", err)
	}
}

// FuzzSplitPath: whatever the request path, an accepted one is a list of
// plain names that path.Clean leaves alone, so joined to any root it stays
// inside.
func FuzzSplitPath(f *testing.F) {
	for _, s := range []string{
		"/", "/file/a/b", "/run/latest/", "/../../etc/passwd", "/%2e%2e/x", "/file/..%2f..%2f", "/file/%252e%252e/",
		"/file/..\\..", "/a//b", "/.hidden", "/file/%c0%ae", "/file/%00", "/file/x%2Fy", "/file/a%20b", "/é/%C3%A9", "",
		"/file/.", "/file/...", "/%", "/a/./b",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		segs, err := splitPath(p)
		if err != nil {
			if !errors.Is(err, errBadPath) && !errors.Is(err, errHidden) {
				t.Fatalf("splitPath(%q): unexpected error %v", p, err)
			}
			return
		}
		for _, s := range segs {
			if s == "" || s == "." || s == ".." || strings.ContainsAny(s, "/\\%\x00") || strings.HasPrefix(s, ".") || !utf8.ValidString(s) {
				t.Fatalf("splitPath(%q) accepted segment %q", p, s)
			}
		}
		joined := "/" + strings.Join(segs, "/")
		if path.Clean(joined) != joined {
			t.Fatalf("splitPath(%q) = %q, which path.Clean changes to %q", p, segs, path.Clean(joined))
		}
		if !strings.HasPrefix(path.Join("/root", joined)+"/", "/root/") {
			t.Fatalf("splitPath(%q) = %q escapes a root", p, segs)
		}
	})
}
