package sim

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/splitbrain/splitbrain/harness/examples/tutorial"
	"github.com/splitbrain/splitbrain/harness/raftkv"
	"github.com/splitbrain/splitbrain/harness/raftnode"
	"github.com/splitbrain/splitbrain/harness/world"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// wrapped is a node of another system, whose outputs a test rewrites.
type wrapped struct {
	raftnode.Node
	ready func(raftnode.Output) raftnode.Output
}

func (w *wrapped) Ready() raftnode.Output { return w.ready(w.Node.Ready()) }

// wrap is sys with every node's outputs rewritten by rewrite (which gets
// the node's ID), reporting what reports says.
func wrap(sys raftnode.System, reports raftnode.Reports, rewrite func(id uint64, out raftnode.Output) raftnode.Output) raftnode.System {
	return raftnode.System{Name: sys.Name + "-wrapped", Reports: reports,
		New: func(c raftnode.Config, d *raftnode.Durable, peers []uint64) (raftnode.Node, error) {
			n, err := sys.New(c, d, peers)
			if err != nil {
				return nil, err
			}
			return &wrapped{Node: n, ready: func(o raftnode.Output) raftnode.Output { return rewrite(c.ID, o) }}, nil
		}}
}

// runWriter runs a 3-node cluster of sys under a writer for d.
func runWriter(t *testing.T, seed uint64, sys raftnode.System, d time.Duration) (*World, error) {
	t.Helper()
	w, err := runWithWriter(t, Config{Seed: seed, Nodes: 3, System: sys}, func(w *World) {
		w.Sleep(d)
	})
	return w, err
}

// TestHardStateKeptOnWrites: a node whose written hard state goes back —
// its commit index, its vote within a term, its term — is caught at that
// write; the reference node is not (the chaos and canary tests run it
// through crashes of every kind with the invariant on).
func TestHardStateKeptOnWrites(t *testing.T) {
	for _, c := range []struct {
		name   string
		mutate func(hs *pb.HardState) bool // false: not this one
		says   string
	}{
		{"commit", func(hs *pb.HardState) bool {
			if hs.GetCommit() < 10 {
				return false
			}
			hs.Commit = new(uint64(1))
			return true
		}, "commit index 1 after"},
		{"vote", func(hs *pb.HardState) bool {
			if hs.GetVote() == 0 {
				return false
			}
			hs.Vote = new(hs.GetVote()%3 + 1)
			return true
		}, "after voting"},
		{"term", func(hs *pb.HardState) bool {
			if hs.GetTerm() < 2 || hs.GetCommit() < 10 {
				return false
			}
			hs.Term = new(hs.GetTerm() - 1)
			return true
		}, "after term"},
	} {
		t.Run(c.name, func(t *testing.T) {
			writes := 0
			sys := wrap(raftkv.System(nil), raftnode.Reports{Applied: true, StateHash: true}, func(id uint64, out raftnode.Output) raftnode.Output {
				for i, w := range out.Writes {
					if w.HardState == nil || id != 1 {
						continue
					}
					if writes++; writes < 3 {
						continue
					}
					hs := proto.Clone(w.HardState).(*pb.HardState)
					if c.mutate(hs) {
						cp := *w
						cp.HardState = hs
						out.Writes[i] = &cp
					}
				}
				return out
			})
			_, err := runWriter(t, 1, sys, 10*time.Second)
			iv := invariantErr(t, err)
			if iv.Invariant != HardStateKept || !strings.Contains(iv.Detail, c.says) {
				t.Fatalf("caught by %s (%s), want %s saying %q", iv.Invariant, iv.Detail, HardStateKept, c.says)
			}
		})
	}
}

// TestHardStateKeptAtRestart: a node that restarts from an empty
// MemoryStorage (the tutorial node's volatile-log flaw) is caught at the
// restart, whatever the crash kept; the corrected node restarts clean.
func TestHardStateKeptAtRestart(t *testing.T) {
	for _, fate := range []world.DiskFate{world.KeepWritten, world.LoseUnsynced, world.TornWrite} {
		err := crashRestartSystem(t, 1, tutorial.System(tutorial.VolatileLog), fate, nil)
		if iv := invariantErr(t, err); iv.Invariant != HardStateKept || !strings.Contains(iv.Detail, "did not start raft from its durable state") {
			t.Fatalf("%s: volatile-log caught by %s (%s), want %s at the restart", fate, iv.Invariant, iv.Detail, HardStateKept)
		}
		if err := crashRestartSystem(t, 1, tutorial.System(), fate, nil); err != nil {
			t.Fatalf("%s: the corrected tutorial node: %v", fate, err)
		}
	}
}

// TestReportsDecideChecks: the sim checks what the nodes report, says
// what it could not check, and stops a node that reports more than its
// system declared.
func TestReportsDecideChecks(t *testing.T) {
	strip := func(_ uint64, out raftnode.Output) raftnode.Output { out.Applied = nil; return out }
	keep := func(_ uint64, out raftnode.Output) raftnode.Output { return out }

	w, err := runWriter(t, 1, wrap(raftkv.System(nil), raftnode.Reports{}, strip), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	checks, limits := w.Checks(), w.Limits()
	for _, n := range []string{StateMachineSafety, DurableCommitted, MembershipAgreed} {
		if checks[n] != 0 || !strings.HasPrefix(limits[n], "not checked") {
			t.Errorf("no Applied: %s checked %d times, limit %q; want not checked, and said so", n, checks[n], limits[n])
		}
	}
	if checks[LogMatching] == 0 || checks[ElectionSafety] == 0 || checks[PersistBeforeSend] == 0 {
		t.Errorf("no Applied: the log-level invariants were not checked: %v", checks)
	}

	w, err = runWriter(t, 1, wrap(raftkv.System(nil), raftnode.Reports{Applied: true}, keep), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if w.Checks()[StateMachineSafety] == 0 || !strings.HasPrefix(w.Limits()[StateMachineSafety], "entries only") {
		t.Errorf("no state hash: state-machine-safety checked %d times, limit %q", w.Checks()[StateMachineSafety], w.Limits()[StateMachineSafety])
	}
	if len(raftkvLimits(t)) != 0 {
		t.Errorf("the reference node reports everything, yet limits %v", raftkvLimits(t))
	}

	_, err = runWriter(t, 1, wrap(raftkv.System(nil), raftnode.Reports{}, keep), 5*time.Second)
	var iv *world.InvariantError
	if err == nil || errors.As(err, &iv) || !strings.Contains(err.Error(), "Reports.Applied") {
		t.Fatalf("a node reporting applied entries it did not declare: %v, want a run error naming Reports.Applied", err)
	}
}

func raftkvLimits(t *testing.T) map[string]string {
	w, err := New(Config{Seed: 1, System: raftkv.System(nil)})
	if err != nil {
		t.Fatal(err)
	}
	return w.Limits()
}

// TestStateHashCatchesSnapshotLoss: with state hashes, a snapshot that
// carries no state (the tutorial node's no-snapshots flaw) is caught by
// state-machine-safety; the corrected node's snapshots pass.
func TestStateHashCatchesSnapshotLoss(t *testing.T) {
	for _, c := range []struct {
		sys  raftnode.System
		want string
	}{{tutorial.System(tutorial.NoSnapshots), StateMachineSafety}, {tutorial.System(), ""}} {
		w, err := runWithWriter(t, Config{Seed: 3, Nodes: 3, System: c.sys, Node: raftnode.Config{SnapshotEvery: 20, CompactKeep: 5}}, func(w *World) {
			w.Sleep(2 * time.Second)
			f := w.Nodes()[0]
			if l, _ := w.Leader(); l == f {
				f = w.Nodes()[1]
			}
			cut := world.Groups([]world.NodeID{f}, others(w.Nodes(), f))
			w.SetReach(cut)
			w.Sleep(5 * time.Second) // the leader compacts far past the cut-off follower
			w.SetReach(world.Reach{})
			w.Sleep(5 * time.Second)
		})
		if c.want == "" {
			if err != nil {
				t.Fatalf("%s: %v", c.sys.Name, err)
			}
			if w.Checks()[StateMachineSafety] == 0 {
				t.Fatalf("%s: nothing applied", c.sys.Name)
			}
			continue
		}
		if iv := invariantErr(t, err); iv.Invariant != c.want {
			t.Fatalf("%s: caught by %s, want %s: %v", c.sys.Name, iv.Invariant, c.want, iv)
		}
	}
}

func others(ids []world.NodeID, not world.NodeID) []world.NodeID {
	var out []world.NodeID
	for _, id := range ids {
		if id != not {
			out = append(out, id)
		}
	}
	return out
}
