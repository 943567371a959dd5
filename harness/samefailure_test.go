package harness

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// recordingTB is a rapid.TB that records instead of failing the test, so a
// test can watch rapid fail a property and shrink it. FailNow ends the
// goroutine that rapid.Check runs in, as testing.T's does.
type recordingTB struct {
	failed bool
	log    strings.Builder
}

func (tb *recordingTB) Helper()                    {}
func (tb *recordingTB) Name() string               { return "recorded" }
func (tb *recordingTB) Logf(f string, args ...any) { fmt.Fprintf(&tb.log, f+"\n", args...) }
func (tb *recordingTB) Log(args ...any)            { fmt.Fprintln(&tb.log, args...) }
func (tb *recordingTB) Skipf(f string, args ...any) {
	tb.Logf(f, args...)
	runtime.Goexit()
}
func (tb *recordingTB) Skip(args ...any)             { tb.Log(args...); runtime.Goexit() }
func (tb *recordingTB) SkipNow()                     { runtime.Goexit() }
func (tb *recordingTB) Errorf(f string, args ...any) { tb.failed = true; tb.Logf(f, args...) }
func (tb *recordingTB) Error(args ...any)            { tb.failed = true; tb.Log(args...) }
func (tb *recordingTB) Fatalf(f string, args ...any) { tb.Errorf(f, args...); runtime.Goexit() }
func (tb *recordingTB) Fatal(args ...any)            { tb.Error(args...); runtime.Goexit() }
func (tb *recordingTB) FailNow()                     { tb.failed = true; runtime.Goexit() }
func (tb *recordingTB) Fail()                        { tb.failed = true }
func (tb *recordingTB) Failed() bool                 { return tb.failed }
func (tb *recordingTB) check(prop func(*rapid.T)) bool {
	done := make(chan struct{})
	go func() {
		defer close(done)
		rapid.Check(tb, prop)
	}()
	<-done
	return tb.failed
}

// TestShrinkKeepsTheFailure is selftest's TestShrinkRejectsADifferentFailure
// for rapid: the kill of the leader is what makes the run lose a write;
// without it a schedule still fails, but by liveness (another bug). The
// property finds a lost write first; rapid's shrinker, which keeps any
// smaller case that fails from the same call site, then drifts to the
// liveness failure when every failure is reported by one t.Fatalf (as the
// property did), and keeps the kill and the lost write with sameFailure.
func TestShrinkKeepsTheFailure(t *testing.T) {
	const lostWrite = "linearizability/lost-write"
	lines := []string{"1s partition halves", "2s heal", "3s kill leader", "4s restart all", "5s pause one", "6s resume all"}
	judge := func(s []string) string {
		switch {
		case slices.Contains(s, "3s kill leader"):
			return lostWrite
		case len(s) > 0:
			return "liveness"
		}
		return ""
	}
	// shrink runs a property whose schedules fail as judge says and reports
	// through fail, once it has found a lost write, and returns the
	// schedule of the last case that failed (fail records it in last):
	// rapid's shrunk one.
	var last []string
	shrink := func(fail func(rt *rapid.T, s []string, sig string)) []string {
		var found bool
		last = nil
		tb := &recordingTB{}
		failed := tb.check(func(rt *rapid.T) {
			s := rapid.SliceOfN(rapid.SampledFrom(lines), 1, 12).Draw(rt, "schedule")
			sig := judge(s)
			if !found && sig != lostWrite {
				return // look for a lost write first
			}
			found = true
			fail(rt, s, sig)
		})
		if !failed || last == nil {
			t.Fatalf("rapid found no failure:\n%s", tb.log.String())
		}
		return last
	}

	oneFatal := shrink(func(rt *rapid.T, s []string, sig string) {
		if sig != "" {
			last = s
			rt.Fatalf("fails as %s", sig)
		}
	})
	if judge(oneFatal) == lostWrite {
		t.Errorf("with one t.Fatalf for every failure, rapid shrank to %q, still a lost write: the drift this test guards against is gone", oneFatal)
	}

	t.Logf("one t.Fatalf: shrunk to %q, failing as %s", oneFatal, judge(oneFatal))

	var f sameFailure
	kept := shrink(func(rt *rapid.T, s []string, sig string) {
		if sig != "" && (f.want == "" || sig == f.want) {
			last = s // f fails it
		}
		f.check(rt, sig, "schedule fails")
	})
	if judge(kept) != lostWrite || f.want != lostWrite {
		t.Fatalf("with sameFailure rapid shrank to %q (%s), want a lost write", kept, judge(kept))
	}
	t.Logf("sameFailure: shrunk to %q, failing as %s", kept, judge(kept))
	if len(kept) != 1 {
		t.Errorf("shrunk to %q, want the kill alone", kept)
	}
}
