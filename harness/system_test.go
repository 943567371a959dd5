package harness

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/splitbrain/splitbrain/harness/raftkv"
	"github.com/splitbrain/splitbrain/harness/raftnode"
)

// TestSystemImplValidation: a node of one's own is a raftnode.System that
// runs in the sim; canaries belong to the reference node; other values
// and names are usage errors that say what is wanted.
func TestSystemImplValidation(t *testing.T) {
	sys := raftkv.System(nil)
	sys.Name = "mine"
	for _, c := range []struct {
		name string
		test Test
		want string // "" valid
	}{
		{"a raftnode.System", Test{SystemImpl: sys}, ""},
		{"named by it", Test{SystemImpl: sys, System: "mine-v2"}, ""},
		{"with canaries", Test{SystemImpl: sys, Bugs: []string{"local-reads"}}, "canaries belong to the reference node"},
		{"another type", Test{SystemImpl: "raftkv"}, "want a raftnode.System"},
		{"a pointer", Test{SystemImpl: &sys}, "want a raftnode.System"},
		{"no factory", Test{SystemImpl: raftnode.System{Name: "x"}}, "no New"},
		{"a process-world system in the sim", Test{System: "etcd", Mode: "sim"}, `system "etcd" runs in the process world only`},
		{"the reference node by name", Test{System: "raftkv"}, ""},
	} {
		tt := c.test
		tt.Defaults()
		err := tt.Validate()
		if c.want == "" {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Validate = %v, want a usage error saying %q", c.name, err, c.want)
		}
	}
	tt := Test{SystemImpl: sys}
	tt.Defaults()
	if tt.System != "mine" {
		t.Errorf("System defaults to %q, want the SystemImpl's name", tt.System)
	}
}

// TestSystemImplRuns: a raftnode.System runs in the sim, is named in the
// results and the summary, and the reference node under another name is
// checked in full (its Reports promise everything).
func TestSystemImplRuns(t *testing.T) {
	sys := raftkv.System(nil)
	sys.Name = "mine"
	out := RunTest(t, Test{Seed: 3, Duration: Duration(20 * time.Second), LivenessBound: Duration(5 * time.Second),
		SystemImpl: sys, Results: t.TempDir(), Quick: true})
	r := out.Results
	if r.System != "mine" || len(r.Invariants.Limits) != 0 || r.Invariants.Checked["state-machine-safety"] == 0 {
		t.Errorf("results: system %q, limits %v, checked %v", r.System, r.Invariants.Limits, r.Invariants.Checked)
	}
	if s := Summary(r, &out.Test, false); !strings.Contains(s, "ran:      register against mine in the sim world") {
		t.Errorf("the summary does not name the system:\n%s", s)
	}
	if !strings.HasPrefix(r.Repro, EnvSeed+"=3 go -C ") || !strings.Contains(r.Repro, "-run '^TestSystemImplRuns$'") {
		t.Errorf("repro %q: want the go test command of this test", r.Repro)
	}
}

// TestSystemImplLimits: a system that reports less is checked for less,
// and the results and the summary say which invariants and why.
func TestSystemImplLimits(t *testing.T) {
	sys := raftkv.System(nil)
	sys.Name, sys.Reports = "hashless", raftnode.Reports{Applied: true}
	out := RunTest(t, Test{Seed: 3, Duration: Duration(20 * time.Second), LivenessBound: Duration(5 * time.Second),
		SystemImpl: sys, Results: t.TempDir(), Quick: true})
	r := out.Results
	if l := r.Invariants.Limits["state-machine-safety"]; !strings.HasPrefix(l, "entries only") {
		t.Errorf("limits %v: want state-machine-safety entries only", r.Invariants.Limits)
	}
	if s := Summary(r, &out.Test, false); !strings.Contains(s, "limits:   state-machine-safety entries only") {
		t.Errorf("the summary does not say what was not checked:\n%s", s)
	}
}

// failures records RunTest's failure instead of failing the test.
type failures struct {
	testing.TB
	msgs []string
}

func (f *failures) Helper() {}

func (f *failures) Fatalf(format string, args ...any) {
	f.msgs = append(f.msgs, fmt.Sprintf(format, args...))
}

// TestRunTestShrinksTheReferenceNode: a failing run of the reference node
// (the local-reads canary) is shrunk, and the repro is the splitbrain run
// command with the shrunk schedule and the canary.
func TestRunTestShrinksTheReferenceNode(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: shrinking runs whole tests")
	}
	t.Setenv(EnvShrinkRuns, "10")
	f := &failures{TB: t}
	out := RunTest(f, Test{Seed: 3, Duration: Duration(20 * time.Second), LivenessBound: Duration(5 * time.Second),
		Bugs: []string{"local-reads"}, Results: t.TempDir()})
	if len(f.msgs) != 1 {
		t.Fatalf("%d failures: %q", len(f.msgs), f.msgs)
	}
	msg := f.msgs[0]
	// Local reads are stale ones, or make a write look lost: either
	// anomaly (which comes first depends on the workload's defaults).
	sig := out.Results.Signature()
	if sig != "linearizability/stale-read" && sig != "linearizability/lost-write" {
		t.Errorf("the run RunTest returns failed with %q", sig)
	}
	for _, want := range []string{"verdict INVALID", "failed:   " + sig, "failing the same way (" + sig + ")", "schedule:\n",
		"repro:    splitbrain run --seed 3 --time 20s --liveness-bound 5s --schedule " + filepath.Join(out.Dir, ScheduleFile), "--bug local-reads"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the failure lacks %q:\n%s", want, msg)
		}
	}
}

// TestRunTestEnvironment: $SPLITBRAIN_SEED and $SPLITBRAIN_SCHEDULE
// replace the test's seed and schedule; bad values fail the test with
// what is wrong, before anything runs.
func TestRunTestEnvironment(t *testing.T) {
	sched := filepath.Join(t.TempDir(), "s.txt")
	os.WriteFile(sched, []byte("1s kill one\n2s restart all\n"), 0o644)
	t.Setenv(EnvSeed, "5")
	t.Setenv(EnvSchedule, sched)
	out := RunTest(t, Test{Seed: 1, Duration: Duration(10 * time.Second), LivenessBound: Duration(5 * time.Second), Results: t.TempDir(), Quick: true})
	if out.Test.Seed != 5 || out.Test.ScheduleFile != sched || len(out.Test.Schedule.Events) != 2 {
		t.Errorf("ran seed %d, schedule %s %v", out.Test.Seed, out.Test.ScheduleFile, out.Test.Schedule)
	}
	for _, c := range []struct{ seed, sched, want string }{
		{"x", "", "$SPLITBRAIN_SEED=\"x\""},
		{"0", "", "want a positive integer"},
		{"", filepath.Join(t.TempDir(), "missing.txt"), "$SPLITBRAIN_SCHEDULE: open"},
	} {
		bad := filepath.Join(t.TempDir(), "bad.txt")
		os.WriteFile(bad, []byte("1s explode\n"), 0o644)
		t.Setenv(EnvSeed, c.seed)
		t.Setenv(EnvSchedule, c.sched)
		f := &failures{TB: t}
		if RunTest(f, Test{Results: t.TempDir()}) != nil || len(f.msgs) != 1 || !strings.Contains(f.msgs[0], c.want) {
			t.Errorf("seed %q schedule %q: %q, want %q", c.seed, c.sched, f.msgs, c.want)
		}
	}
	bad := filepath.Join(t.TempDir(), "bad.txt")
	os.WriteFile(bad, []byte("1s explode\n"), 0o644)
	t.Setenv(EnvSeed, "")
	t.Setenv(EnvSchedule, bad)
	f := &failures{TB: t}
	if RunTest(f, Test{Results: t.TempDir()}) != nil || len(f.msgs) != 1 || !strings.Contains(f.msgs[0], bad+":1") {
		t.Errorf("a bad schedule file: %q, want its file:line", f.msgs)
	}
}
