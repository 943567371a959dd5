package nemesis

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/splitbrain/splitbrain/harness/world"
)

// Kind is what an Op does: the first word of its text form.
type Kind string

// The operation kinds. Healers (Heal, Restart, Resume, ClockReset, UnstallDisk, HealAll)
// end what the others start.
const (
	Partition       Kind = "partition"
	Heal            Kind = "heal"
	Packet          Kind = "packet"
	Kill            Kind = "kill"
	Restart         Kind = "restart"
	Pause           Kind = "pause"
	Resume          Kind = "resume"
	Skew            Kind = "skew"
	Strobe          Kind = "strobe"
	ClockReset      Kind = "clock-reset"
	LoseUnsynced    Kind = "lose-unsynced"
	TornWrite       Kind = "torn-write"
	Wipe            Kind = "wipe"
	StallDisk       Kind = "stall-disk"
	UnstallDisk     Kind = "unstall-disk"
	AddNode         Kind = "add-node"
	RemoveNode      Kind = "remove-node"
	Promote         Kind = "promote"
	Replace         Kind = "replace"
	SnapshotIsolate Kind = "snapshot-isolate"
	HealAllKind     Kind = "heal-all"
)

// kinds lists every kind in the order of the vocabulary table.
var kinds = []Kind{Partition, Heal, Packet, Kill, Restart, Pause, Resume, Skew, Strobe, ClockReset,
	LoseUnsynced, TornWrite, Wipe, StallDisk, UnstallDisk, AddNode, RemoveNode, Promote, Replace, SnapshotIsolate, HealAllKind}

// family maps a fault kind to its family (see Families); healers have none.
var family = map[Kind]string{
	Partition: "partition", Packet: "packet", Kill: "kill", Pause: "pause",
	Skew: "clock", Strobe: "clock",
	LoseUnsynced: "disk", TornWrite: "disk", Wipe: "disk", StallDisk: "disk",
	AddNode: "membership", RemoveNode: "membership", Promote: "membership", Replace: "membership",
	SnapshotIsolate: "snapshot",
}

// Family returns the fault family of k ("" for healers).
func (k Kind) Family() string { return family[k] }

// Shape is a partition shape.
type Shape string

// The partition shapes (Jepsen's vocabulary).
const (
	Halves         Shape = "halves"          // first half of the sorted nodes | the rest
	RandomHalves   Shape = "random-halves"   // the same after a shuffle
	Isolate        Shape = "isolate"         // the target | everyone else
	IsolateLeader  Shape = "isolate-leader"  // the leader | everyone else
	LeaderMinority Shape = "leader-minority" // the leader + ⌊(n-1)/2⌋-1 others | the rest
	LeaderMajority Shape = "leader-majority" // the leader + ⌊n/2⌋ others | the rest
	MajoritiesRing Shape = "majorities-ring" // each node hears a different majority
	Bridge         Shape = "bridge"          // two halves joined by one node
	MinorityThird  Shape = "minority-third"  // a random ⌊n/3⌋ (at least 1) | the rest
	OneWay         Shape = "one-way"         // messages from the first target to the second are dropped
)

var shapes = []Shape{Halves, RandomHalves, Isolate, IsolateLeader, LeaderMinority, LeaderMajority,
	MajoritiesRing, Bridge, MinorityThird, OneWay}

// Selector picks the nodes of a Target when the op runs.
type Selector string

// The selectors. Counts are relative to the cluster size n at execution
// time (minority = ⌊(n-1)/2⌋, majority = ⌊n/2⌋+1) and are taken from the
// op's pool (see Target).
const (
	One       Selector = "one"
	Minority  Selector = "minority"
	Majority  Selector = "majority"
	All       Selector = "all"
	Leader    Selector = "leader"
	Followers Selector = "followers"
	Random    Selector = "random" // a random non-empty subset
	// Behind is the minority furthest behind: the ⌊(n-1)/2⌋ (at least
	// one) nodes of the pool with the lowest commit index, those that do
	// not answer first, ties by ID — after a heal, the nodes that were
	// cut off and are catching up.
	Behind   Selector = "behind"
	Explicit Selector = "nodes" // the listed Nodes (printed n1,n3)
	Ranked   Selector = "ranks" // the members of the listed Ranks (printed @1,@3)
)

var selectors = []Selector{One, Minority, Majority, All, Leader, Followers, Random, Behind}

// Target names the nodes an op acts on. It is resolved when the op runs,
// with the world's PRNG, from the op's pool: the members for faults that
// start something; the nodes the nemesis crashed for restart, paused for
// resume, skewed for clock-reset; the learners for promote. Ranked
// targets name members by their rank in ID order when the op runs (@2 is
// the second member, whoever that is by then), so that an episode can act
// on the same few nodes several times even after the nodes it started
// with were replaced. Explicit nodes
// are used as given.
type Target struct {
	Sel   Selector
	Nodes []world.NodeID // Explicit only: sorted, no duplicates
	Ranks []int          // Ranked only: 1-based, sorted, no duplicates
}

// Nodes returns an explicit target.
func Nodes(ids ...world.NodeID) Target {
	return Target{Sel: Explicit, Nodes: world.SortIDs(slices.Clone(ids))}
}

// Ranks returns a ranked target: the members of ranks rs (1-based) in ID
// order when the op runs.
func Ranks(rs ...int) Target {
	rs = slices.Clone(rs)
	slices.Sort(rs)
	return Target{Sel: Ranked, Ranks: rs}
}

// Sel returns a target chosen by s.
func Sel(s Selector) Target { return Target{Sel: s} }

func (t Target) String() string {
	if t.Sel == Ranked {
		parts := make([]string, len(t.Ranks))
		for i, r := range t.Ranks {
			parts[i] = "@" + strconv.Itoa(r)
		}
		return strings.Join(parts, ",")
	}
	if t.Sel != Explicit {
		return string(t.Sel)
	}
	parts := make([]string, len(t.Nodes))
	for i, id := range t.Nodes {
		parts[i] = id.String()
	}
	return strings.Join(parts, ",")
}

// IsZero reports whether t is unset.
func (t Target) IsZero() bool { return t.Sel == "" && len(t.Nodes) == 0 && len(t.Ranks) == 0 }

// PacketSpec is a packet fault: probabilities, added latency, the messages
// it applies to (Only: one class, or all) and the links it applies to
// (explicit directed links, the links to and from a target's nodes, or
// every link when both are empty).
type PacketSpec struct {
	Loss, Dup, Reorder float64
	Delay, Jitter      time.Duration
	Only               world.Class
	Links              [][2]world.NodeID // sorted, no duplicates
	Of                 Target
}

// Op is one nemesis operation. Which fields matter depends on Kind; the
// others are zero. Zero optional parameters mean "the default" and are not
// printed.
type Op struct {
	Kind   Kind
	Shape  Shape  // Partition
	Target Target // the nodes acted on; for one-way the senders
	To     Target // one-way: the receivers that stop hearing Target
	Packet PacketSpec
	Rate   float64       // skew
	Low    float64       // strobe
	High   float64       // strobe
	Period time.Duration // strobe: how long each rate lasts
	// Learner makes add-node add a learner instead of a voter.
	Learner bool
	// Gap and Timeout parameterize snapshot-isolate (defaults
	// DefaultSnapshotGap and DefaultSnapshotTimeout).
	Gap     int
	Timeout time.Duration
}

// Defaults of snapshot-isolate.
const (
	DefaultSnapshotGap     = 200
	DefaultSnapshotTimeout = 20 * time.Second
)

// String is the op's canonical text: verb, then arguments in a fixed order.
func (o Op) String() string {
	var b strings.Builder
	b.WriteString(string(o.Kind))
	arg := func(s string) { b.WriteByte(' '); b.WriteString(s) }
	switch o.Kind {
	case Partition:
		arg(string(o.Shape))
		switch o.Shape {
		case Isolate:
			arg(o.Target.String())
		case OneWay:
			arg(o.Target.String())
			arg(o.To.String())
		}
	case Packet:
		p := o.Packet
		if p.Loss != 0 {
			arg("loss=" + fmtFloat(p.Loss))
		}
		if p.Dup != 0 {
			arg("dup=" + fmtFloat(p.Dup))
		}
		if p.Reorder != 0 {
			arg("reorder=" + fmtFloat(p.Reorder))
		}
		if p.Delay != 0 {
			arg("delay=" + p.Delay.String())
		}
		if p.Jitter != 0 {
			arg("jitter=" + p.Jitter.String())
		}
		if p.Only != world.AllMessages {
			arg("only=" + string(p.Only))
		}
		arg("links=" + p.linksString())
	case Kill, Restart, Pause, Resume, ClockReset, LoseUnsynced, TornWrite, Wipe, StallDisk, UnstallDisk, RemoveNode, Promote, Replace:
		arg(o.Target.String())
	case Skew:
		arg(o.Target.String())
		arg(fmtFloat(o.Rate))
	case Strobe:
		arg(o.Target.String())
		arg(fmtFloat(o.Low))
		arg(fmtFloat(o.High))
		arg(o.Period.String())
	case AddNode:
		if o.Learner {
			arg("learner")
		}
	case SnapshotIsolate:
		arg(o.Target.String())
		if o.Gap != 0 {
			arg("gap=" + strconv.Itoa(o.Gap))
		}
		if o.Timeout != 0 {
			arg("timeout=" + o.Timeout.String())
		}
	}
	return b.String()
}

func (p PacketSpec) linksString() string {
	switch {
	case len(p.Links) > 0:
		parts := make([]string, len(p.Links))
		for i, l := range p.Links {
			parts[i] = l[0].String() + "->" + l[1].String()
		}
		return strings.Join(parts, ",")
	case !p.Of.IsZero():
		return p.Of.String()
	}
	return "all"
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// fmtAt prints a time since the test started as seconds with at least one
// decimal and no trailing zeros beyond it: 5.0s, 12.5s, 0.001s. It is
// exact to the nanosecond.
func fmtAt(d time.Duration) string {
	sec, ns := int64(d/time.Second), int64(d%time.Second)
	frac := strings.TrimRight(fmt.Sprintf("%09d", ns), "0")
	if frac == "" {
		frac = "0"
	}
	return fmt.Sprintf("%d.%ss", sec, frac)
}
