package nemesis

import (
	"fmt"
	"sync"

	"github.com/splitbrain/splitbrain/harness/world"
)

// state is what the nemesis has done to a world and not yet undone: the
// nodes it crashed (and how), paused, whose clocks it changed, or whose
// disks it stalled. Restart, resume, clock-reset and unstall-disk resolve
// their targets among these, and HealAll
// undoes all of them. It lives in a registry keyed by the world so that
// HealAll(w, rec) finds what an earlier Execute(w, …) left. Whoever works
// with an entry holds it (acquire, release): an entry is dropped only when
// nobody holds it and nothing is outstanding. (An entry dropped while an
// executor still used it would lose what that executor did next: a crash
// recorded in an orphaned entry is never restarted, and a later kill of the
// down node opens a second window that no restart closes.)
type state struct {
	mu      sync.Mutex
	crashed map[world.NodeID]world.DiskFate
	paused  map[world.NodeID]bool
	clocks  map[world.NodeID]*clock
	stalled map[world.NodeID]bool
	// replacing: crashed nodes whose data is lost, with a replacement
	// queued or under way; restart leaves them to it.
	replacing map[world.NodeID]bool
	reachGen  uint64 // bumped by every change of reachability
	holders   int    // executors and snapshot-isolate watchers using the entry
}

// clock is a node's changed clock; a strobe task runs until stopped.
type clock struct {
	mu      sync.Mutex
	stopped bool
}

// stop ends a strobe (no-op for a plain skew) and, under the same lock,
// sets the rate, so that a strobe task cannot set its rate afterwards.
func (c *clock) stop(set func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopped = true
	set()
}

var (
	registryMu sync.Mutex
	registry   = map[world.World]*state{}
)

// acquire returns the world's state, creating it if needed, and holds it
// until the matching release.
func acquire(w world.World) *state {
	registryMu.Lock()
	defer registryMu.Unlock()
	st := registry[w]
	if st == nil {
		st = &state{crashed: map[world.NodeID]world.DiskFate{}, paused: map[world.NodeID]bool{}, clocks: map[world.NodeID]*clock{}, stalled: map[world.NodeID]bool{}, replacing: map[world.NodeID]bool{}}
		registry[w] = st
	}
	st.mu.Lock()
	st.holders++
	st.mu.Unlock()
	return st
}

// release lets go of the world's state, dropping the entry if nobody else
// holds it and nothing is outstanding.
func release(w world.World) {
	registryMu.Lock()
	defer registryMu.Unlock()
	st := registry[w]
	if st == nil {
		panic(fmt.Sprintf("nemesis: release of a world state nobody holds (%s world)", w.Mode()))
	}
	st.mu.Lock()
	st.holders--
	if st.holders < 0 {
		st.mu.Unlock()
		panic(fmt.Sprintf("nemesis: world state released more often than acquired (%s world)", w.Mode()))
	}
	empty := len(st.crashed) == 0 && len(st.paused) == 0 && len(st.clocks) == 0 && len(st.stalled) == 0 && len(st.replacing) == 0 && st.holders == 0
	st.mu.Unlock()
	if empty {
		delete(registry, w)
	}
}

func (st *state) crashedIDs() []world.NodeID {
	st.mu.Lock()
	defer st.mu.Unlock()
	return sortedKeys(st.crashed)
}

// restartableIDs lists the crashed nodes that no replacement is already
// queued for or under way.
func (st *state) restartableIDs() []world.NodeID {
	st.mu.Lock()
	defer st.mu.Unlock()
	var out []world.NodeID
	for _, id := range sortedKeys(st.crashed) {
		if !st.replacing[id] {
			out = append(out, id)
		}
	}
	return out
}

func (st *state) unmarkReplacing(id world.NodeID) {
	st.mu.Lock()
	defer st.mu.Unlock()
	delete(st.replacing, id)
}

func (st *state) pausedIDs() []world.NodeID {
	st.mu.Lock()
	defer st.mu.Unlock()
	return sortedKeys(st.paused)
}

func (st *state) stalledIDs() []world.NodeID {
	st.mu.Lock()
	defer st.mu.Unlock()
	return sortedKeys(st.stalled)
}

func (st *state) clockIDs() []world.NodeID {
	st.mu.Lock()
	defer st.mu.Unlock()
	return sortedKeys(st.clocks)
}

func (st *state) bumpReach() uint64 {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.reachGen++
	return st.reachGen
}

func (st *state) reach() uint64 {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.reachGen
}

// forget drops a node that left the cluster, stopping its strobe, and
// reports what the nemesis had done to it.
func (st *state) forget(id world.NodeID) (crashed, paused, clocked, stalled bool) {
	st.mu.Lock()
	c := st.clocks[id]
	_, crashed = st.crashed[id]
	paused, stalled = st.paused[id], st.stalled[id]
	delete(st.crashed, id)
	delete(st.paused, id)
	delete(st.clocks, id)
	delete(st.stalled, id)
	st.mu.Unlock()
	if c != nil {
		c.stop(func() {})
	}
	return crashed, paused, c != nil, stalled
}

func sortedKeys[V any](m map[world.NodeID]V) []world.NodeID {
	out := make([]world.NodeID, 0, len(m))
	for id := range m {
		out = append(out, id)
	}
	return world.SortIDs(out)
}

// wipedIDs lists the nodes the nemesis wiped that are not yet back.
func (st *state) wipedIDs() []world.NodeID {
	st.mu.Lock()
	defer st.mu.Unlock()
	var out []world.NodeID
	for _, id := range sortedKeys(st.crashed) {
		if st.crashed[id] == world.Wipe {
			out = append(out, id)
		}
	}
	return out
}
