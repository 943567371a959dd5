package nemesis

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/splitbrain/splitbrain/harness/world"
	"pgregory.net/rapid"
)

// families lists the fault families in the order they are documented.
var families = []string{"partition", "packet", "kill", "pause", "clock", "disk", "membership", "snapshot"}

// Families returns the fault families a generator can draw from.
func Families() []string { return slices.Clone(families) }

// GenOptions shapes a generated schedule.
type GenOptions struct {
	Duration time.Duration // test length
	// FinalHeal is when heal-all runs (default Duration - max(5s,
	// Duration/4)); nothing comes after it.
	FinalHeal time.Duration
	// Kinds are the fault families allowed (see Families), or a partition
	// family narrowed to one shape, "partition:one-way"; empty = all.
	Kinds []string
	Nodes int // initial cluster size, for explicit links (default 5)
	// Refuses, if set, says which operations the world under test
	// refuses (a system that cannot take a fault answers
	// world.ErrUnsupported). The schedule then holds, in their place, the
	// nearest fault the world can take, or nothing: a process crash for a
	// power failure (lose-unsynced, torn-write: a process world has no
	// filesystem layer to drop unsynced writes), packet loss alone for
	// the sender-side packet faults (delay, duplication, reordering),
	// nothing for a clock fault. So the fault time of a run goes to
	// faults that happen, on every system. Nil: every operation is taken
	// (the sim).
	Refuses func(Op) bool
}

func (o GenOptions) withDefaults() GenOptions {
	if o.FinalHeal == 0 {
		o.FinalHeal = max(0, o.Duration-max(5*time.Second, o.Duration/4))
	}
	if len(o.Kinds) == 0 {
		o.Kinds = Families()
	} else {
		o.Kinds = slices.Clone(o.Kinds)
		sort.Strings(o.Kinds)
		o.Kinds = slices.Compact(o.Kinds)
	}
	if o.Nodes == 0 {
		o.Nodes = 5
	}
	return o
}

// Validate reports options Generate cannot honour.
func (o GenOptions) Validate() error {
	if o.Duration <= 0 {
		return fmt.Errorf("nemesis: test duration must be positive, got %s", o.Duration)
	}
	if o.FinalHeal < 0 || o.FinalHeal > o.Duration {
		return fmt.Errorf("nemesis: final heal at %s is outside the test (0 to %s)", o.FinalHeal, o.Duration)
	}
	if o.Nodes < 0 {
		return fmt.Errorf("nemesis: node count must not be negative, got %d", o.Nodes)
	}
	for _, k := range o.Kinds {
		if err := ValidKind(k); err != nil {
			return err
		}
	}
	return nil
}

// ValidKind checks a generator kind: a family, or "partition:<shape>".
func ValidKind(k string) error {
	fam, shape, narrowed := strings.Cut(k, ":")
	if !slices.Contains(families, fam) {
		return fmt.Errorf("nemesis: unknown fault family %q%s (want some of %s, or partition:<shape>)", k, suggest(fam, families), strings.Join(families, ", "))
	}
	if narrowed {
		names := make([]string, len(shapes))
		for i, s := range shapes {
			names[i] = string(s)
		}
		if fam != "partition" || !slices.Contains(names, shape) {
			return fmt.Errorf("nemesis: %q: only the partition family narrows, to a shape (one of %s)", k, strings.Join(names, ", "))
		}
	}
	return nil
}

// Generate draws a schedule from a seed: faults alternate with recovery,
// as in Jepsen's default nemesis. After a quiet start it runs episodes —
// fault periods, each a structured mix of faults that recreates a
// situation known to break raft systems (see the catalogue in
// episodes.go and the package doc) — each followed by a quiet period in
// which the cluster heals and serves, until the final heal-all at
// FinalHeal. Which episodes a run gets, in which order and with which
// parameters is drawn from the seed: heavier episodes come early and so
// almost always; lighter ones in some runs and not in others. Only the
// allowed families are used: an episode that needs a family that is not
// allowed is left out. It uses its own PRNG, so the same seed and options
// give the same schedule whatever the world. It panics on options that
// fail Validate.
func Generate(seed uint64, opts GenOptions) Schedule {
	if err := opts.Validate(); err != nil {
		panic(err)
	}
	o := opts.withDefaults()
	rng := rand.New(rand.NewPCG(seed, 0x6e656d65736973)) // "nemesis"
	g := newGen(pcgChooser{rng}, o)
	g.timeline()
	return finish(g.evs, o)
}

// timeline lays the episodes out: a quiet start, then episodes dealt in
// their weighted random order, each placed if it fits before the final
// heal with a quiet period after it — keeping room for the episodes every
// run must have that are still to come.
func (g *gen) timeline() {
	o := g.o
	t := g.span(warmupMin, warmupMax, "warmup")
	// A round of the catalogue fills about 45s; deal enough of them (a
	// 10-minute test used to run out after 3 rounds, at 6 minutes).
	dealt := g.deal(max(3, int(o.FinalHeal/(15*time.Second))))
	for i, ep := range dealt {
		if i >= firstWithin {
			break // dealt late: it comes, if it fits, where it was dealt
		}
		if ep.first {
			// It comes first, as soon as a leader may be elected.
			t = g.span(firstMin, firstMax, "first")
			dealt = append([]episode{ep}, slices.Delete(slices.Clone(dealt), i, i+1)...)
			break
		}
	}
	// Time is kept for the must-have episodes not placed yet (their
	// shortest length and a quiet period), those that fit, in the order
	// they were dealt: a short test keeps time for the first of them only.
	owed := map[string]time.Duration{}
	var kept time.Duration
	for _, ep := range dealt {
		if _, dup := owed[ep.name]; dup || !ep.must {
			continue
		}
		if d := ep.min + quietMin; t+kept+d <= o.FinalHeal-quietMin {
			owed[ep.name] = d
			kept += d
		}
	}
	reserve := func(except string) time.Duration {
		var sum time.Duration
		for name, d := range owed {
			if name != except {
				sum += d
			}
		}
		return sum
	}
	for _, ep := range dealt {
		room := o.FinalHeal - quietMin - t - reserve(ep.name)
		if room < ep.min {
			continue
		}
		delete(owed, ep.name)
		d := ep.draw(g, t, min(room, ep.max))
		if d > min(room, ep.max) || d <= 0 {
			panic(fmt.Sprintf("nemesis: episode %s drew a length of %s with room for %s", ep.name, d, min(room, ep.max)))
		}
		g.placed = append(g.placed, placed{ep.name, t, t + d})
		t += d
		// A quiet period, short enough to leave room for what is owed.
		t += max(quietMin, min(g.span(quietMin, quietMax, "quiet"), o.FinalHeal-quietMin-t-reserve("")))
	}
}

// ScheduleGen draws schedules from rapid primitives: a list of faults,
// each a small structured draw (a time in milliseconds, a family, its
// parameters), sorted afterwards and closed by heal-all at FinalHeal, so
// that rapid can shrink a failing schedule to a few mild faults.
func ScheduleGen(opts GenOptions) *rapid.Generator[Schedule] {
	if err := opts.Validate(); err != nil {
		panic(err)
	}
	o := opts.withDefaults()
	fault := rapid.Custom(func(t *rapid.T) []Event {
		if o.FinalHeal < time.Millisecond {
			return nil
		}
		at := time.Duration(rapid.IntRange(0, int(o.FinalHeal/time.Millisecond)-1).Draw(t, "at_ms")) * time.Millisecond
		fam := o.Kinds[rapid.IntRange(0, len(o.Kinds)-1).Draw(t, "family")]
		return drawFault(rapidChooser{t}, fam, at, o)
	})
	return rapid.Custom(func(t *rapid.T) Schedule {
		var evs []Event
		for _, f := range rapid.SliceOfN(fault, 0, 24).Draw(t, "faults") {
			evs = append(evs, f...)
		}
		return finish(evs, o)
	})
}

// finish sorts the events, keeps at most one wipe outstanding (a later
// wipe before the first is restarted becomes lose-unsynced: wiping several
// nodes at once may lose acknowledged data legitimately), and ends with
// heal-all.
func finish(evs []Event, o GenOptions) Schedule {
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].At < evs[j].At })
	wiped := false
	for i := range evs {
		switch evs[i].Op.Kind {
		case Wipe:
			if wiped {
				evs[i].Op.Kind = LoseUnsynced
			}
			wiped = true
		case Restart:
			wiped = false
		}
	}
	evs = append(evs, Event{At: o.FinalHeal, Op: Op{Kind: HealAllKind}})
	return Schedule{Events: adapt(evs, o.Refuses)}
}

// adapt puts in place of each operation refuses refuses the nearest one
// it takes, or drops it (see GenOptions.Refuses).
func adapt(evs []Event, refuses func(Op) bool) []Event {
	if refuses == nil {
		return evs
	}
	out := evs[:0]
	for _, e := range evs {
		if refuses(e.Op) {
			op, ok := substitute(e.Op)
			if !ok || refuses(op) {
				continue
			}
			e.Op = op
		}
		out = append(out, e)
	}
	return out
}

// substitute is the nearest operation to op that a world without op's
// mechanism may take.
func substitute(op Op) (Op, bool) {
	switch op.Kind {
	case LoseUnsynced, TornWrite:
		// A power failure without a filesystem layer: the processes die;
		// what they wrote survives in the page cache.
		return Op{Kind: Kill, Target: op.Target}, true
	case StallDisk:
		// Without a filesystem layer to hold fsyncs, the nearest stall is
		// of the whole process (it stops receiving too).
		return Op{Kind: Pause, Target: op.Target}, true
	case UnstallDisk:
		return Op{Kind: Resume, Target: op.Target}, true
	case Packet:
		if op.Packet.Loss == 0 || op.Packet.Only != world.AllMessages {
			// Nothing left, or nothing near: losing every kind of
			// message is a different fault from losing the entries.
			return Op{}, false
		}
		p := op.Packet
		p.Dup, p.Reorder, p.Delay, p.Jitter = 0, 0, 0, 0
		op.Packet = p
		return op, true
	}
	return Op{}, false
}

// chooser is the source of a generator's choices: a PRNG, or rapid.
type chooser interface {
	intn(n int, label string) int
}

type pcgChooser struct{ r *rand.Rand }

func (c pcgChooser) intn(n int, _ string) int { return c.r.IntN(n) }

type rapidChooser struct{ t *rapid.T }

func (c rapidChooser) intn(n int, label string) int { return rapid.IntRange(0, n-1).Draw(c.t, label) }

func choose[T any](c chooser, label string, xs ...T) T { return xs[c.intn(len(xs), label)] }

// drawFault draws one fault of family fam starting at at, with its heal
// after a hold of 1–8 s if that comes before the final heal. The first
// choice of every draw is the mildest, so shrinking goes there.
func drawFault(c chooser, fam string, at time.Duration, o GenOptions) []Event {
	hold := time.Second + time.Duration(c.intn(7001, "hold_ms"))*time.Millisecond
	evs := []Event{}
	add := func(d time.Duration, op Op) {
		if at+d < o.FinalHeal || d == 0 {
			evs = append(evs, Event{At: at + d, Op: op})
		}
	}
	sel := func(label string, ss ...Selector) Target { return Sel(choose(c, label, ss...)) }
	fam, narrow, _ := strings.Cut(fam, ":")
	switch fam {
	case "partition":
		op := Op{Kind: Partition, Shape: choose(c, "shape", shapes...)}
		if narrow != "" {
			op.Shape = Shape(narrow)
		}
		switch op.Shape {
		case Isolate:
			op.Target = sel("isolate", One, Leader, Minority)
		case OneWay:
			pair := choose(c, "one-way", [2]Selector{Leader, Followers}, [2]Selector{One, One}, [2]Selector{Leader, One}, [2]Selector{One, All}, [2]Selector{Minority, Majority}, [2]Selector{Followers, Leader})
			op.Target, op.To = Sel(pair[0]), Sel(pair[1])
		}
		add(0, op)
		add(hold, Op{Kind: Heal})
	case "packet":
		add(0, Op{Kind: Packet, Packet: drawPacket(c, o.Nodes)})
		add(hold, Op{Kind: Heal})
	case "kill":
		add(0, Op{Kind: Kill, Target: sel("target", One, Minority, Leader, Followers, Majority, Random, All)})
		add(hold, Op{Kind: Restart, Target: Sel(All)})
	case "pause":
		add(0, Op{Kind: Pause, Target: sel("target", One, Minority, Leader, Followers, Majority, Random, All)})
		add(hold, Op{Kind: Resume, Target: Sel(All)})
	case "clock":
		t := sel("target", One, Leader, Minority, Random, All)
		if c.intn(2, "strobe") == 0 {
			add(0, Op{Kind: Skew, Target: t, Rate: choose(c, "rate", 2.0, 0.5, 4.0, 0.25, 1.25, 0.8)})
		} else {
			add(0, Op{Kind: Strobe, Target: t, Low: choose(c, "low", 0.5, 0.25), High: choose(c, "high", 2.0, 4.0),
				Period: choose(c, "period", time.Second, 500*time.Millisecond, 100*time.Millisecond, 2*time.Second)})
		}
		add(hold, Op{Kind: ClockReset, Target: Sel(All)})
	case "disk":
		switch c.intn(4, "disk") {
		case 0:
			add(0, Op{Kind: LoseUnsynced, Target: sel("target", One, Minority, Leader, Majority, All)})
		case 1:
			add(0, Op{Kind: TornWrite, Target: sel("target", One, Minority, Leader, Majority, All)})
		case 2:
			add(0, Op{Kind: Wipe, Target: sel("target", One, Leader)})
		default:
			add(0, Op{Kind: StallDisk, Target: sel("target", One, Leader, Minority, Majority, All)})
			add(hold, Op{Kind: UnstallDisk, Target: Sel(All)})
			return evs
		}
		add(hold, Op{Kind: Restart, Target: Sel(All)})
	case "membership":
		// Each variant leaves the cluster size as it found it.
		switch c.intn(4, "membership") {
		case 0:
			add(0, Op{Kind: Replace, Target: sel("target", One, Leader)})
		case 1:
			add(0, Op{Kind: RemoveNode, Target: sel("target", One, Leader)})
			add(hold, Op{Kind: AddNode})
		case 2:
			add(0, Op{Kind: AddNode})
			add(hold, Op{Kind: RemoveNode, Target: sel("target", One, Leader)})
		default:
			add(0, Op{Kind: AddNode, Learner: true})
			add(hold/2, Op{Kind: Promote, Target: Sel(One)})
			add(hold, Op{Kind: RemoveNode, Target: Sel(One)})
		}
	case "snapshot":
		add(0, Op{Kind: SnapshotIsolate, Target: sel("target", One, Minority),
			Gap: choose(c, "gap", 0, 50, 100, 500), Timeout: choose(c, "timeout", 0, 10*time.Second, 30*time.Second)})
	}
	return evs
}

func drawPacket(c chooser, nodes int) PacketSpec {
	var p PacketSpec
	if c.intn(2, "loss?") == 0 {
		p.Loss = choose(c, "loss", 0.1, 0.05, 0.2, 0.5)
	}
	if c.intn(2, "dup?") == 1 {
		p.Dup = choose(c, "dup", 0.05, 0.1, 0.3)
	}
	if c.intn(2, "reorder?") == 1 {
		p.Reorder = choose(c, "reorder", 0.1, 0.3, 0.5)
	}
	if c.intn(2, "delay?") == 1 {
		p.Delay = choose(c, "delay", 20*time.Millisecond, 5*time.Millisecond, 50*time.Millisecond, 200*time.Millisecond)
		p.Jitter = p.Delay / time.Duration(choose(c, "jitter", 2, 1, 4))
	}
	if p.Loss == 0 && p.Dup == 0 && p.Reorder == 0 && p.Delay == 0 {
		p.Loss = 0.1 // nothing drawn: a packet fault needs some effect
	}
	switch c.intn(4, "links") {
	case 1:
		p.Of = Sel(Leader)
	case 2:
		p.Of = Sel(One)
	case 3:
		if nodes >= 2 {
			a := world.NodeID(1 + c.intn(nodes, "from"))
			b := world.NodeID(1 + c.intn(nodes-1, "to"))
			if b >= a {
				b++
			}
			p.Links = [][2]world.NodeID{{a, b}}
			if c.intn(2, "both-ways") == 1 {
				p.Links = append(p.Links, [2]world.NodeID{b, a})
				slices.SortFunc(p.Links, func(x, y [2]world.NodeID) int { return cmpID(x[0], y[0]) })
			}
		}
	}
	return p
}
