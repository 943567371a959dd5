package nemesis

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/splitbrain/splitbrain/harness/history"
	"github.com/splitbrain/splitbrain/harness/raftkv"
	"github.com/splitbrain/splitbrain/harness/raftnode"
	"github.com/splitbrain/splitbrain/harness/sim"
	"github.com/splitbrain/splitbrain/harness/world"
)

// spy is a sim world that remembers the faults it was asked for, so tests
// can check exactly what the nemesis installed.
type spy struct {
	*sim.World
	reach   world.Reach
	packets []world.Packet
	rates   []rateCall
	crashes map[world.NodeID]world.DiskFate
	// addDelay makes AddNode take that much longer, as a membership change
	// waiting out a timeout does.
	addDelay time.Duration
}

func (s *spy) AddNode(learner bool) (world.NodeID, error) {
	s.Sleep(s.addDelay)
	return s.World.AddNode(learner)
}

type rateCall struct {
	at   time.Duration
	id   world.NodeID
	rate float64
}

func (s *spy) SetReach(r world.Reach) error { s.reach = r; return s.World.SetReach(r) }
func (s *spy) SetPacket(p world.Packet) error {
	s.packets = append(s.packets, p)
	return s.World.SetPacket(p)
}
func (s *spy) SetClockRate(id world.NodeID, rate float64) error {
	s.rates = append(s.rates, rateCall{s.Now(), id, rate})
	return s.World.SetClockRate(id, rate)
}
func (s *spy) Crash(id world.NodeID, fate world.DiskFate) error {
	s.crashes[id] = fate
	return s.World.Crash(id, fate)
}

// simTest is a simulated 5-node cluster with a history recorder.
// executeWithWriter executes s while a client writes key k to every node
// in turn, every 10ms, and lets settle pass before it stops the writer.
// Call it inside the world's Run.
func (st *simTest) executeWithWriter(s Schedule, settle time.Duration) {
	stop := false
	g := st.w.NewGroup()
	g.Go("writer", func() {
		c := st.w.Client()
		for i := 0; !stop; i++ {
			nodes := st.w.Nodes()
			c.Do(nodes[i%len(nodes)], world.Op{Kind: world.Put, Key: "k", Value: fmt.Sprint(i)}, time.Second)
			st.w.Sleep(10 * time.Millisecond)
		}
	})
	if err := Execute(st.w, s, st.rec); err != nil {
		st.t.Fatal(err)
	}
	if settle > 0 {
		st.w.Sleep(settle)
	}
	stop = true
	g.Wait()
}

type simTest struct {
	t   *testing.T
	w   *spy
	rec *history.Recorder
}

func newSimTest(t *testing.T, seed uint64) *simTest {
	t.Helper()
	return newSimTestN(t, seed, 5)
}

func newSimTestN(t *testing.T, seed uint64, nodes int) *simTest {
	t.Helper()
	w, err := sim.New(sim.Config{Seed: seed, Nodes: nodes, System: raftkv.System(nil), Node: raftnode.Config{SnapshotEvery: 20, CompactKeep: 5}})
	if err != nil {
		t.Fatal(err)
	}
	s := &spy{World: w, crashes: map[world.NodeID]world.DiskFate{}}
	rec, err := history.NewRecorder("", func() int64 { return int64(w.Now()) })
	if err != nil {
		t.Fatal(err)
	}
	return &simTest{t: t, w: s, rec: rec}
}

// run runs main as the world's main task, after letting a leader emerge.
func (st *simTest) run(main func()) {
	st.t.Helper()
	err := st.w.Run(func() {
		st.w.Sleep(3 * time.Second)
		main()
	})
	if err != nil {
		st.t.Fatalf("sim: %v", err)
	}
}

func (st *simTest) apply(text string) {
	st.t.Helper()
	s, err := ParseString("0s "+text, "test")
	if err != nil {
		st.t.Fatal(err)
	}
	if err := Apply(st.w, s.Events[0].Op, st.rec); err != nil {
		st.t.Fatal(err)
	}
}

// events returns the nemesis events recorded since index from, as
// "f value [error]" lines.
func (st *simTest) events(from int) []string {
	var out []string
	for _, e := range st.rec.Events()[from:] {
		line := e.F + " " + *e.Value
		if e.Error != "" {
			line += " [" + e.Error + "]"
		}
		out = append(out, line)
	}
	return out
}

func (st *simTest) leader() (world.NodeID, uint64) {
	st.t.Helper()
	id, ok := st.w.Leader()
	if !ok {
		st.t.Fatal("no leader")
	}
	s, _ := st.w.Status(id)
	return id, s.Term
}

func (st *simTest) up() (up, down []world.NodeID) {
	for _, id := range st.w.Nodes() {
		if _, ok := st.w.Status(id); ok {
			up = append(up, id)
		} else {
			down = append(down, id)
		}
	}
	return up, down
}

// write puts a value through the cluster, trying each node, and reports
// whether one acknowledged it.
func (st *simTest) write(key, value string) bool {
	c := st.w.Client()
	for range 5 {
		for _, id := range st.w.Nodes() {
			if c.Do(id, world.Op{Kind: world.Put, Key: key, Value: value}, time.Second).Outcome == world.OK {
				return true
			}
		}
	}
	return false
}

// checkWindowsClosed asserts that every fault window in the history was
// closed.
func (st *simTest) checkWindowsClosed() {
	st.t.Helper()
	for _, win := range history.FaultWindows(st.rec.Events()) {
		if win.End < 0 {
			st.t.Errorf("window %q never closed; history:\n%s", win.Label, strings.Join(st.events(0), "\n"))
		}
	}
}

func TestLeaderMinorityElectsANewLeader(t *testing.T) {
	st := newSimTest(t, 1)
	st.run(func() {
		old, term := st.leader()
		st.apply("partition leader-minority")
		for _, b := range st.w.Nodes() {
			n := 0
			for _, a := range st.w.Nodes() {
				if st.w.reach.Allows(a, b) && st.w.reach.Allows(b, a) {
					n++
				}
			}
			if want := map[bool]int{true: 2, false: 3}[b == old || st.w.reach.Allows(old, b)]; n != want {
				t.Errorf("%s is in a group of %d, want %d (old leader %s)", b, n, want, old)
			}
		}
		ev := st.events(0)
		if len(ev) != 1 || !strings.HasPrefix(ev[0], "partition leader-minority ["+old.String()+" ") {
			t.Fatalf("recorded %q, want the partition with the old leader %s first", ev, old)
		}
		st.w.Sleep(5 * time.Second)
		newID, newTerm := st.leader()
		if newID == old || st.w.reach.Allows(old, newID) {
			t.Fatalf("leader %s after the partition, old %s: want a new one on the majority side", newID, old)
		}
		if newTerm <= term {
			t.Fatalf("new leader's term %d, old %d", newTerm, term)
		}
		st.apply("heal")
		if !st.w.reach.Empty() || !st.w.packets[len(st.w.packets)-1].Zero() {
			t.Fatal("heal left cuts or packet faults")
		}
	})
	st.checkWindowsClosed()
}

func TestMajoritiesRingOnFiveNodes(t *testing.T) {
	st := newSimTest(t, 2)
	st.run(func() {
		st.apply("partition majorities-ring")
		nodes := st.w.Nodes()
		seen := map[string]world.NodeID{}
		for _, a := range nodes {
			var reaches []world.NodeID
			for _, b := range nodes {
				if a == b || st.w.reach.Allows(a, b) {
					reaches = append(reaches, b)
				}
			}
			if len(reaches) != 3 {
				t.Errorf("%s reaches %v, want itself and 2 others", a, reaches)
			}
			if other, dup := seen[fmt.Sprint(reaches)]; dup {
				t.Errorf("%s and %s reach the same set %v", other, a, reaches)
			}
			seen[fmt.Sprint(reaches)] = a
		}
	})
}

func TestOneWayCutsExactlyOneDirection(t *testing.T) {
	st := newSimTest(t, 3)
	st.run(func() {
		st.apply("partition one-way n1 n2")
		if got := st.w.reach.Links(); len(got) != 1 || got[0] != [2]world.NodeID{1, 2} {
			t.Fatalf("cut links %v, want only n1->n2", got)
		}
		if !st.w.reach.Allows(2, 1) {
			t.Fatal("n2->n1 was cut too")
		}
		l, _ := st.leader()
		st.apply("partition one-way leader followers")
		for _, a := range st.w.Nodes() {
			for _, b := range st.w.Nodes() {
				if want := !(a == l && b != l); a != b && st.w.reach.Allows(a, b) != want {
					t.Errorf("%s->%s allowed=%v, want %v (leader %s)", a, b, !want, want, l)
				}
			}
		}
		if ev := st.events(1); !strings.HasPrefix(ev[0], "partition one-way ["+l.String()+"] -/-> ") {
			t.Errorf("recorded %q", ev)
		}
	})
}

func TestKillMinorityAndRestart(t *testing.T) {
	st := newSimTest(t, 4)
	st.run(func() {
		st.apply("kill minority")
		up, down := st.up()
		if len(down) != 2 || len(up) != 3 {
			t.Fatalf("after kill minority: up %v, down %v", up, down)
		}
		for _, id := range down {
			if st.w.crashes[id] != world.KeepWritten {
				t.Errorf("%s crashed with %s, want keep-written", id, st.w.crashes[id])
			}
		}
		if !st.write("k", "v") {
			t.Fatal("the majority could not take a write")
		}
		st.apply("restart all")
		if up, down := st.up(); len(down) != 0 || len(up) != 5 {
			t.Fatalf("after restart all: up %v, down %v", up, down)
		}
		want := []string{"kill " + down[0].String(), "kill " + down[1].String(), "restart " + down[0].String(), "restart " + down[1].String()}
		if got := st.events(0); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("history %q, want %q", got, want)
		}
		// Nothing left to restart: a note, not a restart event.
		st.apply("restart all")
		if ev := st.events(4); len(ev) != 1 || !strings.HasPrefix(ev[0], "note restart all [no node matches all") {
			t.Fatalf("restart with nothing crashed recorded %q", ev)
		}
		st.apply("restart n2")
		if ev := st.events(5); len(ev) != 1 || !strings.Contains(ev[0], "n2 skipped: not crashed by the nemesis") {
			t.Fatalf("explicit restart of a running node recorded %q", ev)
		}
	})
	st.checkWindowsClosed()
	if ws := history.FaultWindows(st.rec.Events()); len(ws) != 4 { // two kills, two notes
		t.Fatalf("windows %+v", ws)
	}
}

func TestPauseAndResume(t *testing.T) {
	st := newSimTest(t, 5)
	st.run(func() {
		l, _ := st.leader()
		st.apply("pause leader")
		if _, ok := st.w.Status(l); ok {
			t.Fatal("the paused leader still answers")
		}
		st.apply("pause majority") // among the 4 unpaused
		if up, _ := st.up(); len(up) != 1 {
			t.Fatalf("after pausing the leader and a majority: up %v", up)
		}
		st.apply("resume all")
		if up, _ := st.up(); len(up) != 5 {
			t.Fatalf("after resume all: up %v", up)
		}
	})
	st.checkWindowsClosed()
}

func TestSkewStrobeAndReset(t *testing.T) {
	st := newSimTest(t, 6)
	st.run(func() {
		st.apply("skew n1 0.5")
		st.apply("strobe n2 0.25 4 200ms")
		start := st.w.Now()
		st.w.Sleep(1100 * time.Millisecond)
		st.apply("clock-reset all")
		resetAt := st.w.Now()
		st.w.Sleep(time.Second)
		var n2 []rateCall
		for _, c := range st.w.rates {
			if c.id == 2 {
				n2 = append(n2, c)
			}
		}
		// low at once, then high, low, high, low every 200ms, then 1.
		if len(n2) != 7 {
			t.Fatalf("n2's rate calls %+v", n2)
		}
		for i, c := range n2[:6] {
			if want := []float64{0.25, 4}[i%2]; c.rate != want || c.at != start+time.Duration(i)*200*time.Millisecond {
				t.Errorf("call %d: %+v, want rate %v at %v", i, c, want, start+time.Duration(i)*200*time.Millisecond)
			}
		}
		if last := n2[6]; last.rate != 1 || last.at != resetAt {
			t.Errorf("the reset %+v, want rate 1 at %v and nothing after", last, resetAt)
		}
		if got := st.events(0); fmt.Sprint(got) != "[clock n1 rate 0.5 clock n2 strobe 0.25/4 every 200ms clock-reset n1 clock-reset n2]" {
			t.Errorf("history %q", got)
		}
	})
	st.checkWindowsClosed()
}

func TestDiskFaults(t *testing.T) {
	st := newSimTest(t, 7)
	st.run(func() {
		st.apply("lose-unsynced n1")
		st.apply("torn-write n2")
		if st.w.crashes[1] != world.LoseUnsynced || st.w.crashes[2] != world.TornWrite {
			t.Fatalf("fates %v", st.w.crashes)
		}
		st.apply("restart all")
		if up, _ := st.up(); len(up) != 5 {
			t.Fatalf("after restart: up %v", up)
		}
		st.apply("wipe n3")
		if st.w.crashes[3] != world.Wipe {
			t.Fatalf("fates %v", st.w.crashes)
		}
		st.apply("restart n3")
		nodes := st.w.Nodes()
		if len(nodes) != 5 || nodes[4] != 6 || nodes[2] == 3 {
			t.Fatalf("after restarting the wiped n3: members %v, want n3 replaced by n6", nodes)
		}
		want := []string{"remove-node n3 (cannot restart: ", "add-node n6 voter (replaces n3)", "restart n3 replaced by n6"}
		got := st.events(5)
		for i := range want {
			if i >= len(got) || !strings.HasPrefix(got[i], want[i]) {
				t.Fatalf("history after the wipe %q, want %q", got, want)
			}
		}
		st.w.Sleep(3 * time.Second)
		if !st.write("k", "after-replace") {
			t.Fatal("the cluster with the replacement takes no writes")
		}
		if s, ok := st.w.Status(6); !ok || s.Learner {
			t.Fatalf("n6 status %+v %v, want a running voter", s, ok)
		}
	})
	st.checkWindowsClosed()
}

func TestMembership(t *testing.T) {
	st := newSimTest(t, 8)
	st.run(func() {
		st.apply("add-node learner")
		st.w.Sleep(time.Second)
		if s, ok := st.w.Status(6); !ok || !s.Learner {
			t.Fatalf("n6 %+v %v, want a learner", s, ok)
		}
		st.apply("promote one")
		st.w.Sleep(time.Second)
		if s, _ := st.w.Status(6); s.Learner || len(s.Voters) != 6 {
			t.Fatalf("after promote: %+v", s)
		}
		st.apply("remove-node n6")
		st.apply("replace n1")
		if nodes := st.w.Nodes(); fmt.Sprint(nodes) != "[n2 n3 n4 n5 n7]" {
			t.Fatalf("members %v", nodes)
		}
		want := "[add-node n6 learner promote n6 remove-node n6 remove-node n1 (replace) add-node n7 voter (replaces n1)]"
		if got := st.events(0); fmt.Sprint(got) != want {
			t.Fatalf("history %q\nwant %s", got, want)
		}
		// Without a quorum, membership changes fail; the failure is
		// recorded and the schedule goes on.
		st.apply("kill majority")
		before := len(st.rec.Events())
		st.apply("add-node")
		st.apply("remove-node n2")
		ev := st.events(before)
		if len(ev) != 2 || !strings.Contains(ev[0], "[") || !strings.Contains(ev[1], "[") {
			t.Fatalf("membership without quorum recorded %q, want two events with errors", ev)
		}
		HealAll(st.w, st.rec)
	})
}

func TestPacketFaults(t *testing.T) {
	st := newSimTest(t, 9)
	st.run(func() {
		l, _ := st.leader()
		st.apply("packet loss=0.2 dup=0.05 reorder=0.1 delay=20ms jitter=10ms links=all")
		st.apply("packet loss=1 links=leader")
		st.apply("packet delay=5ms links=n1->n2")
		p := st.w.packets
		if len(p) != 3 || p[0].Links != nil || p[0].Loss != 0.2 || p[0].Duplicate != 0.05 || p[0].Reorder != 0.1 || p[0].Delay != 20*time.Millisecond || p[0].Jitter != 10*time.Millisecond {
			t.Fatalf("packet calls %+v", p)
		}
		if len(p[1].Links) != 8 {
			t.Fatalf("links of the leader: %v, want 4 out and 4 in", p[1].Links)
		}
		for _, link := range p[1].Links {
			if (link[0] == l) == (link[1] == l) {
				t.Fatalf("link %v does not touch the leader %s", link, l)
			}
		}
		if fmt.Sprint(p[2].Links) != "[[n1 n2]]" {
			t.Fatalf("explicit links %v", p[2].Links)
		}
		// Every message to and from the leader is lost: someone else leads.
		st.w.Sleep(5 * time.Second)
		if nl, ok := st.w.Leader(); ok && nl == l {
			t.Fatalf("%s still leads with all its packets lost", l)
		}
		ev := st.events(1)[0]
		links, ok := strings.CutPrefix(ev, "packet loss=1 links=")
		if !ok || strings.Count(links, ",") != 7 {
			t.Fatalf("recorded %q, want the 8 resolved links", ev)
		}
		for _, link := range strings.Split(links, ",") {
			if a, b, _ := strings.Cut(link, "->"); (a == l.String()) == (b == l.String()) {
				t.Fatalf("recorded link %s does not touch the leader %s", link, l)
			}
		}
		st.apply("heal")
		if !st.w.packets[3].Zero() {
			t.Fatal("heal did not clear packet faults")
		}
	})
	st.checkWindowsClosed()
}

func TestSnapshotIsolateCatchesUpBySnapshot(t *testing.T) {
	st := newSimTest(t, 10)
	var follower world.NodeID
	st.run(func() {
		stop := false
		g := st.w.NewGroup()
		g.Go("writer", func() {
			c := st.w.Client()
			for i := 0; !stop; i++ {
				l, ok := st.w.Leader()
				if !ok {
					st.w.Sleep(100 * time.Millisecond)
					continue
				}
				c.Do(l, world.Op{Kind: world.Put, Key: fmt.Sprint("k", i%3), Value: fmt.Sprint(i)}, time.Second)
			}
		})
		st.apply("snapshot-isolate one gap=100")
		ev := st.events(0)
		if len(ev) != 1 || !strings.HasPrefix(ev[0], "partition snapshot-isolate [") {
			t.Fatalf("recorded %q", ev)
		}
		follower = world.NodeID(0)
		fmt.Sscanf(strings.TrimPrefix(ev[0], "partition snapshot-isolate [n"), "%d", &follower)
		for len(st.rec.Events()) == 1 {
			st.w.Sleep(100 * time.Millisecond)
		}
		healed := st.events(1)
		if !strings.HasPrefix(healed[0], "heal snapshot-isolate of ["+follower.String()+"] ended: leader ") || strings.Contains(healed[0], "timed out") {
			t.Fatalf("recorded %q, want a heal once the leader is 100 entries ahead", healed)
		}
		st.w.Sleep(3 * time.Second)
		stop = true
		g.Wait()
		st.w.Sleep(2 * time.Second)
		l, _ := st.leader()
		ls, _ := st.w.Status(l)
		fs, ok := st.w.Status(follower)
		if !ok || fs.Applied != ls.Applied {
			t.Fatalf("follower %s applied %d, leader %s %d: not caught up", follower, fs.Applied, l, ls.Applied)
		}
	})
	dir := t.TempDir()
	if err := st.w.WriteLogs(dir); err != nil {
		t.Fatal(err)
	}
	log := readFile(t, dir+"/"+follower.String()+".log")
	if !strings.Contains(log, "installed snapshot") {
		t.Fatalf("%s caught up without installing a snapshot", follower)
	}
	st.checkWindowsClosed()
}

func TestSnapshotIsolateTimesOut(t *testing.T) {
	st := newSimTest(t, 11)
	st.run(func() {
		st.apply("snapshot-isolate one timeout=2s") // no writes: the gap never opens
		st.w.Sleep(2500 * time.Millisecond)
		ev := st.events(1)
		if len(ev) != 1 || !strings.Contains(ev[0], "timed out after 2s") {
			t.Fatalf("recorded %q", ev)
		}
		if !st.w.reach.Empty() {
			t.Fatal("still isolated after the timeout")
		}
	})
}

func TestHealAllUndoesEverything(t *testing.T) {
	st := newSimTest(t, 12)
	st.run(func() {
		for _, op := range []string{"partition bridge", "packet loss=0.5 links=all", "kill one", "pause one",
			"skew one 2", "strobe one 0.5 2 100ms", "wipe one", "torn-write one"} {
			st.apply(op)
		}
		HealAll(st.w, st.rec)
		if up, down := st.up(); len(up) != 5 || len(down) != 0 {
			t.Fatalf("after heal-all: up %v, down %v", up, down)
		}
		if !st.w.reach.Empty() || !st.w.packets[len(st.w.packets)-1].Zero() {
			t.Fatal("network not healed")
		}
		last := map[world.NodeID]float64{}
		for _, c := range st.w.rates {
			last[c.id] = c.rate
		}
		n := len(st.w.rates)
		st.w.Sleep(time.Second)
		members := map[world.NodeID]bool{}
		for _, id := range st.w.Nodes() {
			members[id] = true
		}
		for id, r := range last {
			if r != 1 && members[id] { // a node replaced after a wipe is gone: its clock is moot
				t.Errorf("%s's clock left at rate %v", id, r)
			}
		}
		if len(st.w.rates) != n {
			t.Error("a strobe went on after heal-all")
		}
		if !st.write("k", "healed") {
			t.Fatal("the healed cluster takes no writes")
		}
	})
	st.checkWindowsClosed()
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, ok := registry[st.w]; ok {
		t.Error("heal-all left the world in the registry")
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// historyJSON runs a schedule on a fresh sim world and returns the
// history's JSON lines.
func historyJSON(t *testing.T, seed uint64, s Schedule) []byte {
	st := newSimTest(t, seed)
	st.run(func() {
		if err := Execute(st.w, s, st.rec); err != nil {
			t.Fatal(err)
		}
	})
	var b bytes.Buffer
	for _, e := range st.rec.Events() {
		line, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func TestExecuteIsDeterministic(t *testing.T) {
	s, err := ParseString(`4.0s partition random-halves
6.0s heal
6.0s kill random
7.0s pause one
8.0s restart all
8.0s resume all
9.0s packet loss=0.3 links=one
10.0s partition bridge
11.0s heal-all
`, "det.txt")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]uint64{}
	for seed := uint64(1); seed <= 4; seed++ {
		a, b := historyJSON(t, seed, s), historyJSON(t, seed, s)
		if !bytes.Equal(a, b) {
			t.Fatalf("seed %d: histories differ:\n%s\n---\n%s", seed, a, b)
		}
		seen[string(a)] = seed
	}
	if len(seen) < 3 {
		t.Fatalf("4 seeds gave %d distinct histories: targets do not depend on the seed", len(seen))
	}
}

func TestExecuteUntilStops(t *testing.T) {
	st := newSimTest(t, 13)
	st.run(func() {
		s := Schedule{Events: []Event{
			{At: 4 * time.Second, Op: Op{Kind: Kill, Target: Sel(One)}},
			{At: 60 * time.Second, Op: Op{Kind: Restart, Target: Sel(All)}},
		}}
		err := ExecuteUntil(st.w, s, st.rec, func() bool { return st.w.Now() >= 10*time.Second })
		if err != nil {
			t.Fatal(err)
		}
		if now := st.w.Now(); now < 10*time.Second || now > 10*time.Second+pollEvery {
			t.Fatalf("returned at %v, want within 100ms of 10s", now)
		}
		if ev := st.events(0); len(ev) != 1 {
			t.Fatalf("events %q: the restart at 60s ran", ev)
		}
		HealAll(st.w, st.rec)
	})
	st.checkWindowsClosed()
}

func TestExecuteRejectsMalformedSchedules(t *testing.T) {
	st := newSimTest(t, 14)
	st.run(func() {
		bad := Schedule{Events: []Event{{At: time.Second, Op: Op{Kind: Kill}}}}
		if err := Execute(st.w, bad, st.rec); err == nil {
			t.Fatal("a kill without a target ran")
		}
	})
}

// TestGeneratedSchedulesRunClean executes generated schedules of every
// family on the sim, with a writer: no invariant breaks, every fault
// window closes, every node ends up running.
func TestGeneratedSchedulesRunClean(t *testing.T) {
	for seed := uint64(1); seed <= 6; seed++ {
		s := Generate(seed, GenOptions{Duration: 40 * time.Second})
		st := newSimTest(t, seed)
		st.run(func() {
			st.executeWithWriter(s, 5*time.Second)
			if up, down := st.up(); len(down) != 0 || len(up) < 3 {
				t.Errorf("seed %d: after the schedule up %v, down %v\n%s", seed, up, down, s)
			}
		})
		st.checkWindowsClosed()
	}
}

// TestTargetCounts: minority is ⌊(n-1)/2⌋ nodes, majority ⌊n/2⌋+1, one
// is one, all is all, followers are all but the leader, and random is a
// non-empty subset whose size varies with the seed.
func TestTargetCounts(t *testing.T) {
	randomSizes := map[int]bool{}
	for n := 3; n <= 7; n++ {
		for seed := uint64(1); seed <= 3; seed++ {
			st := newSimTestN(t, seed, n)
			st.run(func() {
				for _, tc := range []struct {
					target string
					want   int
				}{{"one", 1}, {"minority", (n - 1) / 2}, {"majority", n/2 + 1}, {"all", n}, {"leader", 1}, {"followers", n - 1}, {"random", -1}} {
					st.apply("pause " + tc.target)
					_, down := st.up()
					if tc.want < 0 {
						if len(down) == 0 {
							t.Errorf("n=%d: pause random paused nobody", n)
						}
						randomSizes[len(down)] = true
					} else if len(down) != tc.want {
						t.Errorf("n=%d: pause %s paused %v, want %d nodes", n, tc.target, down, tc.want)
					}
					st.apply("resume all")
					st.w.Sleep(3 * time.Second) // a new leader, if the old one was paused
				}
			})
		}
	}
	if len(randomSizes) < 3 {
		t.Errorf("random targets had sizes %v only", randomSizes)
	}
}

// TestRemovedNodeClosesItsFaults: a node removed while crashed, paused or
// skewed takes its faults with it, and their windows close.
func TestRemovedNodeClosesItsFaults(t *testing.T) {
	st := newSimTest(t, 15)
	st.run(func() {
		st.apply("pause n2")
		st.apply("skew n2 2")
		st.apply("kill n3")
		st.apply("remove-node n2")
		st.apply("remove-node n3")
		want := "[pause n2 clock n2 rate 2 kill n3 remove-node n2 resume n2 (removed from the cluster) clock-reset n2 (removed from the cluster) " +
			"remove-node n3 restart n3 (removed from the cluster)]"
		if got := fmt.Sprint(st.events(0)); got != want {
			t.Fatalf("history %s\nwant    %s", got, want)
		}
		n := len(st.rec.Events())
		HealAll(st.w, st.rec)
		if ev := st.events(n); len(ev) != 1 {
			t.Fatalf("heal-all found more to do: %q", ev)
		}
	})
	st.checkWindowsClosed()
}

// TestCrashWhileAWatcherEnds: a snapshot-isolate watcher that heals and
// lets go of the world's state while a kill waits for a leader must not
// lose that kill. (It did: the state was dropped from under the waiting
// executor, the crash went into an orphan, the restart found nothing to
// restart, and a later kill of the node that was still down opened a
// window no restart closed: seed 216's "never healed".)
func TestCrashWhileAWatcherEnds(t *testing.T) {
	st := newSimTest(t, 3)
	st.run(func() {
		// (The schedule's times count from the start of the sim; run lets a
		// leader emerge for 3s first.) Every message lost from 3.1s: the
		// leader steps down (CheckQuorum) and the kill at 6s waits for an
		// election, which comes only after the watcher's heal at 7s (and
		// before the restart is due at 9s: no op waits past the next
		// event's time).
		s, err := ParseString(`3.0s snapshot-isolate one gap=100000 timeout=4s
3.1s packet loss=1
6.0s kill leader
9.0s restart all
`, "race.txt")
		if err != nil {
			t.Fatal(err)
		}
		if err := Execute(st.w, s, st.rec); err != nil {
			t.Fatal(err)
		}
		ev := st.events(0)
		kill := -1
		for i, e := range ev {
			if strings.HasPrefix(e, "kill ") {
				kill = i
			}
		}
		heal := slices.IndexFunc(ev, func(e string) bool { return strings.HasPrefix(e, "heal snapshot-isolate") })
		if kill < 0 || heal < 0 || heal > kill {
			t.Fatalf("want the watcher's heal before the kill (the kill waiting for a leader meanwhile): %q", ev)
		}
		if len(ev) != kill+2 || !strings.HasPrefix(ev[kill+1], "restart ") {
			t.Fatalf("the kill was not followed by its restart: %q", ev)
		}
		if up, down := st.up(); len(down) != 0 {
			t.Fatalf("after the schedule: up %v, down %v", up, down)
		}
	})
	st.checkWindowsClosed()
}

// TestCrashOfADownNodeIsANote: a node that went down without the nemesis
// (here the test crashes it behind the nemesis's back) is not crashed
// again, nor paused: the kill and the pause are recorded as notes and open
// no window; a paused node can still be killed.
func TestCrashOfADownNodeIsANote(t *testing.T) {
	st := newSimTest(t, 4)
	st.run(func() {
		if err := st.w.World.Crash(2, world.KeepWritten); err != nil {
			t.Fatal(err)
		}
		st.apply("kill n2")
		st.apply("pause n2")
		st.apply("pause n3")
		st.apply("kill n3")
		want := "[note kill n2 [n2 skipped: already down (it does not answer, and the nemesis has not paused it)] " +
			"note pause n2 [n2 skipped: already down (it does not answer, and the nemesis has not paused it)] pause n3 kill n3]"
		if got := fmt.Sprint(st.events(0)); got != want {
			t.Fatalf("history %s\nwant    %s", got, want)
		}
		if err := st.w.World.Restart(2); err != nil {
			t.Fatal(err)
		}
		HealAll(st.w, st.rec)
	})
	st.checkWindowsClosed()
}

// TestConnectedMajorityCountsVoters: the connected-majority note on a
// partition counts voters as the cluster knows them. After n2 is removed
// and a learner n6 added, "halves" splits [n1 n3] | [n4 n5 n6]: three
// nodes, but only two of the four voters, so no majority (it was noted as
// one, and liveness then demanded writes of a side that cannot elect).
func TestConnectedMajorityCountsVoters(t *testing.T) {
	st := newSimTest(t, 1)
	st.run(func() {
		st.apply("partition halves")
		st.apply("heal")
		st.apply("remove-node n2")
		st.apply("add-node learner")
		st.w.Sleep(time.Second)
		st.apply("partition halves")
		st.apply("heal")
	})
	want := []string{
		"partition halves [n1 n2] | [n3 n4 n5] {connected majority n3 n4 n5}",
		"heal heal",
		"remove-node n2",
		"add-node n6 learner",
		"partition halves [n1 n3] | [n4 n5 n6]",
		"heal heal",
	}
	if got := st.events(0); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("history\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestRemoveCountsVoters: a learner that does not answer (paused) is no
// voter, so removing one of three voters is refused; removing the learner
// is fine.
func TestRemoveCountsVoters(t *testing.T) {
	st := newSimTestN(t, 2, 3)
	st.run(func() {
		st.apply("add-node learner")
		st.w.Sleep(time.Second)
		st.apply("pause n4")
		n := len(st.rec.Events())
		st.apply("remove-node n2")
		if got := fmt.Sprint(st.events(n)); got != "[note remove-node n2 [n2 kept: only 2 voters would be left]]" {
			t.Fatalf("remove-node n2 with three voters and a paused learner: %s", got)
		}
		st.apply("resume n4")
		st.apply("remove-node n4")
		if fmt.Sprint(st.w.Nodes()) != "[n1 n2 n3]" {
			t.Fatalf("members %v after removing the learner", st.w.Nodes())
		}
	})
	st.checkWindowsClosed()
}

// TestWipeKeepsAQuorumToReplaceIt: with two voters (n2 removed behind the
// nemesis's back), wiping one would leave its replacement without the
// quorum it needs, for good: the wipe is refused with a note. With three
// voters it goes ahead, and the wiped node is replaced.
func TestWipeKeepsAQuorumToReplaceIt(t *testing.T) {
	st := newSimTestN(t, 2, 3)
	st.run(func() {
		if err := st.w.World.RemoveNode(2); err != nil {
			t.Fatal(err)
		}
		// The leader answers once it applied the removal; the others
		// apply it when they learn its commit, and until then the
		// voters the cluster knows are the larger set.
		st.w.Sleep(time.Second)
		st.apply("wipe n3")
		if got := fmt.Sprint(st.events(0)); got != "[note wipe n3 [n3 kept: only 1 of the 2 voters would be back to replace it]]" {
			t.Fatalf("wipe with two voters: %s", got)
		}
		st.apply("add-node")
		st.w.Sleep(time.Second)
		n := len(st.rec.Events())
		st.apply("wipe n3")
		st.apply("restart n3")
		if got := st.events(n); len(got) != 4 || got[0] != "wipe n3" || got[3] != "restart n3 replaced by n5" {
			t.Fatalf("wipe with three voters: %q", got)
		}
	})
	st.checkWindowsClosed()
}

// failing is a sim world whose crashes and pauses report an error: with
// done set, after carrying them out (a world that failed partway), else
// without doing anything (a refusal).
type failing struct {
	*spy
	done bool
}

var errPartway = errors.New("did not exit in time")

func (f *failing) Crash(id world.NodeID, fate world.DiskFate) error {
	if f.done {
		f.spy.Crash(id, fate)
	}
	return errPartway
}

func (f *failing) Pause(id world.NodeID) error {
	if f.done {
		f.spy.Pause(id)
	}
	return errPartway
}

// TestWorldErrors: a crash or pause the world refused is recorded with
// its error, opens no window and is not undone; one the world reported an
// error for but carried out (the node no longer answers) counts as done:
// recorded plainly after a note with the error, and undone by heal-all.
func TestWorldErrors(t *testing.T) {
	for _, done := range []bool{false, true} {
		st := newSimTest(t, 5)
		w := &failing{spy: st.w, done: done}
		st.run(func() {
			for _, op := range []string{"kill n1", "pause n2"} {
				s, _ := ParseString("0s "+op, "t")
				if err := Apply(w, s.Events[0].Op, st.rec); err != nil {
					t.Fatal(err)
				}
			}
			want := "[kill n1 [did not exit in time] pause n2 [did not exit in time]]"
			if done {
				want = "[note kill n1 [n1: did not exit in time (it does not answer since: counted as done)] kill n1 " +
					"note pause n2 [n2: did not exit in time (it does not answer since: counted as done)] pause n2]"
			}
			if got := fmt.Sprint(st.events(0)); got != want {
				t.Fatalf("done=%v: history %s\nwant %s", done, got, want)
			}
			n := len(st.rec.Events())
			HealAll(w, st.rec)
			if up, down := st.up(); len(down) != 0 {
				t.Fatalf("done=%v: after heal-all up %v down %v", done, up, down)
			}
			if healed := st.events(n); done != (len(healed) == 3) {
				t.Fatalf("done=%v: heal-all did %q", done, healed)
			}
		})
		st.checkWindowsClosed()
	}
}

// TestNoRemovalOrWipeWithoutKnownQuorum: while a wiped node awaits its
// replacement no voter is removed (campaign seed 86 with 2 clients: n4 and
// then the leader n3 were removed, and the voters left never learned that
// n3 was gone, so n5 could never be replaced); and with every member
// paused the voters are unknown, so nothing is wiped.
func TestNoRemovalOrWipeWithoutKnownQuorum(t *testing.T) {
	st := newSimTest(t, 6)
	st.run(func() {
		st.apply("wipe n5")
		n := len(st.rec.Events())
		st.apply("remove-node n4")
		if got := fmt.Sprint(st.events(n)); got != "[note remove-node n4 [n4 kept: [n5] still wiped and not yet replaced]]" {
			t.Fatalf("remove-node with n5 wiped: %s", got)
		}
		st.apply("restart n5")
		st.apply("pause all")
		n = len(st.rec.Events())
		st.apply("wipe n1")
		if got := fmt.Sprint(st.events(n)); got != "[note wipe n1 [n1 kept: no member answers, so the voters are unknown]]" {
			t.Fatalf("wipe with every member paused: %s", got)
		}
		HealAll(st.w, st.rec)
	})
	st.checkWindowsClosed()
}

// TestDiskStallHoldsWritesUntilUnstalled: with a majority's disks stalled
// the cluster commits nothing, though every node runs and answers; once
// the stall ends the write that waited commits (the stalled nodes had
// received it), and the windows pair up.
func TestDiskStallHoldsWritesUntilUnstalled(t *testing.T) {
	st := newSimTest(t, 5)
	st.run(func() {
		st.apply("stall-disk majority")
		if up, _ := st.up(); len(up) != 5 {
			t.Fatalf("stalled disks stopped nodes: up %v", up)
		}
		l, _ := st.leader()
		c := st.w.Client()
		if r := c.Do(l, world.Op{Kind: world.Put, Key: "k", Value: "during"}, 2*time.Second); r.Outcome == world.OK {
			t.Fatalf("a write committed with a majority's disks stalled: %+v", r)
		}
		st.apply("unstall-disk all")
		st.w.Sleep(3 * time.Second)
		read := 0
		for _, id := range st.w.Nodes() {
			r := c.Do(id, world.Op{Kind: world.Get, Key: "k"}, time.Second)
			if r.Outcome != world.OK {
				continue
			}
			if read++; r.Value == nil || *r.Value != "during" {
				t.Fatalf("%s reads %v after the stall: the write that waited was lost", id, r.Value)
			}
		}
		if read == 0 {
			t.Fatal("no node answered a read after the stall")
		}
		st.apply("stall-disk n2")
		n := len(st.rec.Events())
		HealAll(st.w, st.rec)
		if ev := st.events(n); fmt.Sprint(ev) != "[heal heal-all unstall-disk n2]" {
			t.Errorf("heal-all did %q, want the stall of n2 ended", ev)
		}
	})
	var stalls, unstalls int
	for _, line := range st.events(0) {
		stalls += strings.Count(line, "stall-disk ") - strings.Count(line, "unstall-disk ")
		unstalls += strings.Count(line, "unstall-disk ")
	}
	if stalls != 4 || unstalls != 4 {
		t.Errorf("%d stalls and %d unstalls recorded, want 4 each:\n%s", stalls, unstalls, strings.Join(st.events(0), "\n"))
	}
	st.checkWindowsClosed()
}

// TestRankedTargetsFollowTheMembers: @k is the k-th member in ID order
// when the op runs, so a ranked target still acts after the cluster's
// nodes were replaced (where n2 would be skipped, gone for good).
func TestRankedTargetsFollowTheMembers(t *testing.T) {
	st := newSimTest(t, 21)
	st.run(func() {
		st.apply("wipe n2")
		st.apply("restart all") // n2 replaced by n6: members n1 n3 n4 n5 n6
		if got := fmt.Sprint(st.w.Nodes()); got != "[n1 n3 n4 n5 n6]" {
			t.Fatalf("members after the replacement: %s", got)
		}
		n := len(st.rec.Events())
		st.apply("kill @2,@5")
		st.apply("restart @2,@5")
		st.apply("kill @6")
		want := "[kill n3 kill n6 restart n3 restart n6 note kill @6 [@6 skipped: the cluster has 5 members]]"
		if got := fmt.Sprint(st.events(n)); got != want {
			t.Fatalf("history %s\nwant    %s", got, want)
		}
	})
	st.checkWindowsClosed()
	for _, bad := range []string{"kill @0", "kill @1,@1", "kill @x", "kill @1,n2"} {
		if _, err := ParseString("1.0s "+bad, "t"); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// TestEntriesBlackHoleLeavesAFollowerBehind: with only=entries, a
// follower whose appends are lost still hears its leader (no election,
// same term) but applies nothing new; behind then names it; heal lets it
// catch up. Without the class the same loss cuts it off entirely.
func TestEntriesBlackHoleLeavesAFollowerBehind(t *testing.T) {
	st := newSimTestN(t, 3, 3)
	st.run(func() {
		l, term := st.leader()
		var f world.NodeID
		for _, id := range st.w.Nodes() {
			if id != l {
				f = id
				break
			}
		}
		st.apply(fmt.Sprintf("packet loss=1 only=entries links=%s", f))
		if p := st.w.packets[len(st.w.packets)-1]; p.Only != world.Entries || len(p.Links) != 4 {
			t.Fatalf("installed %+v, want entries only on the 4 links of %s", p, f)
		}
		before, _ := st.w.Status(f)
		for i := range 20 {
			if !st.write("k", fmt.Sprint(i)) {
				t.Fatalf("write %d failed: the other two should commit it", i)
			}
		}
		st.w.Sleep(3 * time.Second) // three election timeouts
		lead, _ := st.w.Status(l)
		fs, ok := st.w.Status(f)
		if !ok || fs.Leader != l || fs.Term != term {
			t.Fatalf("%s: %+v, want it still following %s in term %d (heartbeats pass)", f, fs, l, term)
		}
		if fs.Applied != before.Applied || lead.Applied < before.Applied+20 {
			t.Fatalf("%s applied %d → %d while the leader reached %d: entries reached it", f, before.Applied, fs.Applied, lead.Applied)
		}
		st.apply("packet delay=1ms links=behind")
		if p := st.w.packets[len(st.w.packets)-1]; len(p.Links) != 4 || p.Links[0][0] != f && p.Links[0][1] != f {
			t.Fatalf("behind resolved to the links %v, want those of %s", p.Links, f)
		}
		st.apply("heal")
		st.w.Sleep(time.Second)
		if fs, _ := st.w.Status(f); fs.Applied < lead.Applied {
			t.Fatalf("%s applied %d a second after the heal, want %d", f, fs.Applied, lead.Applied)
		}
		st.apply(fmt.Sprintf("packet loss=1 links=%s", f))
		st.w.Sleep(3 * time.Second)
		if fs, ok := st.w.Status(f); ok && fs.Leader == l && fs.Term == term {
			t.Fatalf("%s still follows %s in term %d with every message lost", f, l, term)
		}
		st.apply("heal")
	})
	st.checkWindowsClosed()
}

// TestMajorityLeavesOneRunning: killing or pausing a majority counts the
// members already down and leaves one running, with a note; with every
// member running it takes ⌊n/2⌋+1 as always.
func TestMajorityLeavesOneRunning(t *testing.T) {
	st := newSimTestN(t, 6, 3)
	st.run(func() {
		st.apply("kill n1")
		n := len(st.rec.Events())
		st.apply("pause majority")
		if up, _ := st.up(); len(up) != 1 {
			t.Fatalf("up %v after pausing a majority with n1 down: want one member left running", up)
		}
		ev := st.events(n)
		if len(ev) != 2 || !strings.Contains(ev[0], "1 of 3 members already down: 1 taken, one left running") || !strings.HasPrefix(ev[1], "pause ") {
			t.Fatalf("recorded %q, want the note then one pause", ev)
		}
		st.apply("resume all")
		st.apply("kill majority")
		if up, _ := st.up(); len(up) != 1 {
			t.Fatalf("up %v after killing a majority with n1 down", up)
		}
		st.apply("restart all")
		st.w.Sleep(2 * time.Second)
		st.apply("kill majority")
		if up, _ := st.up(); len(up) != 1 {
			t.Fatalf("up %v after killing a majority of 3 running members: want 2 killed", up)
		}
		st.apply("restart all")
	})
	st.checkWindowsClosed()
}
