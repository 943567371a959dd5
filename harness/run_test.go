package harness

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/splitbrain/splitbrain/harness/history"
	"github.com/splitbrain/splitbrain/model"
)

func shortTest(t *testing.T, seed uint64, bugs ...string) Test {
	return Test{Seed: seed, Duration: Duration(20 * time.Second), Bugs: bugs, Results: t.TempDir(),
		LivenessBound: Duration(5 * time.Second)}
}

func TestRunValidAndLaidOut(t *testing.T) {
	out := RunTest(t, shortTest(t, 7))
	for _, f := range []string{TestFile, HistoryFile, ResultsFile, ScheduleFile, ReproFile, TimelineFile, "latency.png", "rate.png", "logs/n1.log", "logs/n5.log"} {
		if _, err := os.Stat(filepath.Join(out.Dir, f)); err != nil {
			t.Errorf("run dir lacks %s: %v", f, err)
		}
	}
	if _, err := os.Stat(filepath.Join(out.Dir, LinearHTML)); err == nil {
		t.Errorf("a valid run has %s", LinearHTML)
	}
	latest, err := filepath.EvalSymlinks(filepath.Join(filepath.Dir(filepath.Dir(out.Dir)), "latest"))
	if err != nil || latest != mustEval(t, out.Dir) {
		t.Errorf("latest -> %s (%v), want %s", latest, err, out.Dir)
	}
	r, err := ReadResults(out.Dir)
	if err != nil || r.Valid != model.Valid || r.Seed != 7 || len(r.Linearizability.Keys) == 0 || r.Invariants.Checked == nil {
		t.Fatalf("results.json: %+v, %v", r, err)
	}
	repro, _ := os.ReadFile(filepath.Join(out.Dir, ReproFile))
	if !strings.Contains(string(repro), "--seed 7") {
		t.Errorf("repro %q lacks the seed", repro)
	}
}

func mustEval(t *testing.T, p string) string {
	r, err := filepath.EvalSymlinks(p)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestRunDeterminism: the same seed gives a byte-identical history.
func TestRunDeterminism(t *testing.T) {
	a := RunTest(t, shortTest(t, 11))
	b := RunTest(t, shortTest(t, 11))
	ha, _ := os.ReadFile(filepath.Join(a.Dir, HistoryFile))
	hb, _ := os.ReadFile(filepath.Join(b.Dir, HistoryFile))
	if len(ha) == 0 || !bytes.Equal(ha, hb) {
		t.Fatalf("seed 11 gave different histories (%d and %d bytes)", len(ha), len(hb))
	}
}

// The two canaries of the end-to-end chain must be caught.
func TestCanariesCaught(t *testing.T) {
	for _, bug := range []string{"local-reads", "ack-on-propose"} {
		t.Run(bug, func(t *testing.T) {
			out, err := Run(context.Background(), shortTest(t, 7, bug))
			if err != nil {
				t.Fatal(err)
			}
			r := out.Results
			if r.Valid != model.Invalid {
				t.Fatalf("--bug %s: verdict %s, want invalid\n%s", bug, r.Valid, Summary(r, &out.Test, false))
			}
			if r.Linearizability.Explanation == "" {
				t.Errorf("no explanation")
			}
			if _, err := os.Stat(filepath.Join(out.Dir, LinearHTML)); err != nil {
				t.Errorf("invalid run without %s: %v", LinearHTML, err)
			}
		})
	}
}

// TestCheckReproducesVerdict: check on a run dir gives the stored verdict.
func TestCheckReproducesVerdict(t *testing.T) {
	for _, bug := range []string{"", "local-reads"} {
		tt := shortTest(t, 7)
		if bug != "" {
			tt.Bugs = []string{bug}
		}
		out, err := Run(context.Background(), tt)
		if err != nil {
			t.Fatal(err)
		}
		chk, err := Check(context.Background(), out.Dir, CheckOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if chk.Results.Valid != out.Results.Valid {
			t.Errorf("bug %q: check says %s, run said %s", bug, chk.Results.Valid, out.Results.Valid)
		}
		if _, err := os.Stat(filepath.Join(out.Dir, CheckFile)); err != nil {
			t.Errorf("no %s: %v", CheckFile, err)
		}
	}
}

func TestCheckMalformedHistory(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "h.jsonl")
	os.WriteFile(p, []byte(`{"index":0,"time":1,"type":"invoke","process":0,"f":"write","key":"k","value":"1"}
{"index":1,"time":2,"type":"ok","process":0,"f":"write","key":"k","value":"1"
{"index":2,"time":3,"type":"invoke","process":0,"f":"read","key":"k","value":null}
`), 0o644)
	_, err := Check(context.Background(), p, CheckOptions{Results: dir})
	var pe *history.ParseError
	if !errors.As(err, &pe) || pe.Line != 2 || !strings.Contains(err.Error(), "h.jsonl:2:") {
		t.Fatalf("got %v, want a parse error at h.jsonl:2", err)
	}
}

func TestCheckTornFinalLine(t *testing.T) {
	out := RunTest(t, shortTest(t, 3))
	h := filepath.Join(out.Dir, HistoryFile)
	b, _ := os.ReadFile(h)
	torn := filepath.Join(t.TempDir(), "torn.jsonl")
	os.WriteFile(torn, append(b, []byte(`{"index":99999,"ti`)...), 0o644)
	chk, err := Check(context.Background(), torn, CheckOptions{Results: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if chk.Results.TornLine == 0 || !strings.Contains(chk.Results.Error, "torn") {
		t.Fatalf("torn line not reported: %+v", chk.Results.Error)
	}
}

func TestValidateUsage(t *testing.T) {
	for _, tt := range []Test{
		{Nodes: -1}, {Mode: "cloud"}, {Nemesis: []string{"meteor"}}, {Bugs: []string{"nope"}}, {Name: "../x"},
	} {
		tt.Results = t.TempDir()
		if _, err := Run(context.Background(), tt); !errors.Is(err, ErrUsage) {
			t.Errorf("%+v: got %v, want ErrUsage", tt, err)
		}
	}
}

// TestSystemChoice: a system other than the reference node runs in the
// process world by default and never in the sim; names and files that
// cannot be a system, and reads a system does not offer, are usage errors
// before anything starts; the repro names the system.
func TestSystemChoice(t *testing.T) {
	tt := Test{System: "etcd"}
	tt.Defaults()
	if tt.Mode != "process" {
		t.Fatalf("etcd defaults to mode %q, want process", tt.Mode)
	}
	if r := tt.ReproCommand(""); !strings.Contains(r, "--system etcd") || strings.Contains(r, "--mode") {
		t.Fatalf("repro %q", r)
	}
	tt = Test{System: "etcd@debian", ReadConsistency: "serializable"}
	tt.Defaults()
	if r := tt.ReproCommand(""); !strings.Contains(r, "--read-consistency serializable") {
		t.Fatalf("repro %q", r)
	}
	for _, c := range []Test{
		{System: "etcd", Mode: "sim"},
		{ReadConsistency: "serializable"},
		{ReadConsistency: "eventual", System: "etcd"},
		{System: "nosuchsystem", Mode: "process"},
		{System: "etcd@v3.4.0"},
		{System: "etcd@3.5.0"},
		{System: filepath.Join(t.TempDir(), "missing.toml")},
		{System: "etcd@/no/such/etcd"},
	} {
		c.Results = t.TempDir()
		if _, err := Run(context.Background(), c); !errors.Is(err, ErrUsage) {
			t.Errorf("%+v: %v, want a usage error", c, err)
		}
	}
	bad := filepath.Join(t.TempDir(), "bad.toml")
	os.WriteFile(bad, []byte("start = [\"x\"]\nbogus = 1\n"), 0o644)
	_, err := Run(context.Background(), Test{System: bad, Results: t.TempDir()})
	if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), bad+":2: unknown key") {
		t.Fatalf("bad system file: %v", err)
	}
}
