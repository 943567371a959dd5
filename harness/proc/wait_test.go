package proc

import (
	"testing"
	"time"
)

// No test of this package passes or fails with the machine's speed. A
// wait for something that happens on any machine unless the code is
// broken (a leader, an operation that succeeds, a process that exits
// after SIGKILL, traffic on loopback) has no wall-clock bound of its own:
// waitFor polls until it holds, and on a machine too loaded to get there
// it only takes longer. If the code is broken and it never holds, go
// test's -timeout ends the test binary and reports the hang with the
// stack of the waiting test. What a test asserts must not happen (a
// message through a cut link, a read served by a minority, a paused node
// answering) is checked without timers deciding it: a timeout there can
// only make the check weaker, never make it fail.

// waitFor polls cond until it holds, noting in the test log every 30 s
// of waiting what it still waits for.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	start, note := time.Now(), 30*time.Second
	for !cond() {
		if waited := time.Since(start); waited >= note {
			t.Logf("still waiting for %s after %v", what, waited.Round(time.Second))
			note += 30 * time.Second
		}
		time.Sleep(20 * time.Millisecond)
	}
}
