package nemesis

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/splitbrain/splitbrain/harness/history"
	"github.com/splitbrain/splitbrain/harness/world"
	"github.com/splitbrain/splitbrain/model"
)

// firedAt returns the time each recorded nemesis event whose value starts
// with prefix (after its action) was recorded, in order.
func (st *simTest) firedAt(f, prefix string) []time.Duration {
	var out []time.Duration
	for _, e := range st.rec.Events() {
		if e.F == f && e.Value != nil && strings.HasPrefix(*e.Value, prefix) {
			out = append(out, time.Duration(e.Time))
		}
	}
	return out
}

// TestBlockedOpsDoNotShiftLaterEvents: ops that block — a membership
// change that takes long (here an add-node that takes 5s, as one waiting
// out a timeout does), a leader target while there is no leader — do not
// delay the events after them: every later event is recorded at its
// scheduled time. Before, each blocked op pushed the whole rest of the
// timeline back (a remove-node of a node that cannot restart by about 9s).
func TestBlockedOpsDoNotShiftLaterEvents(t *testing.T) {
	st := newSimTest(t, 21)
	st.w.addDelay = 5 * time.Second
	st.run(func() {
		// Times count from the start of the sim (run waits 3s first).
		s, err := ParseString(`4.0s kill majority
4.1s add-node
4.2s remove-node one
4.3s kill leader
5.0s pause one
6.0s resume all
7.0s partition halves
8.0s heal
8.0s restart all
`, "blocked.txt")
		if err != nil {
			t.Fatal(err)
		}
		if err := Execute(st.w, s, st.rec); err != nil {
			t.Fatal(err)
		}
		HealAll(st.w, st.rec)
	})
	for _, tc := range []struct {
		f, prefix string
		at        time.Duration
	}{
		{history.FaultPause, "n", 5 * time.Second},
		{history.FaultResume, "n", 6 * time.Second},
		{history.FaultPartition, "halves", 7 * time.Second},
		{history.FaultHeal, "heal", 8 * time.Second},
	} {
		got := st.firedAt(tc.f, tc.prefix)
		if len(got) == 0 || got[0] != tc.at {
			t.Errorf("%s %s fired at %v, want exactly %v; history:\n%s", tc.f, tc.prefix, got, tc.at, strings.Join(st.events(0), "\n"))
		}
	}
	// The kill of the leader found none (a majority was down) and gave up
	// when the pause was due, not 3s later.
	var killNote bool
	for _, e := range st.rec.Events() {
		if e.F == history.FaultNote && *e.Value == "kill leader" {
			killNote = true
			if e.Time > int64(5*time.Second) {
				t.Errorf("the kill of the leader gave up at %v, after the next event was due (5s)", time.Duration(e.Time))
			}
		}
	}
	if !killNote {
		t.Errorf("no note for the kill of a leader that did not exist:\n%s", strings.Join(st.events(0), "\n"))
	}
	// The add-node ran in the background, and was recorded when it ended;
	// the remove-node queued behind it was given up, with a note.
	var added, givenUp bool
	for _, e := range st.rec.Events() {
		switch {
		case e.F == history.FaultAddNode && e.Time >= int64(9100*time.Millisecond):
			added = true
		case e.F == history.FaultNote && *e.Value == "remove-node one" && strings.Contains(e.Error, "given up"):
			givenUp = true
		}
	}
	if !added || !givenUp {
		t.Errorf("want the add-node recorded when it ended (after 9.1s) and the remove-node given up; history:\n%s", strings.Join(st.events(0), "\n"))
	}
	st.checkWindowsClosed()
}

// TestLeaderTargetWaitsUntilTheNextEvent: an op aimed at the leader waits
// for an election, but no longer than until the next event is due.
func TestLeaderTargetWaitsUntilTheNextEvent(t *testing.T) {
	st := newSimTest(t, 22)
	st.run(func() {
		// Every message lost: the leader steps down and none is elected
		// until the heal at 8s. The partition waits for a leader from 5s
		// and gives up at 6s, when the kill is due.
		s, err := ParseString(`3.0s packet loss=1
5.0s partition isolate-leader
6.0s kill one
8.0s heal
8.0s restart all
`, "leaderwait.txt")
		if err != nil {
			t.Fatal(err)
		}
		if err := Execute(st.w, s, st.rec); err != nil {
			t.Fatal(err)
		}
	})
	var note time.Duration = -1
	for _, e := range st.rec.Events() {
		if e.F == history.FaultNote && strings.HasPrefix(*e.Value, "partition isolate-leader") {
			note = time.Duration(e.Time)
		}
	}
	if note != 6*time.Second {
		t.Errorf("the partition gave up at %v, want 6s (when the next event was due); history:\n%s", note, strings.Join(st.events(0), "\n"))
	}
	if got := st.firedAt(history.FaultKill, "n"); len(got) != 1 || got[0] != 6*time.Second {
		t.Errorf("the kill fired at %v, want 6s", got)
	}
	st.checkWindowsClosed()
}

// TestGeneratedRunsKeepTheClusterUpAndOnTime executes default-shaped
// generated schedules (60s, final heal at 47s, every family) on the sim
// with a writer: some node is up at all times but for power failures
// (at most 1.5s), the final heal-all fires at its time whatever blocked
// before it, and every fault window closes.
func TestGeneratedRunsKeepTheClusterUpAndOnTime(t *testing.T) {
	const finalHeal = 47 * time.Second
	for seed := uint64(1); seed <= 5; seed++ {
		s := Generate(seed, GenOptions{Duration: 60 * time.Second, FinalHeal: finalHeal})
		st := newSimTest(t, seed)
		err := st.w.Run(func() { st.executeWithWriter(s, 0) })
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		events := st.rec.Events()
		if d := model.NoNodeUp(events, 5); d.Longest > int64(1500*time.Millisecond) {
			t.Errorf("seed %d: no node up for %v (from %v)\n%s", seed, time.Duration(d.Longest), time.Duration(d.LongestStart), s)
		}
		var healAll time.Duration = -1
		for _, e := range events {
			if e.F == history.FaultHeal && *e.Value == "heal-all" && healAll < 0 {
				healAll = time.Duration(e.Time)
			}
		}
		if healAll != finalHeal {
			t.Errorf("seed %d: the final heal-all fired at %v, want %v", seed, healAll, finalHeal)
		}
		st.checkWindowsClosed()
	}
}

// TestGivenUpReplacementIsRetried: a replacement of a wiped node that the
// lane gives up (a slow membership change held it back) leaves the node a
// crashed member, so that the next restart — here the final heal-all —
// replaces it and closes its window. (It stayed marked as under
// replacement, and its window never closed: "never healed", unknown.)
func TestGivenUpReplacementIsRetried(t *testing.T) {
	st := newSimTest(t, 23)
	st.w.addDelay = 5 * time.Second
	st.run(func() {
		s, err := ParseString(`4.0s add-node
4.1s wipe n2
4.5s restart all
12.0s heal-all
`, "retry.txt")
		if err != nil {
			t.Fatal(err)
		}
		if err := Execute(st.w, s, st.rec); err != nil {
			t.Fatal(err)
		}
	})
	var givenUp, replaced bool
	for _, e := range st.rec.Events() {
		givenUp = givenUp || e.F == history.FaultNote && *e.Value == "restart n2" && strings.Contains(e.Error, "given up")
		replaced = replaced || e.F == history.FaultRestart && strings.HasPrefix(*e.Value, "n2 replaced by")
	}
	if !givenUp || !replaced {
		t.Errorf("want the replacement given up, then n2 replaced at the heal-all; history:\n%s", strings.Join(st.events(0), "\n"))
	}
	st.checkWindowsClosed()
}

// refusing is a sim world that refuses to remove nodes, as a cluster that
// lost its quorum does.
type refusing struct{ *spy }

func (r refusing) RemoveNode(id world.NodeID) error {
	return fmt.Errorf("refused: no quorum to remove %s", id)
}

// TestFinalHealClosesWhatItCannotRestore: a wiped node that the final
// heal-all cannot replace (the removal fails) is recorded as restarted
// with the error, so its window closes and the run is judged, rather than
// left with a fault "never healed" (an unknown verdict).
func TestFinalHealClosesWhatItCannotRestore(t *testing.T) {
	st := newSimTest(t, 24)
	st.run(func() {
		w := refusing{st.w}
		if err := Apply(w, Op{Kind: Wipe, Target: Nodes(2)}, st.rec); err != nil {
			t.Fatal(err)
		}
		st.w.Sleep(time.Second)
		HealAll(w, st.rec)
	})
	var closed bool
	for _, e := range st.rec.Events() {
		closed = closed || e.F == history.FaultRestart && strings.HasPrefix(*e.Value, "n2 (given up") && strings.Contains(e.Error, "refused")
	}
	if !closed {
		t.Errorf("no restart of n2 recorded with the error; history:\n%s", strings.Join(st.events(0), "\n"))
	}
	st.checkWindowsClosed()
}

// TestSameTimeEventsWaitAsOne: events at the same time are one step. The
// first to need a leader waits for the election for all of them, so that
// "skew leader" and "partition isolate-leader" at the same instant act on
// the same node even when no leader is known at that instant (the skew
// used to be a note — no leader — while the partition, allowed to wait,
// cut off the leader elected meanwhile).
func TestSameTimeEventsWaitAsOne(t *testing.T) {
	st := newSimTest(t, 2)
	s, err := ParseString("0.2s skew leader 0.1\n0.2s partition isolate-leader\n6.0s heal\n6.0s clock-reset all\n", "same.txt")
	if err != nil {
		t.Fatal(err)
	}
	err = st.w.Run(func() {
		if _, ok := st.w.Leader(); ok {
			t.Fatal("a leader before 0.2s: the test shows nothing")
		}
		if err := Execute(st.w, s, st.rec); err != nil {
			t.Fatal(err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	var skewed, isolated string
	for _, e := range st.rec.Events() {
		switch e.F {
		case history.FaultNote:
			t.Errorf("note: %s %s", *e.Value, e.Error)
		case history.FaultClock:
			skewed = *e.Value
		case history.FaultPartition:
			isolated = *e.Value
		}
	}
	if skewed == "" || !strings.HasPrefix(isolated, "isolate-leader ["+strings.Fields(skewed)[0]+"]") {
		t.Fatalf("skewed %q, isolated %q: want the same leader", skewed, isolated)
	}
}
