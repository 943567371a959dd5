package proc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/splitbrain/splitbrain/harness/raftkv"
	"github.com/splitbrain/splitbrain/harness/world"
)

// newTestWorld starts a world of n nodes with fast ticks.
func newTestWorld(t *testing.T, n int, mod func(*Config)) *World {
	t.Helper()
	cfg := Config{Nodes: n, Binary: nodeBinary, Dir: t.TempDir(), TickPeriod: 20 * time.Millisecond, Seed: 1,
		Node: raftkv.Config{SnapshotEvery: 20, CompactKeep: 5, RequestTimeoutTicks: 50}}
	if mod != nil {
		mod(&cfg)
	}
	w, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := w.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		assertGone(t, w)
	})
	return w
}

// assertGone fails if any process or nftables table of w is left.
func assertGone(t *testing.T, w *World) {
	t.Helper()
	for pid, tag := range runProcesses() {
		if tag.String() == w.Tag() {
			t.Errorf("process %d of run %s still runs after Close", pid, w.Tag())
		}
	}
	if w.TableName() != "" {
		names, err := splitbrainTables()
		if err != nil {
			t.Error(err)
		}
		if slices.Contains(names, w.TableName()) {
			t.Errorf("nft table %s still exists after Close", w.TableName())
		}
	}
}

// waitLeader waits for a leader other than except (see waitFor: no
// wall-clock bound).
func waitLeader(t *testing.T, w *World, except ...world.NodeID) world.NodeID {
	t.Helper()
	var id world.NodeID
	waitFor(t, fmt.Sprintf("a leader other than %v", except), func() bool {
		l, ok := w.Leader()
		id = l
		return ok && !slices.Contains(except, l)
	})
	return id
}

// mustDo retries op via node until it is ok (see waitFor: no wall-clock
// bound; each try has the client's timeout, which only ends the try).
func mustDo(t *testing.T, c world.Client, node world.NodeID, op world.Op) world.Result {
	t.Helper()
	var res world.Result
	waitFor(t, fmt.Sprintf("%v via %s to be ok", op, node), func() bool {
		res = c.Do(node, op, 2*time.Second)
		return res.Outcome == world.OK
	})
	return res
}

func get(t *testing.T, c world.Client, node world.NodeID, key string) string {
	t.Helper()
	res := mustDo(t, c, node, world.Op{Kind: world.Get, Key: key})
	if res.Value == nil {
		return "<absent>"
	}
	return *res.Value
}

func put(t *testing.T, c world.Client, node world.NodeID, key, value string) {
	t.Helper()
	mustDo(t, c, node, world.Op{Kind: world.Put, Key: key, Value: value})
}

func other(ids []world.NodeID, not ...world.NodeID) world.NodeID {
	for _, id := range ids {
		if !slices.Contains(not, id) {
			return id
		}
	}
	return 0
}

func TestWorldServesAndSurvivesCrash(t *testing.T) {
	requireRoot(t)
	w := newTestWorld(t, 3, nil)
	err := w.Run(func() {
		c := w.Client()
		l := waitLeader(t, w)
		put(t, c, l, "x", "1")
		f := other(w.Nodes(), l)
		if got := get(t, c, f, "x"); got != "1" {
			t.Fatalf("get x via follower %s = %s", f, got)
		}
		st, ok := w.Status(l)
		if !ok || st.State != "StateLeader" || len(st.Voters) != 3 || st.ID != l {
			t.Fatalf("leader status %+v %v", st, ok)
		}
		// Crash the leader (SIGKILL): the others elect another and serve;
		// the old leader restarts from its store and catches up.
		if err := w.Crash(l, world.KeepWritten); err != nil {
			t.Fatal(err)
		}
		if _, ok := w.Status(l); ok {
			t.Fatal("a crashed node answers its status")
		}
		if res := c.Do(l, world.Op{Kind: world.Put, Key: "x", Value: "lost"}, time.Second); res.Outcome != world.Fail {
			t.Fatalf("a write to a crashed node: %+v, want fail (connection refused)", res)
		}
		l2 := waitLeader(t, w, l)
		put(t, c, l2, "x", "2")
		if err := w.Restart(l); err != nil {
			t.Fatal(err)
		}
		if got := get(t, c, l, "x"); got != "2" {
			t.Fatalf("restarted %s reads x = %s", l, got)
		}
		// Unsupported fates say so.
		if err := w.Crash(l, world.LoseUnsynced); !errors.Is(err, world.ErrUnsupported) {
			t.Fatalf("lose-unsynced: %v", err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	// The node logs are in Dir/logs and tell the story.
	b, err := os.ReadFile(filepath.Join(w.Dir(), "logs", "n1.log"))
	if err != nil || !strings.Contains(string(b), "msg=serving") {
		t.Fatalf("n1.log: %v\n%s", err, b)
	}
	out := t.TempDir()
	if err := w.WriteLogs(out); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(out, "n3.log")); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteLogs(filepath.Join(w.Dir(), "logs")); err != nil { // its own directory: nothing to copy
		t.Fatal(err)
	}
}

func TestWorldPauseAndPartition(t *testing.T) {
	requireRoot(t)
	w := newTestWorld(t, 5, nil)
	err := w.Run(func() {
		c := w.Client()
		l := waitLeader(t, w)
		put(t, c, l, "k", "0")
		// A paused node answers nothing; reads through it fail, writes
		// through it are unknown.
		f := other(w.Nodes(), l)
		if err := w.Pause(f); err != nil {
			t.Fatal(err)
		}
		if _, ok := w.Status(f); ok {
			t.Fatal("a paused node answers its status")
		}
		if res := c.Do(f, world.Op{Kind: world.Get, Key: "k"}, 300*time.Millisecond); res.Outcome != world.Fail {
			t.Fatalf("read via a paused node: %+v", res)
		}
		// The kernel accepts the connection for the stopped process, so
		// the request is sent and its answer never comes: unknown. A
		// request not even sent within its timeout (a loaded machine) is
		// an honest fail that tells nothing here: it is tried again with
		// a longer timeout.
		res := c.Do(f, world.Op{Kind: world.Put, Key: "k", Value: "p"}, 300*time.Millisecond)
		for d := 600 * time.Millisecond; res.Outcome == world.Fail && res.Refused; d = min(2*d, 30*time.Second) {
			t.Logf("write via a paused node not sent within its timeout (%s); again with %v", res.Err, d)
			time.Sleep(100 * time.Millisecond)
			res = c.Do(f, world.Op{Kind: world.Put, Key: "k", Value: "p"}, d)
		}
		if res.Outcome != world.Unknown {
			t.Fatalf("write via a paused node: %+v", res)
		}
		put(t, c, l, "k", "1")
		if err := w.Resume(f); err != nil {
			t.Fatal(err)
		}
		if got := get(t, c, f, "k"); got != "1" && got != "p" {
			t.Fatalf("resumed node reads k = %s", got)
		}

		// Isolate the leader with one follower: the majority elects a new
		// leader and serves; the minority cannot.
		ids := w.Nodes()
		l = waitLeader(t, w)
		minority := []world.NodeID{l, other(ids, l)}
		var majority []world.NodeID
		for _, id := range ids {
			if !slices.Contains(minority, id) {
				majority = append(majority, id)
			}
		}
		if err := w.SetReach(world.Groups(minority, majority)); err != nil {
			t.Fatal(err)
		}
		nl := waitLeader(t, w, minority...)
		if !slices.Contains(majority, nl) {
			t.Fatalf("new leader %s is not in the majority %v", nl, majority)
		}
		put(t, c, nl, "k", "majority")
		if res := c.Do(minority[1], world.Op{Kind: world.Get, Key: "k"}, 500*time.Millisecond); res.Outcome == world.OK {
			t.Fatalf("the minority served a read during the partition: %+v", res)
		}
		if err := w.SetReach(world.Reach{}); err != nil {
			t.Fatal(err)
		}
		if got := get(t, c, minority[1], "k"); got != "majority" {
			t.Fatalf("after the heal the minority reads %s", got)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestWorldOneWayPartition(t *testing.T) {
	requireRoot(t)
	w := newTestWorld(t, 3, nil)
	err := w.Run(func() {
		c := w.Client()
		l := waitLeader(t, w)
		put(t, c, l, "k", "0")
		// Cut everything the leader sends; it still hears the others.
		var r world.Reach
		for _, id := range w.Nodes() {
			if id != l {
				r.Cut(l, id)
			}
		}
		if err := w.SetReach(r); err != nil {
			t.Fatal(err)
		}
		nl := waitLeader(t, w, l)
		put(t, c, nl, "k", "1")
		if err := w.SetReach(world.Reach{}); err != nil {
			t.Fatal(err)
		}
		if got := get(t, c, l, "k"); got != "1" {
			t.Fatalf("old leader reads %s after the heal", got)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestWorldMembership(t *testing.T) {
	requireRoot(t)
	w := newTestWorld(t, 3, nil)
	err := w.Run(func() {
		c := w.Client()
		l := waitLeader(t, w)
		for i := 0; i < 30; i++ { // past a snapshot: the new node catches up by one
			put(t, c, l, "m", fmt.Sprint(i))
		}
		id, err := w.AddNode(true)
		if err != nil {
			t.Fatal(err)
		}
		if id != 4 || !slices.Equal(w.Nodes(), []world.NodeID{1, 2, 3, 4}) {
			t.Fatalf("added %s; nodes %v", id, w.Nodes())
		}
		waitFor(t, "n4 to be a learner", func() bool { st, ok := w.Status(id); return ok && st.Learner })
		if err := w.PromoteNode(id); err != nil {
			t.Fatal(err)
		}
		if got := get(t, c, id, "m"); got != "29" {
			t.Fatalf("new node reads m = %s", got)
		}
		l = waitLeader(t, w)
		if err := w.RemoveNode(l); err != nil {
			t.Fatal(err)
		}
		if slices.Contains(w.Nodes(), l) {
			t.Fatalf("removed %s is still listed: %v", l, w.Nodes())
		}
		nl := waitLeader(t, w, l)
		put(t, c, nl, "m", "after")
		if got := get(t, c, id, "m"); got != "after" {
			t.Fatalf("after the removal n4 reads %s", got)
		}
		if err := w.Restart(l); err == nil {
			t.Fatal("restarting a removed node succeeded")
		}
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestWorldWipeLosesData(t *testing.T) {
	requireRoot(t)
	w := newTestWorld(t, 3, nil)
	err := w.Run(func() {
		c := w.Client()
		l := waitLeader(t, w)
		put(t, c, l, "k", "v")
		f := other(w.Nodes(), l)
		if err := w.Crash(f, world.Wipe); err != nil {
			t.Fatal(err)
		}
		err := w.Restart(f)
		if !errors.Is(err, raftkv.ErrDataLost) {
			t.Fatalf("restart after a wipe: %v, want ErrDataLost", err)
		}
		// The nemesis replaces it: remove, add a new node.
		if err := w.RemoveNode(f); err != nil {
			t.Fatal(err)
		}
		id, err := w.AddNode(false)
		if err != nil {
			t.Fatal(err)
		}
		if got := get(t, c, id, "k"); got != "v" {
			t.Fatalf("the replacement reads %s", got)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestWorldPacketFaults(t *testing.T) {
	requireRoot(t)
	w := newTestWorld(t, 3, nil)
	err := w.Run(func() {
		c := w.Client()
		l := waitLeader(t, w)
		put(t, c, l, "k", "0")
		// 150ms on every link: a write needs a round trip to a follower.
		if err := w.SetPacket(world.Packet{Delay: 150 * time.Millisecond}); err != nil {
			t.Fatal(err)
		}
		l = waitLeader(t, w)
		start := time.Now()
		res := c.Do(l, world.Op{Kind: world.Put, Key: "k", Value: "slow"}, 5*time.Second)
		if d := time.Since(start); res.Outcome == world.OK && d < 150*time.Millisecond {
			t.Fatalf("a write under 150ms link delay took %v", d)
		}
		if err := w.SetPacket(world.Packet{}); err != nil {
			t.Fatal(err)
		}
		// Loss is kernel packet loss; with 100% on every link nothing moves.
		if err := w.SetPacket(world.Packet{Loss: 1}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond)
		if res := c.Do(l, world.Op{Kind: world.Put, Key: "k", Value: "x"}, 500*time.Millisecond); res.Outcome == world.OK {
			t.Fatalf("a write committed with every link dropping all packets: %+v", res)
		}
		if err := w.SetPacket(world.Packet{}); err != nil {
			t.Fatal(err)
		}
		put(t, c, waitLeader(t, w), "k", "healed")
		// A clock rate reaches the node.
		if err := w.SetClockRate(l, 2.5); err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(filepath.Join(w.Dir(), "logs", l.String()+".log"))
		if !strings.Contains(string(b), "clock rate set") || !strings.Contains(string(b), "rate=2.5") {
			t.Fatalf("%s.log does not show the clock rate", l)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestWorldWithoutNetFaults runs without nftables (and without root).
func TestWorldWithoutNetFaults(t *testing.T) {
	w := newTestWorld(t, 1, func(c *Config) { c.NoNetFaults = true })
	err := w.Run(func() {
		var r world.Reach
		r.Cut(1, 2)
		if err := w.SetReach(r); !errors.Is(err, world.ErrUnsupported) || !strings.Contains(err.Error(), "--no-net-faults") {
			t.Fatalf("SetReach without nftables: %v", err)
		}
		if err := w.SetReach(world.Reach{}); err != nil {
			t.Fatalf("healing without nftables: %v", err)
		}
		if err := w.SetPacket(world.Packet{Loss: 0.1}); !errors.Is(err, world.ErrUnsupported) {
			t.Fatalf("loss without nftables: %v", err)
		}
		if err := w.SetPacket(world.Packet{Delay: time.Millisecond}); err != nil {
			t.Fatalf("delay without nftables: %v", err)
		}
		if err := w.SetPacket(world.Packet{Delay: time.Millisecond, Only: world.Entries}); !errors.Is(err, world.ErrUnsupported) || !strings.Contains(err.Error(), "entries") {
			t.Fatalf("a fault confined to the entries: %v, want it refused (the kernel cannot tell them apart)", err)
		}
		put(t, w.Client(), waitLeader(t, w), "k", "v")
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestWorldReportsUnexpectedExit(t *testing.T) {
	requireRoot(t)
	w := newTestWorld(t, 1, nil)
	err := w.Run(func() {
		waitLeader(t, w)
		n := w.lookup(1)
		w.mu.Lock()
		p := n.proc
		w.mu.Unlock()
		p.Kill() // not through the world: an unexpected death
		for w.running(n) {
			time.Sleep(10 * time.Millisecond)
		}
	})
	if err == nil || !strings.Contains(err.Error(), "n1 exited unexpectedly") {
		t.Fatalf("Run after a node died on its own: %v", err)
	}
}

func TestWorldTaskPanic(t *testing.T) {
	w := newTestWorld(t, 1, func(c *Config) { c.NoNetFaults = true })
	err := w.Run(func() {
		g := w.NewGroup()
		g.Go("boom", func() { panic("boom") })
		g.Wait()
	})
	if err == nil || !strings.Contains(err.Error(), "task boom panicked: boom") {
		t.Fatalf("Run with a panicking task: %v", err)
	}
}

// TestPauseFreezesAtOnce: once Pause returns, the node answers nothing —
// SIGSTOP only takes effect as each thread enters the kernel, so Pause
// waits for every thread to stop.
func TestPauseFreezesAtOnce(t *testing.T) {
	requireRoot(t)
	w := newTestWorld(t, 3, nil)
	err := w.Run(func() {
		waitLeader(t, w)
		n := w.lookup(1)
		for i := 0; i < 10; i++ {
			if err := w.Pause(1); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			_, err := w.kv.Status(ctx, n.apiAddr)
			cancel()
			if err == nil {
				t.Fatalf("round %d: a paused node answered", i)
			}
			if err := w.Resume(1); err != nil {
				t.Fatal(err)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestNewFailsCleanly: a system whose nodes cannot start makes New fail
// with the node's exit, and leaves no table, process or directory behind
// (New's cleanup once panicked on the nil world it was about to return).
func TestNewFailsCleanly(t *testing.T) {
	requireRoot(t)
	s, err := ParseSystemFile("false.toml", []byte("start = [\"/bin/false\", \"{{.ID}}\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	// Only this process's tables: other test binaries (go test ./...
	// runs packages in parallel) create and remove their own meanwhile.
	_, before, _ := LeftoversOf(os.Getpid())
	w, err := New(Config{Nodes: 2, System: s, Binary: nodeBinary, NoWatchdog: true, StartTimeout: 5 * time.Second})
	if err == nil || w != nil || !strings.Contains(err.Error(), "exited during start") {
		t.Fatalf("New = %v, %v; want an error saying the node exited during start", w, err)
	}
	_, after, _ := LeftoversOf(os.Getpid())
	if len(after) > len(before) {
		t.Fatalf("tables before %v, after %v", before, after)
	}
}
