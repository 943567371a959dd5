package campaign

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/splitbrain/splitbrain/harness"
)

// exe is the splitbrain binary, built once for the tests that run whole
// campaigns (each run is a child process of it).
var exe string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "splitbrain-campaign-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	exe = filepath.Join(dir, "splitbrain")
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(gobin); err != nil {
		gobin = "go"
	}
	build := exec.Command(gobin, "build", "-o", exe, "github.com/splitbrain/splitbrain/cmd/splitbrain")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building splitbrain: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	stdout, stderr string
	code           int
}

// sb runs the binary with args (stdout and stderr are pipes, not a
// terminal).
func sb(t *testing.T, args ...string) result {
	t.Helper()
	cmd := exec.Command(exe, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("splitbrain %v: %v", args, err)
	}
	return r
}

// onlyCampaign returns the single campaign directory under root.
func onlyCampaign(t *testing.T, root string) *Index {
	t.Helper()
	list, err := List(root)
	if err != nil || len(list) != 1 {
		t.Fatalf("campaigns under %s: %v %v", root, list, err)
	}
	x, err := Read(list[0].Dir)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func runHistory(t *testing.T, campaignDir string, e Entry) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(campaignDir, e.Dir, harness.HistoryFile))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBugCampaign: with a known bug, the campaign fails (exit 1), groups
// the failures by signature, prints plain progress lines when stderr is
// not a terminal, and each failure's repro command reproduces it: the
// same verdict, the same signature, the same history byte for byte.
func TestBugCampaign(t *testing.T) {
	root := t.TempDir()
	r := sb(t, "campaign", "--seeds", "3", "--workers", "2", "--nemesis", "partition;kill", "--bug", "local-reads",
		"--time", "20s", "--results", root, "--", "--liveness-bound", "5s")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	progress := strings.Split(strings.TrimSpace(r.stderr), "\n")
	line := regexp.MustCompile(`^campaign \[[1-6]/6\] (VALID  |INVALID|UNKNOWN|ERROR  ) (partition|kill) seed [1-3](: .+)? \(failed [0-6], ETA \d+s\)$`)
	if len(progress) != 6 || strings.ContainsAny(r.stderr, "\r\x1b") {
		t.Fatalf("progress without a terminal: %q", r.stderr)
	}
	for _, l := range progress {
		if !line.MatchString(l) {
			t.Errorf("progress line %q", l)
		}
	}
	x := onlyCampaign(t, root)
	if x.Totals.Runs != 6 || x.Totals.Invalid == 0 || x.Planned != 6 || x.Interrupted {
		t.Fatalf("index: %+v planned %d", x.Totals, x.Planned)
	}
	if !strings.Contains(r.stdout, "failures, by signature:") || !strings.Contains(r.stdout, "summary:  "+filepath.Join(x.Dir(), SummaryFile)) {
		t.Fatalf("stdout:\n%s", r.stdout)
	}
	html, err := os.ReadFile(filepath.Join(x.Dir(), SummaryFile))
	if err != nil {
		t.Fatal(err)
	}
	groups := Groups(x.Runs)
	grouped := 0
	for _, g := range groups {
		if g.Verdict != Invalid {
			continue
		}
		grouped += len(g.Runs)
		if !strings.Contains(g.Signature, " / ") || !bytes.Contains(html, []byte(templateEscape(g.Signature))) {
			t.Errorf("group %q: not a fault kinds / anomaly signature, or not in summary.html", g.Signature)
		}
		for _, e := range g.Runs {
			if e.Signature != g.Signature || !strings.HasPrefix(e.Repro, "splitbrain run --seed ") || !bytes.Contains(html, []byte(e.Repro)) {
				t.Errorf("run %s: signature %q, repro %q (in summary: %v)", e.Key, e.Signature, e.Repro, bytes.Contains(html, []byte(e.Repro)))
			}
		}
	}
	if grouped != x.Totals.Invalid {
		t.Fatalf("%d failures grouped, %d failed", grouped, x.Totals.Invalid)
	}
	if i := bytes.Index(html, []byte("INVALID")); i < 0 || i > bytes.Index(html, []byte("<h2>Cells</h2>")) {
		t.Fatal("summary.html does not put the failures first")
	}

	// Reproduce the first failure from its repro command alone.
	e := groups[0].Runs[0]
	args := strings.Fields(e.Repro)
	if strings.ContainsAny(e.Repro, `'"`) || args[0] != "splitbrain" {
		t.Fatalf("repro %q", e.Repro)
	}
	again := t.TempDir()
	rr := sb(t, append(args[1:], "--results", again)...)
	if rr.code != 1 {
		t.Fatalf("repro %q: exit %d\n%s%s", e.Repro, rr.code, rr.stdout, rr.stderr)
	}
	latest, _ := filepath.EvalSymlinks(filepath.Join(again, "latest"))
	res, err := harness.ReadResults(latest)
	if err != nil {
		t.Fatal(err)
	}
	if sig := Signature(FaultKinds(res), Anomaly(res)); sig != e.Signature {
		t.Fatalf("repro gave %q, the campaign %q", sig, e.Signature)
	}
	h, _ := os.ReadFile(filepath.Join(latest, harness.HistoryFile))
	if !bytes.Equal(h, runHistory(t, x.Dir(), e)) {
		t.Fatal("the repro's history differs from the campaign run's")
	}
}

func templateEscape(s string) string { return strings.ReplaceAll(s, "+", "&#43;") }

// TestShardsMerge: two shards run disjoint halves of the matrix; merged,
// they are exactly the unsharded campaign: the same runs with the same
// verdicts and byte-identical histories (one simulation per process).
func TestShardsMerge(t *testing.T) {
	root := t.TempDir()
	common := []string{"campaign", "--seeds", "3", "--workers", "2", "--nemesis", "partition;kill,pause", "--time", "10s",
		"--results", root, "--", "--liveness-bound", "3s"}
	withShard := func(s string) []string {
		a := slices.Clone(common)
		return slices.Insert(a, 1, "--shard", s)
	}
	for _, s := range []string{"1/2", "2/2"} {
		if r := sb(t, withShard(s)...); r.code != 0 && r.code != 1 {
			t.Fatalf("shard %s: exit %d\n%s%s", s, r.code, r.stdout, r.stderr)
		}
	}
	list, _ := List(root)
	if len(list) != 2 {
		t.Fatalf("%d campaigns", len(list))
	}
	var shardDirs []string
	seen := map[int]bool{}
	for _, s := range list {
		shardDirs = append(shardDirs, s.Dir)
		if !strings.Contains(s.ID, "-shard-") || s.Planned != 3 || s.Totals.Runs != 3 {
			t.Fatalf("shard campaign %+v", s)
		}
		x, _ := Read(s.Dir)
		for _, e := range x.Runs {
			if seen[e.Index] {
				t.Fatalf("run %d in both shards", e.Index)
			}
			seen[e.Index] = true
		}
	}
	mroot := t.TempDir()
	mr := sb(t, "campaign", "merge", shardDirs[0], shardDirs[1], "--results", mroot)
	if mr.code != 0 && mr.code != 1 {
		t.Fatalf("merge: exit %d\n%s%s", mr.code, mr.stdout, mr.stderr)
	}
	merged := onlyCampaign(t, mroot)
	if !strings.Contains(mr.stdout, "6 runs from 2 shards") {
		t.Fatalf("merge output:\n%s", mr.stdout)
	}

	froot := t.TempDir()
	full := slices.Clone(common)
	full[len(full)-4] = froot // --results
	if r := sb(t, full...); r.code != 0 && r.code != 1 {
		t.Fatalf("full: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	whole := onlyCampaign(t, froot)
	if len(whole.Runs) != 6 || len(merged.Runs) != 6 {
		t.Fatalf("full %d runs, merged %d", len(whole.Runs), len(merged.Runs))
	}
	for i := range whole.Runs {
		a, b := whole.Runs[i], merged.Runs[i]
		if a.Key != b.Key || a.Verdict != b.Verdict || a.Signature != b.Signature || a.Seed != b.Seed {
			t.Fatalf("run %d: full %s %s %q, merged %s %s %q", i, a.Key, a.Verdict, a.Signature, b.Key, b.Verdict, b.Signature)
		}
		if !bytes.Equal(runHistory(t, whole.Dir(), a), runHistory(t, merged.Dir(), b)) {
			t.Fatalf("run %s: the sharded history differs from the unsharded one", a.Key)
		}
	}
	if merged.Fingerprint != whole.Fingerprint || merged.Totals != whole.Totals {
		t.Fatalf("merged %+v %s, full %+v %s", merged.Totals, merged.Fingerprint, whole.Totals, whole.Fingerprint)
	}
}

// TestScenarioCampaign: cells can be scenarios; a script that fails is an
// error run (exit 3 when nothing failed), a script that does not compile
// stops the campaign before it starts (exit 2).
func TestScenarioCampaign(t *testing.T) {
	examples, _ := filepath.Abs("../scenario/examples")
	root := t.TempDir()
	r := sb(t, "campaign", "--scenario", filepath.Join(examples, "leader-m*.lua"), "--seeds", "2", "--workers", "2", "--results", root)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	x := onlyCampaign(t, root)
	var cells []string
	for _, e := range x.Runs {
		cells = append(cells, filepath.Base(e.Cell)+"/"+fmt.Sprint(e.Seed)+"/"+string(e.Verdict))
		if !strings.Contains(e.Repro, "--scenario "+e.Scenario) || len(e.FaultKinds) == 0 {
			t.Errorf("run %s: repro %q, fault kinds %v", e.Key, e.Repro, e.FaultKinds)
		}
	}
	if want := "leader-majority.lua/1/valid leader-minority.lua/1/valid leader-majority.lua/2/valid leader-minority.lua/2/valid"; strings.Join(cells, " ") != want {
		t.Fatalf("runs %q, want %q", cells, want)
	}

	dir := t.TempDir()
	broken := filepath.Join(dir, "broken.lua")
	os.WriteFile(broken, []byte("wait_for_leader()\nlocal s = 'halfs'\npartition(s)\n"), 0o644)
	r = sb(t, "campaign", "--scenario", broken, "--seeds", "1", "--time", "20s", "--results", dir, "--", "--liveness-bound", "5s")
	if r.code != 3 {
		t.Fatalf("a failing script: exit %d, want 3\n%s%s", r.code, r.stdout, r.stderr)
	}
	e := onlyCampaign(t, dir).Runs[0]
	if e.Verdict != Error || !strings.HasSuffix(e.Signature, "/ script-error") || !strings.Contains(r.stdout, "errors (no verdict), by signature:") {
		t.Fatalf("entry %+v\n%s", e, r.stdout)
	}

	bad := filepath.Join(t.TempDir(), "bad.lua")
	os.WriteFile(bad, []byte("sleep(1\n"), 0o644)
	r = sb(t, "campaign", "--scenario", bad, "--results", filepath.Dir(bad))
	if r.code != 2 || !strings.Contains(r.stderr, bad+":1: ") {
		t.Fatalf("a syntax error: exit %d, stderr %q", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(bad), "campaigns")); err == nil {
		t.Fatal("a campaign directory was created for a script that does not compile")
	}
}

func TestUsageAndSetupErrors(t *testing.T) {
	root := t.TempDir()
	for _, args := range [][]string{
		{"--shard", "0/2"},
		{"--shard", "3/2"},
		{"--nemesis", "partiton"},
		{"--bug", "nope"},
		{"--mode", "vm"},
		{"--scenario", filepath.Join(root, "none*.lua")},
		{"--scenario", "x.lua", "--nemesis", "kill"},
		{"--", "--nodes", "many"},
		{"--", "--seed", "3"},
		{"stray"},
	} {
		r := sb(t, append([]string{"campaign", "--results", root}, args...)...)
		if r.code != 2 || r.stderr == "" {
			t.Errorf("%v: exit %d, stderr %q", args, r.code, r.stderr)
		}
	}
	if r := sb(t, "campaign", "merge"); r.code != 2 {
		t.Errorf("merge without directories: exit %d", r.code)
	}
	if _, err := os.Stat(filepath.Join(root, "campaigns")); err == nil {
		t.Error("a campaign directory was created for bad flags")
	}
	// A run that cannot start is an error run, with the child's reason.
	r := sb(t, "campaign", "--seeds", "1", "--results", root, "--", "--nodes", "100")
	if r.code != 3 {
		t.Fatalf("exit %d, want 3\n%s%s", r.code, r.stdout, r.stderr)
	}
	e := onlyCampaign(t, root).Runs[0]
	if e.Verdict != Error || e.ExitCode != 2 || !strings.Contains(e.Error, "nodes must be between 1 and 99") || !strings.Contains(e.Repro, "--nodes 100") {
		t.Fatalf("entry %+v", e)
	}
}

// TestBudget: with a budget and no seed count, the campaign starts runs
// until the budget is spent, and then ends. How many runs fit depends on
// the machine, so the test asks only for the first, which a budgeted
// campaign always starts; how long the campaign took is not judged.
func TestBudget(t *testing.T) {
	root := t.TempDir()
	r := sb(t, "campaign", "--budget", "2s", "--workers", "2", "--time", "10s", "--results", root, "--", "--liveness-bound", "3s")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	x := onlyCampaign(t, root)
	if x.Planned != -1 || x.Totals.Runs < 1 || x.Interrupted || x.Finished.IsZero() {
		t.Fatalf("planned %d, %d runs, interrupted %v, finished %v", x.Planned, x.Totals.Runs, x.Interrupted, x.Finished)
	}
	if !strings.Contains(r.stderr, "budget left") {
		t.Fatalf("progress %q", r.stderr)
	}
}

// TestInterrupt: SIGINT kills the runs in flight and writes what is done.
func TestInterrupt(t *testing.T) {
	root := t.TempDir()
	cmd := exec.Command(exe, "campaign", "--seeds", "100", "--workers", "2", "--results", root)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if list, _ := List(root); len(list) == 1 && list[0].Totals.Runs >= 2 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("no runs finished:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("exit %v, want 3\n%s", err, out.String())
	}
	x := onlyCampaign(t, root)
	if !x.Interrupted || x.Totals.Runs < 2 || x.Totals.Runs >= 100 || x.Finished.IsZero() {
		t.Fatalf("index after the interrupt: interrupted %v, %d runs", x.Interrupted, x.Totals.Runs)
	}
	if _, err := os.Stat(filepath.Join(x.Dir(), SummaryFile)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "campaign interrupted after") || !strings.Contains(out.String(), "(interrupted)") {
		t.Fatalf("output:\n%s", out.String())
	}
	// No run is left behind.
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		if b, err := os.ReadFile(p); err == nil && bytes.Contains(b, []byte(x.Dir())) {
			t.Fatalf("a run survived the interrupt: %s: %q", p, bytes.ReplaceAll(b, []byte{0}, []byte{' '}))
		}
	}
}
