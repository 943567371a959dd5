package sim

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/splitbrain/splitbrain/harness/raftkv"
	"github.com/splitbrain/splitbrain/harness/raftnode"
	"github.com/splitbrain/splitbrain/harness/world"
)

// panicky is raftkv whose node 2 panics in Ready once it has applied
// index 20: a node that dies of its own assertion.
func panicky() raftnode.System {
	sys := raftkv.System(nil)
	return wrap(sys, sys.Reports, func(id uint64, out raftnode.Output) raftnode.Output {
		for _, a := range out.Applied {
			if id == 2 && a.Index >= 20 {
				panic(fmt.Sprintf("node %d: broken on purpose at index %d", id, a.Index))
			}
		}
		return out
	})
}

// TestNoPanicBlamesTheNode: a panic raised in a node's code ends the run
// with the no-panic violation naming that node (a verdict, not a run
// error); with the invariant skipped it is an error again, as any panic.
func TestNoPanicBlamesTheNode(t *testing.T) {
	for _, skip := range []bool{false, true} {
		cfg := Config{Seed: 1, Nodes: 3, System: panicky()}
		if skip {
			cfg.Skip = []string{NoPanic}
		}
		w, err := runWithWriter(t, cfg, func(w *World) {
			w.Sleep(5 * time.Second)
		})
		var iv *world.InvariantError
		switch {
		case err == nil:
			t.Fatalf("skip=%v: the run ended without error; node 2 should have panicked", skip)
		case !skip && (!errors.As(err, &iv) || iv.Invariant != NoPanic || !slices.Equal(iv.Nodes, []world.NodeID{2})):
			t.Fatalf("want the no-panic violation of n2, got %v", err)
		case !skip && !strings.Contains(iv.Detail, "broken on purpose"):
			t.Fatalf("the violation should carry the panic: %v", iv)
		case skip && errors.As(err, &iv):
			t.Fatalf("skipped no-panic: want a plain run error, got the violation %v", iv)
		}
		if !skip && w.Checks()[NoPanic] == 0 {
			t.Errorf("no-panic counts no checks: %v", w.Checks())
		}
	}
}

// TestNoPanicSparesTheHarness: a panic in the sim's own code (a task of
// the test, here) is the harness's error, never blamed on a node.
func TestNoPanicSparesTheHarness(t *testing.T) {
	w, err := New(Config{Seed: 1, Nodes: 3, System: raftkv.System(nil)})
	if err != nil {
		t.Fatal(err)
	}
	err = w.Run(func() {
		w.Sleep(2 * time.Second)
		w.Status(1) // a call into a node just before: its mark must not linger
		panic("the harness is broken")
	})
	var iv *world.InvariantError
	if err == nil || errors.As(err, &iv) || !strings.Contains(err.Error(), "the harness is broken") {
		t.Fatalf("want the harness's panic as a plain error, got %v", err)
	}
}

// churn adds a node and removes one, twice, under a writer, on a 5-node
// cluster of sys, and returns the run's error.
func churn(t *testing.T, seed uint64, sys raftnode.System) error {
	t.Helper()
	_, err := runWithWriter(t, Config{Seed: seed, System: sys}, func(w *World) {
		w.Sleep(2 * time.Second)
		for range 2 {
			if _, err := w.AddNode(false); err != nil {
				t.Logf("seed %d: add-node: %v", seed, err)
			}
			w.Sleep(500 * time.Millisecond)
			if err := w.RemoveNode(w.Nodes()[0]); err != nil {
				t.Logf("seed %d: remove-node: %v", seed, err)
			}
			w.Sleep(500 * time.Millisecond)
		}
		w.Sleep(2 * time.Second)
	})
	return err
}

// TestMembershipAgreement: a leader that takes a membership change into
// use when it proposes it (the confchange-on-propose canary) reports a
// membership at an applied index that differs from what was reported
// there; the reference node, through the same changes, never does.
func TestMembershipAgreement(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		if err := churn(t, seed, raftkv.System(nil)); err != nil {
			t.Fatalf("seed %d: a correct cluster through membership changes: %v", seed, err)
		}
		err := churn(t, seed, raftkv.System(raftkv.Bugs{raftkv.BugConfChangeOnPropose: true}))
		var iv *world.InvariantError
		if !errors.As(err, &iv) || iv.Invariant != MembershipAgreed {
			t.Fatalf("seed %d: confchange-on-propose: want the membership-agreement violation, got %v", seed, err)
		}
		t.Logf("seed %d: %v", seed, iv)
	}
}
