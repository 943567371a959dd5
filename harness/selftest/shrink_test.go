package selftest

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/splitbrain/splitbrain/harness"
	"github.com/splitbrain/splitbrain/harness/world"
	"github.com/splitbrain/splitbrain/model"
	"github.com/splitbrain/splitbrain/nemesis"
)

func parseSchedule(t *testing.T, text string) nemesis.Schedule {
	t.Helper()
	s, err := nemesis.Parse(strings.NewReader(text), "test")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func has(s nemesis.Schedule, line string) bool {
	return slices.ContainsFunc(strings.Split(strings.TrimSpace(s.String()), "\n"), func(l string) bool { return l == line })
}

// TestShrinkRejectsADifferentFailure: the kill of the leader is what makes
// the run lose a write; without it the run still fails, but by liveness (a
// different bug). The shrinker must keep the kill, and keep the failure.
func TestShrinkRejectsADifferentFailure(t *testing.T) {
	s := parseSchedule(t, "1s partition halves\n2s heal\n3s kill leader\n4s restart all\n5s pause one\n6s resume all\n")
	runs := 0
	judge := func(c nemesis.Schedule) (string, error) {
		runs++
		switch {
		case has(c, "3.0s kill leader"):
			return "linearizability/lost-write", nil
		case len(c.Events) > 0:
			return "liveness", nil
		}
		return "", nil
	}
	got, n, err := shrink(s, "linearizability/lost-write", 100, judge, func() bool { return false })
	if err != nil {
		t.Fatal(err)
	}
	if got.String() != "3.0s kill leader\n" {
		t.Fatalf("shrunk to %q, want the kill alone", got.String())
	}
	if sig, _ := judge(got); sig != "linearizability/lost-write" {
		t.Fatalf("the shrunk schedule fails as %q", sig)
	}
	if n != runs-1 || n == 0 {
		t.Fatalf("reported %d runs, made %d", n, runs-1)
	}
}

// TestShrinkBudgetIsRuns: shrinking stops after the runs it may spend, and
// an error of a run stops it with the smallest schedule so far.
func TestShrinkBudgetIsRuns(t *testing.T) {
	s := parseSchedule(t, "1s kill one\n2s restart all\n3s kill one\n4s restart all\n5s kill one\n6s restart all\n")
	runs := 0
	always := func(c nemesis.Schedule) (string, error) { runs++; return "liveness", nil }
	if _, n, _ := shrink(s, "liveness", 1, always, func() bool { return false }); n != 1 || runs != 1 {
		t.Fatalf("a budget of 1 run spent %d (reported %d)", runs, n)
	}
	boom := errors.New("boom")
	got, _, err := shrink(s, "liveness", 100, func(nemesis.Schedule) (string, error) { return "", boom }, func() bool { return false })
	if !errors.Is(err, boom) || got.String() != s.String() {
		t.Fatalf("error %v, schedule %q", err, got.String())
	}
	if _, n, _ := shrink(s, "liveness", 100, always, func() bool { return true }); n != 0 {
		t.Fatalf("a stopped shrink ran %d runs", n)
	}
}

// TestSignature: the first failure names the check and the anomaly, in
// campaign's order; a run that did not fail has none.
func TestSignature(t *testing.T) {
	lin := model.Linearizability{Valid: model.Invalid, Anomaly: model.AnomalyStaleRead, AnomalyTime: int64(7 * time.Second)}
	inv := harness.Invariants{Valid: model.Invalid, Violation: &world.InvariantError{Invariant: "election-safety", Time: 3 * time.Second}}
	dead := model.Liveness{Valid: model.Invalid}
	for _, tc := range []struct {
		res      harness.Results
		sig, how string
		at       time.Duration
	}{
		{harness.Results{Valid: model.Valid, TestSeconds: 20}, "", "", 0},
		{harness.Results{Valid: model.Unknown, Liveness: model.Liveness{Valid: model.Unknown}, TestSeconds: 20}, "", "", 0},
		{harness.Results{Valid: model.Invalid, Linearizability: lin, TestSeconds: 20}, "linearizability/stale-read", "linearizability/stale-read", 7 * time.Second},
		{harness.Results{Valid: model.Invalid, Invariants: inv, TestSeconds: 3}, "invariant/election-safety", "invariant/election-safety", 3 * time.Second},
		{harness.Results{Valid: model.Invalid, Linearizability: lin, Invariants: inv, TestSeconds: 3}, "linearizability/stale-read", "linearizability/stale-read, invariant/election-safety", 3 * time.Second},
		{harness.Results{Valid: model.Invalid, Liveness: dead, TestSeconds: 20.5}, "liveness", "liveness", 20500 * time.Millisecond},
	} {
		if sig, h, at := Signature(&tc.res), how(&tc.res), DetectionTime(&tc.res); sig != tc.sig || h != tc.how || at != tc.at {
			t.Errorf("%+v: signature %q, how %q, detected at %v; want %q, %q, %v", tc.res, sig, h, at, tc.sig, tc.how, tc.at)
		}
	}
}
