package nemesis

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func shrinkSchedule(t *testing.T, text string) Schedule {
	t.Helper()
	s, err := Parse(strings.NewReader(text), "test")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func hasLine(s Schedule, line string) bool {
	return slices.Contains(strings.Split(strings.TrimSpace(s.String()), "\n"), line)
}

// TestShrinkNeedsBoth: a failure that needs two events keeps both, and
// only them.
func TestShrinkNeedsBoth(t *testing.T) {
	s := shrinkSchedule(t, "1s partition halves\n2s heal\n3s kill leader\n4s restart all\n5s pause one\n6s resume all\n7s kill one\n")
	judge := func(c Schedule) (string, error) {
		if hasLine(c, "1.0s partition halves") && hasLine(c, "5.0s pause one") {
			return "linearizability/stale-read", nil
		}
		return "", nil
	}
	got, _, err := Shrink(s, "linearizability/stale-read", 100, judge, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.String() != "1.0s partition halves\n5.0s pause one\n" {
		t.Fatalf("shrunk to %q", got.String())
	}
}

// TestShrinkRejectsADifferentFailure: the kill of the leader is what makes
// the run lose a write; without it the run still fails, but by liveness (a
// different bug). The shrinker must keep the kill, and keep the failure.
func TestShrinkRejectsADifferentFailure(t *testing.T) {
	s := shrinkSchedule(t, "1s partition halves\n2s heal\n3s kill leader\n4s restart all\n5s pause one\n6s resume all\n")
	runs := 0
	judge := func(c Schedule) (string, error) {
		runs++
		switch {
		case hasLine(c, "3.0s kill leader"):
			return "linearizability/lost-write", nil
		case len(c.Events) > 0:
			return "liveness", nil
		}
		return "", nil
	}
	got, n, err := Shrink(s, "linearizability/lost-write", 100, judge, func() bool { return false })
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
	s := shrinkSchedule(t, "1s kill one\n2s restart all\n3s kill one\n4s restart all\n5s kill one\n6s restart all\n")
	runs := 0
	always := func(c Schedule) (string, error) { runs++; return "liveness", nil }
	if _, n, _ := Shrink(s, "liveness", 1, always, func() bool { return false }); n != 1 || runs != 1 {
		t.Fatalf("a budget of 1 run spent %d (reported %d)", runs, n)
	}
	boom := errors.New("boom")
	got, _, err := Shrink(s, "liveness", 100, func(Schedule) (string, error) { return "", boom }, func() bool { return false })
	if !errors.Is(err, boom) || got.String() != s.String() {
		t.Fatalf("error %v, schedule %q", err, got.String())
	}
	if _, n, _ := Shrink(s, "liveness", 100, always, func() bool { return true }); n != 0 {
		t.Fatalf("a stopped shrink ran %d runs", n)
	}
}
