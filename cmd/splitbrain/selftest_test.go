package main

import "testing"

// TestSelftestFlags: budgets are seeds and runs (no wall-clock --budget);
// the defaults mode takes no per-run parameter; its own flags need it.
func TestSelftestFlags(t *testing.T) {
	for _, args := range [][]string{
		{"selftest", "--budget", "10s"},
		{"selftest", "--shrink-budget", "20s"},
		{"selftest", "--seeds", "-1"},
		{"selftest", "--shrink-runs", "-1"},
		{"selftest", "--canary", "nope"},
		{"selftest", "--defaults", "--time", "5s"},
		{"selftest", "--defaults", "--clean-seeds", "3"},
		{"selftest", "--defaults", "--shrink-runs", "3"},
		{"selftest", "--defaults", "--workers", "-1"},
		{"selftest", "--workers", "2"},
		{"selftest", "--goal"},
	} {
		if got := run(args); got != 2 {
			t.Errorf("splitbrain %v: exit %d, want 2", args, got)
		}
	}
}
