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

// TestShrinkKeepsTheFailure: the kill of the leader is what makes the run
// lose a write; without it the run still fails, but by liveness (a
// different bug). Shrink keeps the kill, and the failure.
func TestShrinkKeepsTheFailure(t *testing.T) {
	s := shrinkSchedule(t, "1s partition halves\n2s heal\n3s kill leader\n4s restart all\n5s pause one\n6s resume all\n")
	judge := func(c Schedule) (string, error) {
		switch {
		case hasLine(c, "3.0s kill leader"):
			return "linearizability/lost-write", nil
		case len(c.Events) > 0:
			return "liveness", nil
		}
		return "", nil
	}
	got, runs, err := Shrink(s, "linearizability/lost-write", 100, judge, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.String() != "3.0s kill leader\n" {
		t.Fatalf("shrunk to %q, want the kill alone", got.String())
	}
	if runs == 0 || runs > 100 {
		t.Fatalf("%d runs", runs)
	}
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

// TestShrinkBudget: Shrink never runs more than maxRuns candidates, stops
// when told, and returns a schedule that still fails.
func TestShrinkBudget(t *testing.T) {
	s := shrinkSchedule(t, "1s partition halves\n2s heal\n3s kill leader\n4s restart all\n5s pause one\n6s resume all\n")
	runs := 0
	judge := func(c Schedule) (string, error) {
		runs++
		if hasLine(c, "6.0s resume all") {
			return "liveness", nil
		}
		return "", nil
	}
	got, n, err := Shrink(s, "liveness", 2, judge, nil)
	if err != nil || n != 2 || runs != 2 || !hasLine(got, "6.0s resume all") {
		t.Fatalf("budget 2: %d runs (%d judged), %q, %v", n, runs, got.String(), err)
	}
	stops := 0
	got, n, err = Shrink(s, "liveness", 100, judge, func() bool { stops++; return stops > 3 })
	if err != nil || n > 3 || !hasLine(got, "6.0s resume all") {
		t.Fatalf("stop after 3: %d runs, %q, %v", n, got.String(), err)
	}
	boom := errors.New("boom")
	if _, _, err := Shrink(s, "liveness", 100, func(Schedule) (string, error) { return "", boom }, nil); !errors.Is(err, boom) {
		t.Fatalf("judge error: %v", err)
	}
}
