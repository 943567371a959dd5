package nemesis

import (
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/splitbrain/splitbrain/harness/world"
	"pgregory.net/rapid"
)

// canonical covers every kind and shape, in canonical text.
const canonical = `0.0s partition halves
0.5s partition random-halves
1.0s partition isolate n2
1.0s partition isolate leader
1.25s partition isolate-leader
2.0s partition leader-minority
2.0s partition leader-majority
2.0s partition majorities-ring
2.0s partition bridge
2.0s partition minority-third
2.0s partition one-way leader followers
2.0s partition one-way n1,n2 n3
3.0s heal
3.0s packet loss=0.2 dup=0.05 reorder=0.1 delay=20ms jitter=10ms links=all
3.0s packet delay=1.5s links=n1->n2,n3->n1
3.0s packet loss=1 links=leader
3.0s packet delay=500ms only=entries links=all
3.0s packet loss=1 only=entries links=behind
4.0s kill one
4.0s kill minority
4.0s kill majority
4.0s kill all
4.0s kill leader
4.0s kill followers
4.0s kill random
4.0s kill n1,n3
4.0s kill @1,@3
4.0s restart all
5.0s pause n5
5.0s resume all
6.0s skew leader 2
6.0s skew one 0.5
6.0s strobe minority 0.25 4 200ms
7.0s clock-reset all
8.0s lose-unsynced one
8.0s torn-write majority
8.0s wipe n3
8.0s stall-disk majority
8.0s unstall-disk all
9.0s add-node
9.0s add-node learner
9.0s remove-node one
9.0s promote one
9.0s replace leader
10.0s snapshot-isolate one
10.0s snapshot-isolate followers gap=50 timeout=30s
12.000000001s heal-all
`

func TestCanonicalTextRoundTrips(t *testing.T) {
	s, err := ParseString(canonical, "canonical.txt")
	if err != nil {
		t.Fatal(err)
	}
	if got := s.String(); got != canonical {
		t.Fatalf("print(parse(text)) differs:\n%s", diffLines(canonical, got))
	}
	seen := map[Kind]bool{}
	shapeSeen := map[Shape]bool{}
	for _, e := range s.Events {
		seen[e.Op.Kind] = true
		shapeSeen[e.Op.Shape] = true
	}
	for _, k := range kinds {
		if !seen[k] {
			t.Errorf("canonical text lacks kind %s", k)
		}
	}
	for _, sh := range shapes {
		if !shapeSeen[sh] {
			t.Errorf("canonical text lacks shape %s", sh)
		}
	}
	if got, want := s.Kinds(), Families(); !slices.Equal(got, sortedCopy(want)) {
		t.Errorf("Kinds() = %v, want every family %v", got, sortedCopy(want))
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
}

func sortedCopy(xs []string) []string { ys := slices.Clone(xs); slices.Sort(ys); return ys }

func diffLines(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < max(len(w), len(g)); i++ {
		var a, c string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			c = g[i]
		}
		if a != c {
			fmt.Fprintf(&b, "line %d: want %q, got %q\n", i+1, a, c)
		}
	}
	return b.String()
}

func TestParseAcceptsLooseText(t *testing.T) {
	text := "# nightly\n\n  5s   partition   leader-minority   # split\n8.0s heal\n10.500s kill leader\n\t12500ms restart all\n1m  heal-all"
	s, err := ParseString(text, "loose.txt")
	if err != nil {
		t.Fatal(err)
	}
	want := Schedule{Events: []Event{
		{5 * time.Second, Op{Kind: Partition, Shape: LeaderMinority}},
		{8 * time.Second, Op{Kind: Heal}},
		{10500 * time.Millisecond, Op{Kind: Kill, Target: Sel(Leader)}},
		{12500 * time.Millisecond, Op{Kind: Restart, Target: Sel(All)}},
		{time.Minute, Op{Kind: HealAllKind}},
	}}
	if !reflect.DeepEqual(s, want) {
		t.Fatalf("got %+v\nwant %+v", s, want)
	}
	const canon = "5.0s partition leader-minority\n8.0s heal\n10.5s kill leader\n12.5s restart all\n60.0s heal-all\n"
	if s.String() != canon {
		t.Fatalf("canonical form:\n%s\nwant\n%s", s, canon)
	}
}

func TestParseNormalizesArgOrder(t *testing.T) {
	s, err := ParseString("1s packet links=n3->n1,n1->n2 jitter=1ms loss=0.5\n2s kill n3,n1\n", "x")
	if err != nil {
		t.Fatal(err)
	}
	const want = "1.0s packet loss=0.5 jitter=1ms links=n1->n2,n3->n1\n2.0s kill n1,n3\n"
	if s.String() != want {
		t.Fatalf("got\n%swant\n%s", s, want)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"1s heal\n\n2s partition halfs\n", `nightly.txt:3: partition: unknown shape "halfs" (did you mean "halves"?) (want one of halves, random-halves, isolate, isolate-leader, leader-minority, leader-majority, majorities-ring, bridge, minority-third, one-way)`},
		{"5s heal\n4s heal\n", "nightly.txt:2: time 4.0s is before 5.0s of the event on line 1"},
		{"5s kil one", `nightly.txt:1: unknown operation "kil" (did you mean "kill"?)`},
		{"five heal", `nightly.txt:1: bad time "five"`},
		{"-1s heal", `nightly.txt:1: bad time "-1s"`},
		{"1s", "nightly.txt:1: 1s: missing operation"},
		{"1s kill", "nightly.txt:1: kill: takes one target, got 0 arguments"},
		{"1s kill someone", `nightly.txt:1: kill: bad target "someone"`},
		{"1s kill n1,n1", "nightly.txt:1: kill: bad target \"n1,n1\": n1 listed twice"},
		{"1s kill n0", `kill: bad target "n0": "n0" is not a node name`},
		{"1s kill minorty", `(did you mean "minority"?)`},
		{"1s heal now", `nightly.txt:1: heal: takes no arguments, got "now"`},
		{"1s partition", "nightly.txt:1: partition: missing shape"},
		{"1s partition isolate", "nightly.txt:1: partition: isolate takes 1 argument(s), got 0 (partition isolate <target>)"},
		{"1s partition halves n1", "partition: halves takes 0 argument(s), got 1"},
		{"1s partition one-way n1", "partition one-way <from-target> <to-target>"},
		{"1s packet", "nightly.txt:1: packet: no fault given"},
		{"1s packet loss=2", "packet: loss=2: want a probability between 0 and 1"},
		{"1s packet loss=NaN", "packet: loss=NaN: want a probability"},
		{"1s packet delay=-5ms", "packet: delay=-5ms: want a duration"},
		{"1s packet loss=0.1 loss=0.2", "packet: loss= given twice"},
		{"1s packet loss=0.1 links=n1->n1", `packet: links=n1->n1: bad link "n1->n1"`},
		{"1s packet loss=0.1 links=n1->n2,n1->n2", "link n1->n2 listed twice"},
		{"1s packet loss=1 only=heartbeats", `packet: only=heartbeats: unknown message class (want only=entries`},
		{"1s packet loss=0.1 speed=3", `packet: bad argument "speed=3" (want loss=… dup=… reorder=… delay=… jitter=… only=… links=…)`},
		{"1s skew one 0", `skew: rate "0": want a positive number`},
		{"1s skew one +Inf", `skew: rate "+Inf"`},
		{"1s skew one", "skew: want <target> <rate>"},
		{"1s strobe one 0.5 2 0s", `strobe: period "0s": want a positive duration`},
		{"1s add-node observer", `add-node: want nothing or "learner", got "observer"`},
		{"1s snapshot-isolate one gap=0", "snapshot-isolate: gap=0: want a positive number"},
		{"1s snapshot-isolate one timeout=x", `snapshot-isolate: timeout "x"`},
		{"1s snapshot-isolate", "snapshot-isolate: missing target"},
		{"1s heal\n2s heal\n3s wipe\n", "nightly.txt:3: wipe: takes one target"},
		{"1s heal \xff", "nightly.txt:1: line is not valid UTF-8"},
		{"99999999999999999999s heal", `bad time "99999999999999999999s"`},
	} {
		_, err := ParseString(tc.text, "nightly.txt")
		if err == nil {
			t.Errorf("%q: no error, want %q", tc.text, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "nightly.txt:") {
			t.Errorf("%q:\n got %q\nwant %q", tc.text, err, tc.want)
		}
	}
}

// opGen draws any well-formed op, including explicit node lists and
// parameters that are not the generator's nice values.
func opGen() *rapid.Generator[Op] {
	target := rapid.Custom(func(t *rapid.T) Target {
		if rapid.Bool().Draw(t, "explicit") {
			nodes := rapid.SliceOfNDistinct(rapid.Uint64Range(1, 12), 1, 4, rapid.ID).Draw(t, "nodes")
			ids := make([]world.NodeID, len(nodes))
			for i, n := range nodes {
				ids[i] = world.NodeID(n)
			}
			return Nodes(ids...)
		}
		return Sel(rapid.SampledFrom(selectors).Draw(t, "sel"))
	})
	prob := rapid.OneOf(rapid.Just(0.0), rapid.Float64Range(0, 1), rapid.Just(1.0))
	pos := rapid.OneOf(rapid.Float64Range(1e-3, 1e3), rapid.SampledFrom([]float64{0.5, 2, 1}))
	return rapid.Custom(func(t *rapid.T) Op {
		op := Op{Kind: rapid.SampledFrom(kinds).Draw(t, "kind")}
		switch op.Kind {
		case Partition:
			op.Shape = rapid.SampledFrom(shapes).Draw(t, "shape")
			if op.Shape == Isolate || op.Shape == OneWay {
				op.Target = target.Draw(t, "target")
			}
			if op.Shape == OneWay {
				op.To = target.Draw(t, "to")
			}
		case Packet:
			p := &op.Packet
			for p.Loss == 0 && p.Dup == 0 && p.Reorder == 0 && p.Delay == 0 && p.Jitter == 0 {
				p.Loss, p.Dup, p.Reorder = prob.Draw(t, "loss"), prob.Draw(t, "dup"), prob.Draw(t, "reorder")
				p.Delay = time.Duration(rapid.Int64Range(0, int64(time.Hour)).Draw(t, "delay"))
				p.Jitter = time.Duration(rapid.Int64Range(0, int64(time.Second)).Draw(t, "jitter"))
			}
			p.Only = rapid.SampledFrom(append([]world.Class{world.AllMessages}, world.Classes...)).Draw(t, "only")
			switch rapid.IntRange(0, 2).Draw(t, "links") {
			case 1:
				p.Of = target.Filter(func(x Target) bool { return x.Sel != All }).Draw(t, "of") // links=all means every link
			case 2:
				set := map[[2]world.NodeID]bool{}
				for _, l := range rapid.SliceOfN(rapid.Custom(func(t *rapid.T) [2]world.NodeID {
					a := rapid.Uint64Range(1, 9).Draw(t, "a")
					b := rapid.Uint64Range(1, 9).Filter(func(b uint64) bool { return b != a }).Draw(t, "b")
					return [2]world.NodeID{world.NodeID(a), world.NodeID(b)}
				}), 1, 5).Draw(t, "pairs") {
					set[l] = true
				}
				for l := range set {
					p.Links = append(p.Links, l)
				}
				slices.SortFunc(p.Links, func(x, y [2]world.NodeID) int {
					if c := cmpID(x[0], y[0]); c != 0 {
						return c
					}
					return cmpID(x[1], y[1])
				})
			}
		case Heal, HealAllKind:
		case AddNode:
			op.Learner = rapid.Bool().Draw(t, "learner")
		case Skew:
			op.Target, op.Rate = target.Draw(t, "target"), pos.Draw(t, "rate")
		case Strobe:
			op.Target, op.Low, op.High = target.Draw(t, "target"), pos.Draw(t, "low"), pos.Draw(t, "high")
			op.Period = time.Duration(rapid.Int64Range(1, int64(time.Minute)).Draw(t, "period"))
		case SnapshotIsolate:
			op.Target = target.Draw(t, "target")
			op.Gap = rapid.IntRange(0, 100000).Draw(t, "gap")
			op.Timeout = time.Duration(rapid.Int64Range(0, int64(time.Hour)).Draw(t, "timeout"))
		default:
			op.Target = target.Draw(t, "target")
		}
		return op
	})
}

func scheduleOfOps() *rapid.Generator[Schedule] {
	return rapid.Custom(func(t *rapid.T) Schedule {
		ops := rapid.SliceOf(opGen()).Draw(t, "ops")
		var s Schedule
		var at time.Duration
		for _, op := range ops {
			at += time.Duration(rapid.Int64Range(0, int64(10*time.Second)).Draw(t, "step_ns"))
			s.Events = append(s.Events, Event{At: at, Op: op})
		}
		return s
	})
}

// TestPrintParseRoundTrip: parse(print(s)) == s and print(parse(print(s)))
// == print(s), for arbitrary schedules and for generated ones.
func TestPrintParseRoundTrip(t *testing.T) {
	check := func(t *rapid.T, s Schedule) {
		text := s.String()
		back, err := ParseString(text, "printed.txt")
		if err != nil {
			t.Fatalf("printed schedule does not parse: %v\n%s", err, text)
		}
		if !reflect.DeepEqual(back, s) {
			t.Fatalf("parse(print(s)) != s\ntext:\n%s\ns:    %+v\nback: %+v", text, s, back)
		}
		if back.String() != text {
			t.Fatalf("print(parse(text)) != text:\n%s", diffLines(text, back.String()))
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("valid schedule fails Validate: %v", err)
		}
	}
	t.Run("any", func(t *testing.T) {
		rapid.Check(t, func(t *rapid.T) { check(t, scheduleOfOps().Draw(t, "schedule")) })
	})
	t.Run("generated", func(t *testing.T) {
		rapid.Check(t, func(t *rapid.T) {
			check(t, ScheduleGen(GenOptions{Duration: 60 * time.Second}).Draw(t, "schedule"))
		})
	})
}

func TestValidateRejectsMalformedOps(t *testing.T) {
	for _, op := range []Op{
		{Kind: "explode"},
		{Kind: Kill},
		{Kind: Kill, Target: Target{Sel: "some"}},
		{Kind: Skew, Target: Sel(One), Rate: -1},
		{Kind: Packet},
		{Kind: Packet, Packet: PacketSpec{Loss: 2}},
		{Kind: Partition, Shape: "circle"},
		{Kind: Heal, Target: Sel(One)},              // a field the kind does not use
		{Kind: Kill, Target: Target{Sel: Explicit}}, // no nodes
		{Kind: Kill, Target: Nodes(3, 1), Rate: 2},  // stray field
		{Kind: Kill, Target: Target{Sel: One, Nodes: []world.NodeID{1}}},
	} {
		if err := op.Validate(); err == nil {
			t.Errorf("%+v: Validate accepted it", op)
		}
	}
	bad := Schedule{Events: []Event{{At: 2 * time.Second, Op: Op{Kind: Heal}}, {At: time.Second, Op: Op{Kind: Heal}}}}
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "before the previous") {
		t.Errorf("out-of-order schedule: %v", err)
	}
}

var errorPlace = regexp.MustCompile(`^fuzz\.txt:[0-9]+: `)

func FuzzParse(f *testing.F) {
	f.Add(canonical)
	f.Add("# comment\n\n5s partition leader-minority\n8.0s heal\n")
	f.Add("1s packet loss=0.1 links=n1->n2,n2->n1\n")
	f.Add("1s packet loss=0.1 links=leader\n2s kill n1,n2\n")
	f.Add("1s packet loss=1 only=entries links=behind\n")
	f.Add("1s strobe one 0.5 2 200ms\n2.5s clock-reset all")
	f.Add("0.000000001s snapshot-isolate one gap=7 timeout=1h\n")
	f.Add("5s heal\n4s heal\n")
	f.Add("1.s heal\n.5s heal\n1e3s heal\n")
	f.Add("1s partition one-way n1 n2,n3\n")
	f.Add("1s kill @1,@3\n2s stall-disk @2\n3s unstall-disk all\n")
	f.Fuzz(func(t *testing.T, text string) {
		s, err := ParseString(text, "fuzz.txt")
		if err != nil {
			if !errorPlace.MatchString(err.Error()) {
				t.Fatalf("error without a line: %v", err)
			}
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("parsed schedule fails Validate: %v", err)
		}
		printed := s.String()
		back, err := ParseString(printed, "printed.txt")
		if err != nil {
			t.Fatalf("printed form does not parse: %v\n%s", err, printed)
		}
		if !reflect.DeepEqual(back, s) {
			t.Fatalf("round trip changed the schedule:\n%s", printed)
		}
		if back.String() != printed {
			t.Fatalf("printing is not stable:\n%s", diffLines(printed, back.String()))
		}
	})
}

// TestHelpIsInDoc keeps the vocabulary table in doc.go equal to Help()
// and checks that every row's example parses to its kind.
func TestHelpIsInDoc(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(doc), "\n") {
		if rest, ok := strings.CutPrefix(l, "//\t"); ok {
			lines = append(lines, rest)
		} else if l == "//" && len(lines) > 0 {
			lines = append(lines, "")
		} else if len(lines) > 0 && !strings.HasPrefix(l, "//") {
			break
		}
	}
	help := Help()
	if got := strings.Join(lines, "\n"); !strings.Contains(got+"\n", help[strings.Index(help, "Fault schedules"):]) {
		t.Fatalf("doc.go's vocabulary block is out of date; it should end with Help():\n%s", help)
	}
	covered := map[Kind]bool{}
	for _, v := range vocabulary {
		s, err := ParseString("1s "+v.example, "example")
		if err != nil {
			t.Errorf("example %q: %v", v.example, err)
			continue
		}
		op := s.Events[0].Op
		if kind, _, _ := strings.Cut(v.form, " "); string(op.Kind) != kind {
			t.Errorf("example %q is a %s, its row is %s", v.example, op.Kind, kind)
		}
		if op.Kind.Family() != v.family {
			t.Errorf("row %q says family %q, the kind's family is %q", v.form, v.family, op.Kind.Family())
		}
		covered[op.Kind] = true
		if op.Kind == Partition && !strings.Contains(v.form, string(op.Shape)) {
			t.Errorf("row %q has an example of shape %s", v.form, op.Shape)
		}
	}
	for _, k := range kinds {
		if !covered[k] {
			t.Errorf("no vocabulary row for %s", k)
		}
	}
}
