package etcd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/splitbrain/splitbrain/harness/proc"
	"github.com/splitbrain/splitbrain/harness/raftkv"
	"github.com/splitbrain/splitbrain/harness/world"
)

// needEtcd returns the system for name, or skips with why it cannot run.
func needEtcd(t *testing.T, name string) *System {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: etcd tests start real etcd clusters")
	}
	if os.Geteuid() != 0 {
		t.Skip("process mode needs root for nftables (CAP_NET_ADMIN); run as root (CI does)")
	}
	if name == "etcd@debian" {
		if _, err := os.Stat(DebianBinary); err != nil {
			t.Skipf("Debian's etcd is not installed at %s (sudo .ci/setup installs etcd-server)", DebianBinary)
		}
	}
	s, err := New(context.Background(), name, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newEtcdWorld(t *testing.T, s *System, n int) *proc.World {
	t.Helper()
	w, err := proc.New(proc.Config{Nodes: n, System: s, Binary: os.Args[0], NoWatchdog: true, Dir: t.TempDir(), Seed: 1,
		Node: raftkv.Config{SnapshotEvery: 50}, RequestTimeout: 3 * time.Second, StartTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := w.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return w
}

func waitLeader(t *testing.T, w world.World, except ...world.NodeID) world.NodeID {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if id, ok := w.Leader(); ok && !slices.Contains(except, id) {
			return id
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no leader (other than %v) within 20s", except)
	return 0
}

func mustDo(t *testing.T, c world.Client, node world.NodeID, op world.Op) world.Result {
	t.Helper()
	var res world.Result
	for i := 0; i < 100; i++ {
		if res = c.Do(node, op, 5*time.Second); res.Outcome == world.OK {
			return res
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%v via %s never ok: %+v", op, node, res)
	return res
}

func str(s string) *string { return &s }

// retry calls fn until it succeeds or 30s pass: etcd refuses membership
// changes ("unhealthy cluster") until every member has been connected
// for a while, and promotions until the learner has caught up.
func retry(t *testing.T, what string, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// TestEtcdWorld drives a 3-member etcd cluster through the process world:
// the KV operations and their outcomes, status, a partition, kill and
// restart, pause, membership (add, remove, a wiped member replaced), the
// convergence check, and the faults etcd refuses.
func TestEtcdWorld(t *testing.T) {
	s := needEtcd(t, "etcd@debian")
	w := newEtcdWorld(t, s, 3)
	err := w.Run(func() {
		c := w.Client()
		l := waitLeader(t, w)
		mustDo(t, c, l, world.Op{Kind: world.Put, Key: "x", Value: "1"})
		for _, id := range w.Nodes() {
			if r := mustDo(t, c, id, world.Op{Kind: world.Get, Key: "x"}); r.Value == nil || *r.Value != "1" {
				t.Fatalf("get x via %s: %+v", id, r)
			}
		}
		if r := c.Do(l, world.Op{Kind: world.CAS, Key: "x", Value: "3", Expected: str("2")}, 5*time.Second); r.Outcome != world.Fail {
			t.Fatalf("cas with a wrong expected value: %+v, want fail", r)
		}
		mustDo(t, c, l, world.Op{Kind: world.CAS, Key: "x", Value: "2", Expected: str("1")})
		if r := c.Do(l, world.Op{Kind: world.CAS, Key: "y", Value: "1", Expected: str("0")}, 5*time.Second); r.Outcome != world.Fail {
			t.Fatalf("cas on an absent key expecting a value: %+v, want fail", r)
		}
		mustDo(t, c, l, world.Op{Kind: world.CAS, Key: "y", Value: "1"}) // expected absent
		mustDo(t, c, l, world.Op{Kind: world.Delete, Key: "y"})
		if r := mustDo(t, c, l, world.Op{Kind: world.Get, Key: "y"}); r.Value != nil {
			t.Fatalf("get y after delete: %+v", r)
		}
		st, ok := w.Status(l)
		if !ok || st.State != "StateLeader" || len(st.Voters) != 3 {
			t.Fatalf("leader status: %+v %v", st, ok)
		}

		// Isolate the leader: the others elect a new one.
		var rest []world.NodeID
		for _, id := range w.Nodes() {
			if id != l {
				rest = append(rest, id)
			}
		}
		if err := w.SetReach(world.Groups([]world.NodeID{l}, rest)); err != nil {
			t.Fatal(err)
		}
		l2 := waitLeader(t, w, l)
		mustDo(t, c, l2, world.Op{Kind: world.Put, Key: "x", Value: "3"})
		if r := c.Do(l, world.Op{Kind: world.Get, Key: "x"}, 3*time.Second); r.Outcome == world.OK {
			t.Fatalf("a linearizable read on the isolated old leader succeeded: %+v", r)
		}
		if err := w.SetReach(world.Reach{}); err != nil {
			t.Fatal(err)
		}

		// Kill, restart, pause.
		f := rest[0]
		if f == l2 {
			f = rest[1]
		}
		if err := w.Crash(f, world.KeepWritten); err != nil {
			t.Fatal(err)
		}
		if r := c.Do(f, world.Op{Kind: world.Put, Key: "x", Value: "4"}, time.Second); r.Outcome != world.Fail {
			t.Fatalf("put to a killed member: %+v, want fail", r)
		}
		if err := w.Restart(f); err != nil {
			t.Fatal(err)
		}
		if r := mustDo(t, c, f, world.Op{Kind: world.Get, Key: "x"}); r.Value == nil || *r.Value != "3" {
			t.Fatalf("get x via restarted %s: %+v", f, r)
		}
		if err := w.Pause(f); err != nil {
			t.Fatal(err)
		}
		if r := c.Do(f, world.Op{Kind: world.Put, Key: "x", Value: "5"}, time.Second); r.Outcome != world.Unknown {
			t.Fatalf("put to a paused member: %+v, want unknown", r)
		}
		if err := w.Resume(f); err != nil {
			t.Fatal(err)
		}

		// Refused faults.
		if err := w.SetClockRate(f, 2); !errors.Is(err, world.ErrUnsupported) {
			t.Fatalf("clock skew: %v, want ErrUnsupported", err)
		}
		if err := w.SetPacket(world.Packet{Delay: time.Millisecond}); !errors.Is(err, world.ErrUnsupported) {
			t.Fatalf("packet delay: %v, want ErrUnsupported", err)
		}

		// Membership: add a voter and a learner, promote, remove.
		var n4, n5, n6 world.NodeID
		retry(t, "add a voter", func() (err error) { n4, err = w.AddNode(false); return err })
		if r := mustDo(t, c, n4, world.Op{Kind: world.Get, Key: "x"}); r.Value == nil {
			t.Fatalf("get x via new member %s: %+v", n4, r)
		}
		retry(t, "add a learner", func() (err error) { n5, err = w.AddNode(true); return err })
		retry(t, "learner status", func() error {
			if st, ok := w.Status(n5); !ok || !st.Learner {
				return fmt.Errorf("%s says %+v (answered %v)", n5, st, ok)
			}
			return nil
		})
		retry(t, "promote the learner", func() error { return w.PromoteNode(n5) })
		retry(t, "remove "+n4.String(), func() error { return w.RemoveNode(n4) })

		// A wiped member is not restarted: it is removed and replaced.
		if err := w.Crash(f, world.Wipe); err != nil {
			t.Fatal(err)
		}
		if err := w.Restart(f); !errors.Is(err, raftkv.ErrDataLost) {
			t.Fatalf("restart of a wiped member: %v, want ErrDataLost", err)
		}
		waitLeader(t, w)
		retry(t, "remove the wiped "+f.String(), func() error { return w.RemoveNode(f) })
		retry(t, "add a replacement", func() (err error) { n6, err = w.AddNode(false); return err })
		l = waitLeader(t, w)
		st, _ = w.Status(l)
		want := []world.NodeID{l2, n5, n6}
		for _, id := range rest {
			if id != f && id != l2 {
				want = append(want, id)
			}
		}
		if len(st.Voters) != 4 {
			t.Fatalf("voters %v, want 4 (%v and the first leader)", st.Voters, want)
		}
		mustDo(t, c, n6, world.Op{Kind: world.Put, Key: "z", Value: "1"})

		// Every member reaches the same revision and KV hash.
		conv := w.Converge(30 * time.Second)
		if !conv.Available || !conv.Converged || len(conv.Members) != 4 {
			t.Fatalf("convergence: %+v", conv)
		}
		// A learner converges too (etcd serves learners no HashKV: the
		// check must not take that for a member that never converges).
		var n7 world.NodeID
		retry(t, "add a learner", func() (err error) { n7, err = w.AddNode(true); return err })
		mustDo(t, c, l, world.Op{Kind: world.Put, Key: "z", Value: "2"})
		if conv := w.Converge(30 * time.Second); !conv.Converged || len(conv.Members) != 5 {
			t.Fatalf("convergence with learner %s: %+v", n7, conv)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
}
