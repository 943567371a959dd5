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
func runSim(t *testing.T, seed uint64, n int, opts RegisterOptions, end time.Duration, script func(w *sim.World)) (*Register, []history.Event) {
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
		script(w)
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
	r, events := runSim(t, 3, 3, opts, 20*time.Second, func(w *sim.World) {
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

// TestClientMovesWhenItsNodeLeaves: the clients of a removed node move to
// serving members with the fewest clients — never to one that is down —
// and every other client stays where it was, also when a node joins. The
// history shows the move: no operation goes to the removed node after its
// removal.
func TestClientMovesWhenItsNodeLeaves(t *testing.T) {
	// 9 clients on 5 nodes: n1..n4 have two each, n5 one. n5 is down when
	// n1 leaves, so although it has the fewest clients, n1's clients must
	// not move there.
	opts := RegisterOptions{Clients: 9}
	var removedAt int64
	r, events := runSim(t, 5, 5, opts, 20*time.Second, func(w *sim.World) {
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
		if _, err := w.AddNode(false); err != nil {
			t.Error(err)
		}
		w.Sleep(3 * time.Second)
		if err := w.Restart(5); err != nil {
			t.Error(err)
		}
	})
	for _, e := range events {
		if e.Type == history.Invoke && e.Node == "n1" && e.Time > removedAt {
			t.Fatalf("an operation went to the removed n1 at %v", time.Duration(e.Time))
		}
	}
	want := []world.NodeID{0: 0, 5: 0, 1: 2, 6: 2, 2: 3, 7: 3, 3: 4, 8: 4, 4: 5} // 0: moved
	load := map[world.NodeID]int{}
	for i, p := range r.pins {
		load[p]++
		if want[i] == 0 {
			if p == 1 || p == 5 || p == 6 {
				t.Errorf("client %d moved to %s, want a serving member other than n1 and the down n5 (the new n6 joined after the move)", i, p)
			}
			continue
		}
		if p != want[i] {
			t.Errorf("client %d is on %s, want it to stay on %s", i, p, want[i])
		}
	}
	for _, n := range []world.NodeID{2, 3, 4} {
		if load[n] > 3 {
			t.Errorf("%s has %d clients: the moved clients were not spread (%v)", n, load[n], r.pins)
		}
	}
}

// TestClientsStayPinned: through crashes, pauses and partitions, and
// through unknown outcomes (which start a new process), every process
// sends every operation to one node: the node of its worker.
func TestClientsStayPinned(t *testing.T) {
	_, events := runSim(t, 9, 5, RegisterOptions{}, 20*time.Second, func(w *sim.World) {
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
