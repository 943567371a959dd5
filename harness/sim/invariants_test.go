package sim

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/splitbrain/splitbrain/harness/raftkv"
	"github.com/splitbrain/splitbrain/harness/raftnode"
	"github.com/splitbrain/splitbrain/harness/world"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// writer starts a background task that writes to a rotating node every
// 50ms until stop returns true: a steady stream of entries to commit.
func writer(w *World, stop func() bool) {
	w.Go("writer", func() {
		cl := w.Client()
		for i := 0; !stop(); i++ {
			nodes := w.Nodes()
			cl.Do(nodes[i%len(nodes)], world.Op{Kind: world.Put, Key: "k", Value: fmt.Sprint(i)}, time.Second)
			w.Sleep(50 * time.Millisecond)
		}
	})
}

// runWithWriter runs body in a new world of cfg while writer writes, and
// stops the writer when body returns. It returns the world and Run's error.
func runWithWriter(t *testing.T, cfg Config, body func(w *World)) (*World, error) {
	t.Helper()
	w, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := false
	err = w.Run(func() {
		defer func() { done = true }()
		writer(w, func() bool { return done })
		body(w)
	})
	return w, err
}

// lateCandidate is the reproduction of issue 10's false alarm: crash the
// leader, wait until some follower campaigns (StateCandidate), and delay
// every message into that candidate by 1.5s. Its vote grants arrive after
// the others have elected a leader of a later term that has committed new
// entries; the late candidate then wins its old term, legitimately without
// those entries (Leader Completeness binds only leaders of later terms).
// late reports whether that happened: a leader of some term was first
// seen after a leader of a later one.
func lateCandidate(t *testing.T, seed uint64) (late bool, err error) {
	t.Helper()
	_, err = runWithWriter(t, Config{Seed: seed, System: raftkv.System(nil)}, func(w *World) {
		w.Sleep(2 * time.Second)
		l, ok := w.Leader()
		if !ok {
			t.Errorf("seed %d: no leader after 2s", seed)
			return
		}
		w.Crash(l, world.KeepWritten)
		var cand world.NodeID
		for start := w.Now(); cand == 0 && w.Now() < start+10*time.Second; {
			w.Sleep(time.Millisecond)
			for _, id := range w.Nodes() {
				if st, ok := w.Status(id); ok && st.State == "StateCandidate" {
					cand = id
					break
				}
			}
		}
		if cand == 0 {
			t.Errorf("seed %d: no candidate within 10s of the leader's crash", seed)
			return
		}
		var links [][2]world.NodeID
		for _, id := range w.Nodes() {
			if id != cand {
				links = append(links, [2]world.NodeID{id, cand})
			}
		}
		w.SetPacket(world.Packet{Links: links, Delay: 1500 * time.Millisecond})
		var highest uint64 // the highest term a leader was seen in
		for start := w.Now(); w.Now() < start+5*time.Second; {
			w.Sleep(time.Millisecond)
			for _, id := range w.Nodes() {
				if st, ok := w.Status(id); ok && st.State == "StateLeader" {
					late = late || st.Term < highest
					highest = max(highest, st.Term)
				}
			}
		}
		w.SetPacket(world.Packet{})
		w.Restart(l)
		w.Sleep(5 * time.Second)
	})
	return late, err
}

// TestLeaderCompletenessLateCandidate: the reproduction of issue 10 over
// 40 seeds must hold every invariant (it is a correct cluster), and must
// really elect late leaders of old terms (in 11 of 40 seeds on the issue's
// code, without entries a later term committed).
func TestLeaderCompletenessLateCandidate(t *testing.T) {
	lates := 0
	for seed := uint64(1); seed <= 40; seed++ {
		late, err := lateCandidate(t, seed)
		if err != nil {
			t.Errorf("seed %d: %v", seed, err)
		}
		if late {
			lates++
		}
	}
	if lates == 0 {
		t.Fatalf("no seed elected a leader of an old term after a later one: the test no longer reproduces the issue")
	}
	t.Logf("%d of 40 seeds elected a late leader of an old term", lates)
}

// invariantErr returns the invariant violation err holds, or fails.
func invariantErr(t *testing.T, err error) *world.InvariantError {
	t.Helper()
	var iv *world.InvariantError
	if !errors.As(err, &iv) {
		t.Fatalf("want an invariant violation, got %v", err)
	}
	return iv
}

// TestLeaderCompletenessCatchesLostEntry: the invariant still catches a
// genuine violation. In a 3-node cluster, one follower is cut off while
// the leader and the other follower commit entries; that follower then
// loses the committed tail of its durable log (a test hook truncates it,
// as a disk that lies about fsync would), the leader crashes, and the two
// remaining nodes, both without the entries, elect a leader of a later
// term.
func TestLeaderCompletenessCatchesLostEntry(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		// The mechanism check committed-entry-kept sees the loss at the
		// restart; skipped, so that the consequence is what is tested.
		_, err := runWithWriter(t, Config{Seed: seed, Nodes: 3, System: raftkv.System(nil), Skip: MechanismInvariants}, func(w *World) {
			w.Sleep(2 * time.Second)
			l, ok := w.Leader()
			if !ok {
				t.Errorf("seed %d: no leader", seed)
				return
			}
			var a, b world.NodeID
			for _, id := range w.Nodes() {
				if id != l && a == 0 {
					a = id
				} else if id != l {
					b = id
				}
			}
			w.SetReach(world.Groups([]world.NodeID{l, a}, []world.NodeID{b}))
			w.Sleep(2 * time.Second)
			keep := w.nodes[b].disk.written.LastIndex()
			w.Crash(a, world.KeepWritten)
			truncateDurable(w.nodes[a], keep)
			w.Crash(l, world.KeepWritten)
			// What the leader still had in flight to a (a commit index
			// beyond a's truncated log, which raft would refuse with a
			// panic) arrives while a is down, and is lost.
			w.Sleep(time.Second)
			w.SetReach(world.Reach{})
			w.Restart(a)
			w.Sleep(5 * time.Second)
		})
		iv := invariantErr(t, err)
		if iv.Invariant != LeaderCompleteness {
			t.Fatalf("seed %d: caught by %s, want %s: %v", seed, iv.Invariant, LeaderCompleteness, iv)
		}
		t.Logf("seed %d: %v", seed, iv)
	}
}

// truncateDurable is a test hook: a crashed node's durable log loses
// every entry after last (and its commit index is lowered to match, as
// raft refuses a commit index beyond the log).
func truncateDurable(sn *simNode, last uint64) {
	d := sn.disk.durable
	n := 0
	for n < len(d.Entries) && d.Entries[n].GetIndex() <= last {
		n++
	}
	d.Entries = d.Entries[:n]
	if hs := d.HardState; hs != nil && hs.GetCommit() > last {
		hs = proto.Clone(hs).(*pb.HardState)
		hs.Commit = new(last)
		d.HardState = hs
	}
	sn.disk.written = d.Clone()
}

// crashRestart runs a 3-node cluster under a writer, crashes a follower
// with fate (after hook, if set, has its way with the crashed node's
// disk), restarts it and runs on. It returns the run's error.
func crashRestart(t *testing.T, seed uint64, bugs raftkv.Bugs, fate world.DiskFate, hook func(*simNode)) error {
	t.Helper()
	return crashRestartSystem(t, seed, raftkv.System(bugs), fate, hook)
}

// crashRestartSystem is crashRestart for any system.
func crashRestartSystem(t *testing.T, seed uint64, sys raftnode.System, fate world.DiskFate, hook func(*simNode)) error {
	t.Helper()
	_, err := runWithWriter(t, Config{Seed: seed, Nodes: 3, System: sys}, func(w *World) {
		w.Sleep(3 * time.Second)
		l, _ := w.Leader()
		f := w.Nodes()[0]
		if f == l {
			f = w.Nodes()[1]
		}
		w.Crash(f, fate)
		if hook != nil {
			hook(w.nodes[f])
		}
		w.Sleep(500 * time.Millisecond)
		if err := w.Restart(f); err != nil {
			t.Logf("restart %s: %v", f, err)
		}
		w.Sleep(3 * time.Second)
	})
	return err
}

// TestCommittedEntryKeptJudgesPromisedRestarts: committed-entry-kept
// judges a restart only when the crash promised the data. A process crash
// whose disk then lost applied entries (a test hook) is caught; a wiped
// node that comes back (amnesia-rejoin) is not its business — it used to
// fire there, on the fault itself — but rejoin-after-data-loss's.
func TestCommittedEntryKeptJudgesPromisedRestarts(t *testing.T) {
	err := crashRestart(t, 1, nil, world.KeepWritten, func(sn *simNode) { truncateDurable(sn, 5) })
	if iv := invariantErr(t, err); iv.Invariant != DurableCommitted {
		t.Fatalf("keep-written crash losing applied entries: caught by %s, want %s: %v", iv.Invariant, DurableCommitted, iv)
	}
	for _, fate := range []world.DiskFate{world.KeepWritten, world.LoseUnsynced, world.TornWrite} {
		if err := crashRestart(t, 1, nil, fate, nil); err != nil {
			t.Fatalf("%s crash of a correct node: %v", fate, err)
		}
	}
	// A correct node refuses to restart after a wipe: nothing fires.
	if err := crashRestart(t, 1, nil, world.Wipe, nil); err != nil {
		t.Fatalf("wipe of a correct node: %v", err)
	}
	err = crashRestart(t, 1, raftkv.Bugs{raftkv.BugAmnesiaRejoin: true}, world.Wipe, nil)
	if iv := invariantErr(t, err); iv.Invariant != RejoinAfterLoss {
		t.Fatalf("amnesia-rejoin: caught by %s, want %s: %v", iv.Invariant, RejoinAfterLoss, iv)
	}
}
