package workloads

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/splitbrain/splitbrain/harness/history"
	"github.com/splitbrain/splitbrain/harness/raftkv"
	"github.com/splitbrain/splitbrain/harness/sim"
	"github.com/splitbrain/splitbrain/harness/world"
)

// memRecorder keeps a history in memory, stamped with the world's time.
type memRecorder struct {
	mu     sync.Mutex
	w      world.World
	events []history.Event
}

func (m *memRecorder) Record(e history.Event) history.Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	e.Index, e.Time = int64(len(m.events)), int64(m.w.Now())
	m.events = append(m.events, e)
	return e
}

// runSim runs the register workload in a fresh sim world of n nodes until
// end, with script as the fault timeline (run in the main task), and
// returns the workload (its pins as they ended) and the history.
func runSim(t *testing.T, seed uint64, n int, opts RegisterOptions, end time.Duration, script func(w *sim.World, r *Register)) (*Register, []history.Event) {
	t.Helper()
	w, err := sim.New(sim.Config{Seed: seed, Nodes: n, System: raftkv.System(nil)})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	rec := &memRecorder{w: w}
	r, err := NewRegister(w, rec, opts)
	if err != nil {
		t.Fatal(err)
	}
	err = w.Run(func() {
		g := w.NewGroup()
		r.Run(g, func() bool { return w.Now() >= end })
		script(w, r)
		g.Wait()
	})
	if err != nil {
		t.Fatal(err)
	}
	return r, rec.events
}

func waitLeader(t *testing.T, w *sim.World) {
	for range 100 {
		if _, ok := w.Leader(); ok {
			return
		}
		w.Sleep(100 * time.Millisecond)
	}
	t.Fatal("no leader after 10s")
}

func TestBackoffDoublesUpToItsCap(t *testing.T) {
	for n, want := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 3: 400 * time.Millisecond,
		4: 800 * time.Millisecond, 5: time.Second, 6: time.Second, 1000: time.Second} {
		if got := backoff(n); got != want {
			t.Errorf("backoff(%d) = %v, want %v", n, got, want)
		}
	}
}

// TestClientBacksOffWhileItsNodeIsDown: a client whose node is down does
// not spend an operation every pacing interval on it; it waits longer and
// longer, up to BackoffMax, and finds the node again within about
// BackoffMax of its restart. It stays on its node throughout.
func TestClientBacksOffWhileItsNodeIsDown(t *testing.T) {
	const down, up = 5 * time.Second, 15 * time.Second
	opts := RegisterOptions{Clients: 3, Rate: 60} // 20 ops/s a client: 200 refusals in 10s without backoff
	r, events := runSim(t, 3, 3, opts, 20*time.Second, func(w *sim.World, _ *Register) {
		w.Sleep(down)
		if err := w.Crash(1, world.KeepWritten); err != nil {
			t.Error(err)
		}
		w.Sleep(up - down)
		if err := w.Restart(1); err != nil {
			t.Error(err)
		}
	})
	var refused []history.Event
	firstBack := int64(-1)
	for _, e := range events {
		if e.Node != "n1" {
			continue
		}
		if e.Type == history.Fail && e.Error == "connection refused" {
			refused = append(refused, e)
		}
		if e.Type == history.Invoke && e.Time > int64(up) && firstBack < 0 {
			firstBack = e.Time
		}
	}
	if len(refused) < 5 || len(refused) > 25 {
		t.Fatalf("%d refused operations on n1 while it was down for 10s; want 5–25 (a client that backs off, but keeps trying)", len(refused))
	}
	var longest time.Duration
	for i := 1; i < len(refused); i++ {
		longest = max(longest, time.Duration(refused[i].Time-refused[i-1].Time))
	}
	if longest < BackoffMax/2 || longest > BackoffMax+200*time.Millisecond {
		t.Errorf("longest gap between refusals %v, want about BackoffMax (%v)", longest, BackoffMax)
	}
	if firstBack < 0 || time.Duration(firstBack)-up > BackoffMax+200*time.Millisecond {
		t.Errorf("the client found its node %v after the restart, want within about BackoffMax", time.Duration(firstBack)-up)
	}
	if r.pins[0] != 1 {
		t.Errorf("client 0 left its node: pinned to %s", r.pins[0])
	}
}

// pinsOf returns a copy of the workers' nodes.
func pinsOf(r *Register) []world.NodeID {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.pins)
}

// TestClientMovesWhenItsNodeLeaves: the clients of a removed node move to
// serving members with the fewest clients — never to one that is down —
// and every other client stays where it was. The history shows the move:
// no operation goes to the removed node after its removal.
func TestClientMovesWhenItsNodeLeaves(t *testing.T) {
	// 9 clients on 5 nodes: n1..n4 have two each, n5 one. n5 is down when
	// n1 leaves, so although it has the fewest clients, n1's clients must
	// not move there.
	opts := RegisterOptions{Clients: 9}
	var removedAt int64
	var before []world.NodeID // the workers' nodes 2s after the removal
	_, events := runSim(t, 5, 5, opts, 12*time.Second, func(w *sim.World, r *Register) {
		w.Sleep(3 * time.Second)
		if err := w.Crash(5, world.KeepWritten); err != nil {
			t.Error(err)
		}
		waitLeader(t, w)
		if err := w.RemoveNode(1); err != nil {
			t.Error(err)
		}
		removedAt = int64(w.Now())
		w.Sleep(2 * time.Second)
		before = pinsOf(r)
	})
	for _, e := range events {
		if e.Type == history.Invoke && e.Node == "n1" && e.Time > removedAt {
			t.Fatalf("an operation went to the removed n1 at %v", time.Duration(e.Time))
		}
	}
	want := []world.NodeID{0: 0, 5: 0, 1: 2, 6: 2, 2: 3, 7: 3, 3: 4, 8: 4, 4: 5} // 0: moved
	load := map[world.NodeID]int{}
	for i, p := range before {
		load[p]++
		if want[i] == 0 {
			if p == 1 || p == 5 {
				t.Errorf("client %d moved to %s, want a serving member other than n1 and the down n5", i, p)
			}
			continue
		}
		if p != want[i] {
			t.Errorf("client %d is on %s, want it to stay on %s", i, p, want[i])
		}
	}
	for _, n := range []world.NodeID{2, 3, 4} {
		if load[n] > 3 {
			t.Errorf("%s has %d clients: the moved clients were not spread (%v)", n, load[n], before)
		}
	}
}

// TestClientsSpreadToANewMember: when a node joins, workers of members
// with two or more workers than it move there, until the serving members'
// loads differ by at most one; a worker whose node is down stays on it.
// Without that a node that joined (a replacement, say) would have no
// clients: whatever it served wrongly, nobody would see.
func TestClientsSpreadToANewMember(t *testing.T) {
	opts := RegisterOptions{Clients: 12} // three a node on n1..n4; n5 down
	var before, after []world.NodeID
	var added world.NodeID
	_, events := runSim(t, 6, 4, opts, 10*time.Second, func(w *sim.World, r *Register) {
		w.Sleep(3 * time.Second)
		waitLeader(t, w)
		before = pinsOf(r)
		id, err := w.AddNode(false)
		if err != nil {
			t.Error(err)
		}
		added = id
		w.Sleep(3 * time.Second)
		after = pinsOf(r)
	})
	load := map[world.NodeID]int{}
	for _, p := range after {
		load[p]++
	}
	if load[added] < 2 {
		t.Fatalf("the new %s has %d workers (%v → %v), want them spread to it", added, load[added], before, after)
	}
	lo, hi := len(after), 0
	for _, n := range []world.NodeID{1, 2, 3, 4, added} {
		lo, hi = min(lo, load[n]), max(hi, load[n])
	}
	if hi-lo > 1 {
		t.Errorf("loads after the join %v: differ by %d", load, hi-lo)
	}
	moved := 0
	for i := range before {
		if before[i] != after[i] {
			moved++
			if after[i] != added {
				t.Errorf("client %d moved from %s to %s, not to the new %s", i, before[i], after[i], added)
			}
		}
	}
	if moved != load[added] {
		t.Errorf("%d workers moved, %d are on the new node", moved, load[added])
	}
	var onNew bool
	for _, e := range events {
		onNew = onNew || e.Type == history.Invoke && e.Node == added.String()
	}
	if !onNew {
		t.Error("no operation went to the new node")
	}
}

// TestClientsStayPinned: through crashes, pauses and partitions, and
// through unknown outcomes (which start a new process), every process
// sends every operation to one node: the node of its worker.
func TestClientsStayPinned(t *testing.T) {
	_, events := runSim(t, 9, 5, RegisterOptions{}, 20*time.Second, func(w *sim.World, _ *Register) {
		w.Sleep(2 * time.Second)
		w.Crash(2, world.KeepWritten)
		w.Pause(3)
		w.SetReach(world.Groups([]world.NodeID{1, 4}, []world.NodeID{2, 3, 5}))
		w.Sleep(4 * time.Second)
		w.Restart(2)
		w.Resume(3)
		w.SetReach(world.Reach{})
	})
	nodes := map[history.Process][]string{}
	infos := 0
	for _, e := range events {
		if e.Type == history.Info {
			infos++
		}
		if !slices.Contains(nodes[e.Process], e.Node) {
			nodes[e.Process] = append(nodes[e.Process], e.Node)
		}
	}
	for p, ns := range nodes {
		if len(ns) != 1 {
			t.Errorf("process %s used nodes %v", p, ns)
		}
	}
	if infos == 0 {
		t.Errorf("no unknown outcome: the faults did not test fresh processes")
	}
}
