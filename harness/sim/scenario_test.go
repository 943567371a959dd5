package sim

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
	"github.com/splitbrain/splitbrain/harness/raftkv"
	"github.com/splitbrain/splitbrain/harness/world"
)

// TestScenarios replays the scripts in testdata/scenarios: the classic
// situations of the raft literature, each step's output checked against
// the golden text in the script. Regenerate with -rewrite and review the
// diff.
//
// Commands:
//
//	cluster nodes=N [seed=S] [snapshot-every=N] [compact-keep=N]
//	run DURATION                 advance virtual time
//	status                       every node's raft state
//	leader                       the current leader
//	partition n1 n2 | n3 n4 n5   cut the groups from each other
//	cut n1 n2                    cut the link n1→n2 (one way)
//	isolate-leader               cut the leader from everyone
//	heal
//	put NODE KEY VALUE [timeout=D]    a blocking write, prints its outcome
//	put-async NAME NODE KEY VALUE [timeout=D]   a write in the background
//	await NAME                   wait for a background write, print it
//	get NODE KEY [timeout=D]
//	crash NODE [fate=lose-unsynced] / restart NODE
//	add-node [learner] / remove-node NODE / promote NODE
//	log NODE [from=I]            the node's written log
func TestScenarios(t *testing.T) {
	datadriven.Walk(t, "testdata/scenarios", func(t *testing.T, path string) {
		s := &scenario{t: t, async: map[string]*asyncOp{}}
		defer s.stop()
		datadriven.RunTest(t, path, s.handle)
	})
}

type asyncOp struct {
	done bool
	res  world.Result
	desc string
}

type scenario struct {
	t     *testing.T
	d     *driver
	async map[string]*asyncOp
	// roles names nodes by their part in the last split, so that scripts
	// do not depend on which node the seed elects: old-leader, a1, a2 (the
	// others on the old leader's side), b1, b2, … (the other side).
	roles map[string]world.NodeID
}

func (s *scenario) stop() {
	if s.d != nil {
		if err := s.d.close(); err != nil {
			s.t.Errorf("run ended with: %v", err)
		}
	}
}

func (s *scenario) handle(t *testing.T, td *datadriven.TestData) string {
	if td.Cmd != "cluster" && s.d == nil {
		t.Fatalf("%s: no cluster yet", td.Pos)
	}
	var out string
	switch td.Cmd {
	case "cluster":
		out = s.cluster(t, td)
	case "run":
		d := s.duration(t, td, 0)
		s.d.do(func() { s.d.w.Sleep(d) })
	case "status":
		out = s.status()
	case "leader":
		s.d.do(func() {
			if id, ok := s.d.w.Leader(); ok {
				out = id.String()
			} else {
				out = "none"
			}
		})
	case "partition":
		var groups [][]world.NodeID
		var cur []world.NodeID
		for _, a := range td.CmdArgs {
			if a.Key == "|" {
				groups, cur = append(groups, cur), nil
				continue
			}
			cur = append(cur, s.nodeID(t, a.Key))
		}
		groups = append(groups, cur)
		s.d.do(func() { s.d.w.SetReach(world.Groups(groups...)) })
	case "cut":
		a, b := s.nodeID(t, td.CmdArgs[0].Key), s.nodeID(t, td.CmdArgs[1].Key)
		s.d.do(func() {
			var r world.Reach
			r.Cut(a, b)
			s.d.w.SetReach(r)
		})
	case "split":
		out = s.split(t, td)
	case "isolate":
		id := s.nodeID(t, td.CmdArgs[0].Key)
		s.d.do(func() {
			var rest []world.NodeID
			for _, n := range s.d.w.Nodes() {
				if n != id {
					rest = append(rest, n)
				}
			}
			s.d.w.SetReach(world.Groups([]world.NodeID{id}, rest))
		})
		out = "isolated " + id.String()
	case "put-many":
		node := s.nodeID(t, td.CmdArgs[0].Key)
		n, err := strconv.Atoi(td.CmdArgs[1].Key)
		if err != nil {
			t.Fatal(err)
		}
		counts := map[world.Outcome]int{}
		s.d.do(func() {
			cl := s.d.w.Client()
			for i := 1; i <= n; i++ {
				counts[cl.Do(node, world.Op{Kind: world.Put, Key: "many", Value: strconv.Itoa(i)}, 2*time.Second).Outcome]++
			}
		})
		out = fmt.Sprintf("put-many %s: ok %d fail %d unknown %d", node, counts[world.OK], counts[world.Fail], counts[world.Unknown])
	case "isolate-leader":
		s.d.do(func() {
			l, ok := s.d.w.Leader()
			if !ok {
				out = "no leader"
				return
			}
			var rest []world.NodeID
			for _, id := range s.d.w.Nodes() {
				if id != l {
					rest = append(rest, id)
				}
			}
			s.d.w.SetReach(world.Groups([]world.NodeID{l}, rest))
			out = "isolated " + l.String()
		})
	case "heal":
		s.d.do(func() { s.d.w.SetReach(world.Reach{}); s.d.w.SetPacket(world.Packet{}) })
	case "put", "get", "put-async":
		out = s.op(t, td)
	case "await":
		a := s.async[td.CmdArgs[0].Key]
		if a == nil {
			t.Fatalf("%s: no background op %q", td.Pos, td.CmdArgs[0].Key)
		}
		for !a.done && !s.d.ended {
			s.d.do(func() { s.d.w.Sleep(100 * time.Millisecond) })
		}
		out = fmt.Sprintf("%s: %s", a.desc, fmtResult(a.res, false))
	case "crash":
		id := s.nodeID(t, td.CmdArgs[0].Key)
		fate := world.LoseUnsynced
		if td.HasArg("fate") {
			var f string
			td.ScanArgs(t, "fate", &f)
			fate = parseFate(t, f)
		}
		s.d.do(func() { s.d.w.Crash(id, fate) })
	case "restart":
		id := s.nodeID(t, td.CmdArgs[0].Key)
		s.d.do(func() {
			if err := s.d.w.Restart(id); err != nil {
				out = "error: " + err.Error()
			}
		})
	case "add-node":
		learner := td.HasArg("learner")
		s.d.do(func() {
			id, err := s.d.w.AddNode(learner)
			out = "added " + id.String()
			if err != nil {
				out += ": " + err.Error()
			}
		})
	case "remove-node", "promote":
		id := s.nodeID(t, td.CmdArgs[0].Key)
		s.d.do(func() {
			var err error
			if td.Cmd == "promote" {
				err = s.d.w.PromoteNode(id)
			} else {
				err = s.d.w.RemoveNode(id)
			}
			out = "ok"
			if err != nil {
				out = "error: " + err.Error()
			}
		})
	case "log":
		out = s.log(t, td)
	default:
		t.Fatalf("%s: unknown command %q", td.Pos, td.Cmd)
	}
	if s.d.err != nil {
		out += fmt.Sprintf("\nRUN STOPPED: %v", s.d.err)
	}
	if out != "" && !strings.HasSuffix(out, "\n") {
		out += "\n"
	}
	return out
}

// split partitions the cluster around the current leader: with
// leader-majority the leader keeps a majority, with leader-minority it is
// left with a minority while the majority elects anew.
func (s *scenario) split(t *testing.T, td *datadriven.TestData) string {
	var out string
	s.d.do(func() {
		l, ok := s.d.w.Leader()
		if !ok {
			out = "no leader"
			return
		}
		var others []world.NodeID
		for _, n := range s.d.w.Nodes() {
			if n != l {
				others = append(others, n)
			}
		}
		size := len(others) + 1
		keep := size/2 + 1 - 1 // majority, counting the leader
		if td.CmdArgs[0].Key == "leader-minority" {
			keep = (size-1)/2 - 1
		} else if td.CmdArgs[0].Key != "leader-majority" {
			t.Fatalf("%s: split leader-majority or leader-minority", td.Pos)
		}
		a := append([]world.NodeID{l}, others[:keep]...)
		b := others[keep:]
		s.d.w.SetReach(world.Groups(a, b))
		s.roles = map[string]world.NodeID{"old-leader": l}
		var an, bn []string
		for i, n := range a[1:] {
			s.roles[fmt.Sprint("a", i+1)] = n
			an = append(an, fmt.Sprintf("a%d=%s", i+1, n))
		}
		for i, n := range b {
			s.roles[fmt.Sprint("b", i+1)] = n
			bn = append(bn, fmt.Sprintf("b%d=%s", i+1, n))
		}
		out = fmt.Sprintf("old-leader=%s %s | %s", l, strings.Join(an, " "), strings.Join(bn, " "))
	})
	return out
}

func (s *scenario) cluster(t *testing.T, td *datadriven.TestData) string {
	cfg := Config{Seed: 1, Nodes: 3, System: raftkv.System(nil)}
	for _, a := range td.CmdArgs {
		n, err := strconv.Atoi(a.Vals[0])
		if err != nil {
			t.Fatalf("%s: %s: %v", td.Pos, a.Key, err)
		}
		switch a.Key {
		case "nodes":
			cfg.Nodes = n
		case "seed":
			cfg.Seed = uint64(n)
		case "snapshot-every":
			cfg.Node.SnapshotEvery = uint64(n)
		case "compact-keep":
			cfg.Node.CompactKeep = uint64(n)
		default:
			t.Fatalf("%s: unknown argument %q", td.Pos, a.Key)
		}
	}
	d, err := startDriver(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.d = d
	return ""
}

func (s *scenario) duration(t *testing.T, td *datadriven.TestData, i int) time.Duration {
	d, err := time.ParseDuration(td.CmdArgs[i].Key)
	if err != nil {
		t.Fatalf("%s: %v", td.Pos, err)
	}
	return d
}

func (s *scenario) nodeID(t *testing.T, name string) world.NodeID {
	if name == "leader" {
		var id world.NodeID
		s.d.do(func() { id, _ = s.d.w.Leader() })
		if id == 0 {
			t.Fatalf("no leader now")
		}
		return id
	}
	if id, ok := s.roles[name]; ok {
		return id
	}
	id, err := world.ParseNodeID(name)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func parseFate(t *testing.T, f string) world.DiskFate {
	for i := world.KeepWritten; i <= world.Wipe; i++ {
		if i.String() == f {
			return i
		}
	}
	t.Fatalf("unknown disk fate %q", f)
	return 0
}

func fmtResult(r world.Result, read bool) string {
	s := r.Outcome.String()
	if r.Value != nil {
		s += " " + strconv.Quote(*r.Value)
	} else if r.Outcome == world.OK && read {
		s += " nil"
	}
	if r.Err != "" {
		s += " (" + r.Err + ")"
	}
	return s
}

func (s *scenario) op(t *testing.T, td *datadriven.TestData) string {
	args := td.CmdArgs
	var name string
	if td.Cmd == "put-async" {
		name, args = args[0].Key, args[1:]
	}
	node := s.nodeID(t, args[0].Key)
	op := world.Op{Kind: world.Get, Key: args[1].Key}
	if td.Cmd != "get" {
		op = world.Op{Kind: world.Put, Key: args[1].Key, Value: args[2].Key}
	}
	timeout := 2 * time.Second
	if td.HasArg("timeout") {
		var ts string
		td.ScanArgs(t, "timeout", &ts)
		var err error
		if timeout, err = time.ParseDuration(ts); err != nil {
			t.Fatal(err)
		}
	}
	desc := fmt.Sprintf("%s %s %s", td.Cmd, node, op.Key)
	if op.Kind == world.Put {
		desc = fmt.Sprintf("put %s %s=%s", node, op.Key, op.Value)
	}
	if name != "" {
		a := &asyncOp{desc: desc}
		s.async[name] = a
		s.d.do(func() {
			s.d.w.Go(name, func() {
				a.res = s.d.w.Client().Do(node, op, timeout)
				a.done = true
			})
		})
		return ""
	}
	var res world.Result
	s.d.do(func() { res = s.d.w.Client().Do(node, op, timeout) })
	return fmt.Sprintf("%s: %s", desc, fmtResult(res, op.Kind == world.Get))
}

func (s *scenario) status() string {
	var b strings.Builder
	for _, id := range s.d.w.order {
		sn := s.d.w.nodes[id]
		fmt.Fprintf(&b, "%s: ", id)
		switch {
		case !sn.member:
			b.WriteString("removed\n")
			continue
		case !sn.up():
			b.WriteString("down")
		default:
			st := sn.node.Status()
			fmt.Fprintf(&b, "%s term=%d lead=%d commit=%d applied=%d", strings.TrimPrefix(st.State.String(), "State"), st.Term, st.Lead, st.Commit, st.Applied)
			for _, l := range st.Learners {
				if l == uint64(id) {
					b.WriteString(" learner")
				}
			}
		}
		log := sn.disk.written
		fmt.Fprintf(&b, " last=%d snap=%d", log.LastIndex(), log.Snapshot.GetMetadata().GetIndex())
		if sn.paused {
			b.WriteString(" paused")
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func (s *scenario) log(t *testing.T, td *datadriven.TestData) string {
	sn := s.d.w.nodes[s.nodeID(t, td.CmdArgs[0].Key)]
	from := uint64(0)
	if td.HasArg("from") {
		td.ScanArgs(t, "from", &from)
	}
	var lines []string
	d := sn.disk.written
	if si := d.Snapshot.GetMetadata().GetIndex(); si > 0 {
		lines = append(lines, fmt.Sprintf("snapshot %d/%d", si, d.Snapshot.GetMetadata().GetTerm()))
	}
	for _, e := range d.Entries {
		if e.GetIndex() >= from {
			lines = append(lines, fmt.Sprintf("%d/%d %s", e.GetIndex(), e.GetTerm(), raftkv.DescribeEntry(e)))
		}
	}
	return strings.Join(lines, "\n")
}
