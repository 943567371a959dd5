package sim

import (
	"slices"
	"testing"
	"time"

	"github.com/splitbrain/splitbrain/harness/raftkv"
	"github.com/splitbrain/splitbrain/harness/world"
)

// TestCommittedRemovalStopsTheNode: a node cut off while its removal
// commits never hears of it (a leader sends nothing to a non-member).
// When the RemoveNode call gave up waiting (here at once: a 1ms admin
// timeout), the removal still commits, and the world then stops the node
// as RemoveNode would have — else it ran on as a member of the world,
// campaigning alone, with clients pinned to it.
func TestCommittedRemovalStopsTheNode(t *testing.T) {
	w, err := New(Config{Seed: 4, System: raftkv.System(nil), AdminTimeout: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	err = w.Run(func() {
		w.Sleep(3 * time.Second)
		l, ok := w.Leader()
		if !ok {
			t.Fatal("no leader")
		}
		x := w.Nodes()[0]
		if x == l {
			x = w.Nodes()[1]
		}
		var r world.Reach
		for _, id := range w.Nodes() {
			if id != x {
				r.CutBoth(x, id)
			}
		}
		if err := w.SetReach(r); err != nil {
			t.Fatal(err)
		}
		if err := w.RemoveNode(x); err == nil {
			t.Fatal("the removal did not time out: the test shows nothing")
		}
		w.Sleep(2 * time.Second)
		if slices.Contains(w.Nodes(), x) {
			t.Fatalf("%s is still a member of the world after its removal committed: %v", x, w.Nodes())
		}
		if _, up := w.Status(x); up {
			t.Fatalf("%s still runs after its removal committed", x)
		}
		for _, id := range w.Nodes() {
			st, _ := w.Status(id)
			if slices.Contains(st.Voters, x) {
				t.Fatalf("%s still counts %s as a voter", id, x)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
}
