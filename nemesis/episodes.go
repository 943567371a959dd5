package nemesis

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/splitbrain/splitbrain/harness/world"
)

// An episode is one fault period of a generated schedule: a structured
// mix of faults that recreates a situation known to break raft systems
// (see doc.go, "Generation"), with random parameters, ending with every
// fault it started undone. Episodes never overlap: a quiet period, in
// which the cluster heals and serves, follows each one.
type episode struct {
	name string
	// must: every run has it, when its families are allowed (time is
	// kept for it). The others come in a weighted random order: weight
	// says how early, and so how surely, an episode comes in a run.
	must   bool
	weight int
	// first: when it is dealt early, it comes first, as soon as the first
	// leader may be elected (a young cluster being reshaped).
	first bool
	// needs lists the families the episode cannot do without, each "a|b"
	// for either; shapes, the partition shapes it needs (any one of them).
	needs  []string
	shapes []Shape
	// length is the episode's shortest and longest length.
	min, max time.Duration
	// draw emits the episode's events from time at, within room (at least
	// min), and returns its length: every fault it started is undone at
	// at+length.
	draw func(g *gen, at, room time.Duration) time.Duration
}

// The generated timeline: a quiet start while the cluster elects its
// first leader, then episodes separated by quiet periods.
const (
	warmupMin, warmupMax = 1500 * time.Millisecond, 2500 * time.Millisecond
	// An episode that comes first starts this early, before the first
	// election (one to two election timeouts, 1–2s): its ops that need a
	// leader wait for it.
	firstMin, firstMax = 300 * time.Millisecond, 800 * time.Millisecond
	// An episode that comes first does so if it was dealt among the first
	// firstWithin (it is in the run then, almost surely).
	firstWithin        = 4
	quietMin, quietMax = time.Second, 2 * time.Second
	// A network healed at the end of an episode may stay flaky this long
	// (healFlaky).
	tailMin, tailMax = 800 * time.Millisecond, 1500 * time.Millisecond
	slowMin, slowMax = 2 * time.Second, 3 * time.Second
)

// episodes is the catalogue, most important first (the order breaks no
// ties: deal draws the order).
var episodes = []episode{
	{name: "deposed-leader", must: true, weight: 40, needs: []string{"partition"}, shapes: []Shape{LeaderMinority, IsolateLeader},
		min: 12500 * time.Millisecond, max: 15 * time.Second, draw: deposedLeader},
	{name: "quorum-loss", must: true, weight: 40, needs: []string{"pause|kill|disk"},
		min: 5 * time.Second, max: 6500 * time.Millisecond, draw: quorumLoss},
	{name: "membership-churn", first: true, weight: 25, needs: []string{"membership"},
		min: 5 * time.Second, max: 8 * time.Second, draw: membershipChurn},
	{name: "cascade", weight: 12, needs: []string{"partition", "kill|disk"}, shapes: []Shape{Isolate},
		min: 5 * time.Second, max: 7 * time.Second, draw: cascade},
	{name: "asymmetric", must: true, weight: 10, needs: []string{"partition"}, shapes: []Shape{OneWay},
		min: 12500 * time.Millisecond, max: 13500 * time.Millisecond, draw: asymmetric},
	{name: "power-failure", weight: 8, needs: []string{"disk"},
		min: 500 * time.Millisecond, max: 1500 * time.Millisecond, draw: powerFailure},
	{name: "crash-loop", weight: 6, needs: []string{"kill"},
		min: 4 * time.Second, max: 6 * time.Second, draw: crashLoop},
	{name: "split", weight: 5, needs: []string{"partition"},
		shapes: []Shape{Halves, RandomHalves, MinorityThird, Isolate, MajoritiesRing, Bridge, LeaderMajority, OneWay},
		min:    2 * time.Second, max: 10 * time.Second, draw: split},
	{name: "flaky-links", weight: 4, needs: []string{"partition"}, shapes: []Shape{Isolate},
		min: 3 * time.Second, max: 8 * time.Second, draw: flakyLinks},
	{name: "paused-leader", weight: 4, needs: []string{"pause"},
		min: 4 * time.Second, max: 8 * time.Second, draw: pausedLeader},
	{name: "crash", weight: 3, needs: []string{"kill"},
		min: 1 * time.Second, max: 5 * time.Second, draw: crash},
	{name: "disk-loss", must: true, weight: 30, needs: []string{"disk"},
		min: 3 * time.Second, max: 5 * time.Second, draw: wipe},
	{name: "lossy-network", weight: 3, needs: []string{"packet"},
		min: 2 * time.Second, max: 8 * time.Second, draw: lossyNetwork},
	{name: "membership-partition", weight: 3, needs: []string{"membership", "partition"},
		shapes: []Shape{LeaderMinority, IsolateLeader, Halves, Isolate},
		min:    3 * time.Second, max: 6 * time.Second, draw: membershipPartition},
	{name: "snapshot-catch-up", weight: 3, needs: []string{"snapshot"},
		min: 3500 * time.Millisecond, max: 8500 * time.Millisecond, draw: snapshotCatchUp},
	{name: "clock-chaos", weight: 3, needs: []string{"clock"},
		min: 3 * time.Second, max: 8 * time.Second, draw: clockChaos},
}

// gen is one schedule being generated.
type gen struct {
	c      chooser
	o      GenOptions
	fams   map[string]bool // families allowed in full
	shapes map[Shape]bool  // partition shapes allowed
	evs    []Event
	placed []placed // the episodes laid out, in order
}

// placed is an episode of a generated timeline: from at, every fault it
// started undone by end.
type placed struct {
	name    string
	at, end time.Duration
}

func newGen(c chooser, o GenOptions) *gen {
	g := &gen{c: c, o: o, fams: map[string]bool{}, shapes: map[Shape]bool{}}
	for _, k := range o.Kinds {
		fam, shape, narrowed := strings.Cut(k, ":")
		if narrowed {
			g.shapes[Shape(shape)] = true
			continue
		}
		g.fams[fam] = true
		if fam == "partition" {
			for _, s := range shapes {
				g.shapes[s] = true
			}
		}
	}
	return g
}

// has reports whether family fam may be used.
func (g *gen) has(fam string) bool { return g.fams[fam] }

// allowed returns the shapes among ss that may be used.
func (g *gen) allowed(ss []Shape) []Shape {
	var out []Shape
	for _, s := range ss {
		if g.shapes[s] {
			out = append(out, s)
		}
	}
	return out
}

// eligible reports whether ep can be drawn with the allowed families.
func (g *gen) eligible(ep episode) bool {
	for _, need := range ep.needs {
		if need == "partition" {
			if len(g.allowed(ep.shapes)) == 0 {
				return false
			}
			continue
		}
		ok := false
		for _, f := range strings.Split(need, "|") {
			ok = ok || g.has(f)
		}
		if !ok {
			return false
		}
	}
	return ep.name != "cascade" && ep.name != "crash-loop" || g.o.Nodes >= 3
}

// deal returns the run's episodes in the order they are tried: a
// weighted random order (Efraimidis–Spirakis), so that heavy episodes
// tend to come early and so almost surely fit before the final heal,
// while light ones come in some runs and not others — a swarm over the
// structured mixes. The catalogue is dealt again as often as the time
// might allow.
func (g *gen) deal(rounds int) []episode {
	var out []episode
	for range rounds {
		var es []episode
		var keys []float64
		for _, ep := range episodes {
			if !g.eligible(ep) {
				continue
			}
			u := (float64(g.c.intn(1<<20, "order")) + 1) / (1<<20 + 1)
			es = append(es, ep)
			keys = append(keys, math.Pow(u, 1/float64(ep.weight)))
		}
		idx := make([]int, len(es))
		for i := range idx {
			idx[i] = i
		}
		slices.SortStableFunc(idx, func(a, b int) int {
			switch {
			case keys[a] > keys[b]:
				return -1
			case keys[a] < keys[b]:
				return 1
			}
			return 0
		})
		for _, i := range idx {
			out = append(out, es[i])
		}
	}
	return out
}

// --- drawing helpers ---

// span draws a duration from lo to hi in whole milliseconds.
func (g *gen) span(lo, hi time.Duration, label string) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(g.c.intn(int((hi-lo)/time.Millisecond)+1, label))*time.Millisecond
}

// coin is true with probability pct %.
func (g *gen) coin(pct int, label string) bool { return g.c.intn(100, label) < pct }

func (g *gen) at(t time.Duration, op Op) { g.evs = append(g.evs, Event{At: t, Op: op}) }

// ranks draws k distinct ranks of the initial cluster (1..N), sorted: a
// ranked target (@2,@4) resolves to the members of those ranks when its
// op runs, so an episode acts on the same nodes throughout, even when the
// nodes the cluster started with were replaced before it.
func (g *gen) ranks(k int) []int {
	rs := make([]int, g.o.Nodes)
	for i := range rs {
		rs[i] = i + 1
	}
	for i := len(rs) - 1; i > 0; i-- {
		j := g.c.intn(i+1, "node")
		rs[i], rs[j] = rs[j], rs[i]
	}
	rs = rs[:max(0, min(k, len(rs)))]
	slices.Sort(rs)
	return rs
}

// minority is ⌊(n-1)/2⌋ of the initial cluster, at least one.
func (g *gen) minority() int { return max(1, (g.o.Nodes-1)/2) }

// slowLeader, if clocks may be changed, slows the leader's clock at t
// (true): a leader whose clock runs slow keeps believing in its lease and
// its leadership long after the others have moved on — the window of
// every stale-read bug. The caller resets the clocks.
func (g *gen) slowLeader(t time.Duration, pct int) bool {
	if !g.has("clock") || !g.coin(pct, "slow-leader") {
		return false
	}
	g.at(t, Op{Kind: Skew, Target: Sel(Leader), Rate: choose(g.c, "slow-rate", 0.1, 0.2, 0.3, 0.5)})
	return true
}

// healFlaky heals the network at t; when packet faults are allowed, most
// of the time the links come back flaky for a while — some packets lost
// or held back — as a network recovering from a failure does. Nodes that
// were cut off then catch up over a lossy network while their clients
// already read from them. It returns when the network is whole again.
func (g *gen) healFlaky(t time.Duration, room time.Duration) time.Duration {
	return g.healWith(t, room, 75, tailMin, tailMax, blackHole, crawl, lossy, reordered)
}

// healSlow heals the network at t; when packet faults are allowed, the
// entries most often stay black-holed for 2–3s after (see healWith): the
// nodes that were cut off hear the leader again, and have their reads
// confirmed, but cannot catch up yet. It returns when the network is
// whole again.
func (g *gen) healSlow(t time.Duration, room time.Duration) time.Duration {
	return g.healWith(t, room, 90, slowMin, slowMax, blackHole)
}

// The ways links stay flaky after a heal (healWith).
type flakiness int

const (
	// blackHole: the entries (appends, snapshots) to the nodes furthest
	// behind are lost while the small messages pass — as on a path whose
	// MTU drops full-size segments: the nodes that were cut off hear the
	// leader, and have their reads confirmed, but cannot catch up until
	// it ends.
	blackHole flakiness = iota
	// crawl: the entries are held back 200–500ms while the small messages
	// pass (a congested replication stream): catch-up takes round trips
	// of that length.
	crawl
	lossy     // 20–50 % of the packets lost
	reordered // packets held back, out of order
)

// healWith heals the network at t and, pct % of the time when packet
// faults are allowed, leaves the links flaky for lo–hi (less if room is
// shorter) in one of the ways given, drawn evenly. It returns when the
// network is whole again.
func (g *gen) healWith(t time.Duration, room time.Duration, pct int, lo, hi time.Duration, ways ...flakiness) time.Duration {
	g.at(t, Op{Kind: Heal})
	hi = min(hi, room)
	if !g.has("packet") || hi < tailMin || !g.coin(pct, "flaky?") {
		return t
	}
	tail := g.span(min(lo, hi), hi, "tail")
	var p PacketSpec
	switch choose(g.c, "flaky", ways...) {
	case blackHole:
		p = PacketSpec{Only: world.Entries, Loss: 1, Of: Sel(Behind)}
	case crawl:
		p = PacketSpec{Only: world.Entries, Delay: choose(g.c, "delay", 200*time.Millisecond, 500*time.Millisecond)}
	case lossy:
		p = PacketSpec{Loss: choose(g.c, "loss", 0.3, 0.2, 0.5)}
	case reordered:
		p = PacketSpec{Reorder: choose(g.c, "reorder", 0.5, 0.3), Delay: 5 * time.Millisecond}
	}
	g.at(t, Op{Kind: Packet, Packet: p})
	g.at(t+tail, Op{Kind: Heal})
	return t + tail
}

// --- the episodes ---

// deposedLeader cuts the leader off — alone, or with a minority that
// still follows it — while a new leader is elected on the other side. Its
// clock usually runs slow, so it goes on believing it leads: reads it (or
// its side) still serves are stale, and its uncommitted writes are rolled
// back at the heal. Held 10.5–12s: twice a client's operation timeout, so
// that clients stuck on a write there come back, twice, and read; then
// the old side catches up slowly (healSlow) while its clients read. The clock
// runs 10–20 times slow, so that the leader does not notice for the whole
// episode (its CheckQuorum period of one election timeout becomes 10–20s).
func deposedLeader(g *gen, at, room time.Duration) time.Duration {
	hold := g.span(10500*time.Millisecond, min(room-slowMax, 12*time.Second), "hold")
	slow := g.has("clock")
	if slow {
		g.at(at, Op{Kind: Skew, Target: Sel(Leader), Rate: choose(g.c, "slow-rate", 0.1, 0.05)})
	}
	shapes := g.allowed([]Shape{LeaderMinority, IsolateLeader})
	shape := shapes[0]
	if len(shapes) > 1 && g.coin(30, "isolate-leader?") {
		shape = shapes[1]
	}
	g.at(at, Op{Kind: Partition, Shape: shape})
	if slow {
		g.at(at+hold, Op{Kind: ClockReset, Target: Sel(All)})
	}
	return g.healSlow(at+hold, at+room-(at+hold)) - at
}

// quorumLoss takes a majority away — its disks stalled (fsyncs that
// hang), paused (a stalled VM) or crashed — for longer than a request may
// wait, while the rest keep running. Writes pending there can neither
// commit nor be known to fail: an honest node answers "unknown"; once the
// majority is back they commit. With stalled disks they commit for sure:
// the stalled nodes kept receiving, so every pending write is in the log
// of whichever node leads next. Paused or crashed, they commit when a node
// that holds them wins the next election.
func quorumLoss(g *gen, at, room time.Duration) time.Duration {
	hold := g.span(5*time.Second, min(room, 7*time.Second), "hold")
	target := Sel(choose(g.c, "target", Majority, Majority, Majority, Followers))
	if g.has("disk") && (!g.has("pause") && !g.has("kill") || g.coin(80, "stall?")) {
		g.at(at, Op{Kind: StallDisk, Target: target})
		g.at(at+hold, Op{Kind: UnstallDisk, Target: Sel(All)})
		return hold
	}
	if g.has("pause") && (!g.has("kill") || g.coin(85, "pause?")) {
		g.at(at, Op{Kind: Pause, Target: target})
		g.at(at+hold, Op{Kind: Resume, Target: Sel(All)})
	} else {
		g.at(at, Op{Kind: Kill, Target: target})
		g.at(at+hold, Op{Kind: Restart, Target: Sel(All)})
	}
	return hold
}

// membershipChurn changes the membership three to five times in quick
// succession (every 0.5–1s) — nodes added, removed and replaced, the
// leader among them, a learner promoted — and then a disk is lost (most
// often the leader's) and its node replaced, as an operator growing and
// reshaping a young cluster does; the cluster ends with as many voters
// as it started with. It comes first in a run, as soon as the first
// leader is elected: nodes then join by replaying the whole log,
// configurations older than themselves included; later in a run they
// join by snapshot.
func membershipChurn(g *gen, at, room time.Duration) time.Duration {
	const step = 600 * time.Millisecond // between the changes that restore the size
	wipe := g.has("disk")
	var wipeLen time.Duration // the wipe at the end, and time for its replacement
	if wipe {
		wipeLen = 3 * time.Second
	}
	t := at
	voters, learners := 0, 0 // net change
	// owed is how long restoring the size takes from here.
	owed := func() time.Duration {
		return time.Duration(learners+max(voters+learners, -voters))*step + wipeLen
	}
	for i, n := 0, 3+g.c.intn(3, "changes"); i < n; i++ {
		// The next change may add a voter or a learner, which take up
		// to two steps to undo.
		if t+owed()+3*step > at+room {
			break
		}
		switch g.c.intn(6, "change") {
		case 0, 1:
			g.at(t, Op{Kind: AddNode})
			voters++
		case 2:
			g.at(t, Op{Kind: Replace, Target: Sel(choose(g.c, "who", Leader, One))})
		case 3:
			g.at(t, Op{Kind: RemoveNode, Target: Sel(choose(g.c, "who", Leader, One))})
			voters--
		case 4:
			g.at(t, Op{Kind: AddNode, Learner: true})
			learners++
		default:
			if learners > 0 {
				g.at(t, Op{Kind: Promote, Target: Sel(One)})
				learners--
				voters++
			} else {
				g.at(t, Op{Kind: Replace, Target: Sel(One)})
			}
		}
		t += min(g.span(500*time.Millisecond, time.Second, "gap"), max(step/2, at+room-t-owed()))
	}
	// Back to the size it had: promote the learners, then remove or add.
	for ; learners > 0; learners-- {
		g.at(t, Op{Kind: Promote, Target: Sel(One)})
		voters++
		t += step
	}
	for ; voters > 0; voters-- {
		g.at(t, Op{Kind: RemoveNode, Target: Sel(One)})
		t += step
	}
	for ; voters < 0; voters++ {
		g.at(t, Op{Kind: AddNode})
		t += step
	}
	if wipe {
		// A disk lost: the node comes back only by replacement, under a
		// new ID, once it is restarted.
		g.at(t, Op{Kind: Wipe, Target: Sel(choose(g.c, "who", Leader, Leader, Leader, Leader, One))})
		g.at(t+time.Second, Op{Kind: Restart, Target: Sel(All)})
		t += wipeLen
	}
	return t - at
}

// cascade is a failure on top of a failure: a minority is cut off and
// falls behind; then the majority side crashes (one of its disks lost, or
// every un-fsynced write lost to a power failure, or a plain crash); one
// of it comes back first, then the network heals while the rest are still
// down. The nodes up are then the stale minority and whoever came back:
// an election among them must not lose what the majority had committed.
func cascade(g *gen, at, room time.Duration) time.Duration {
	n := g.o.Nodes
	cut := g.ranks(g.minority())
	var rest, others []int
	for r := 1; r <= n; r++ {
		if !slices.Contains(cut, r) {
			rest = append(rest, r)
		}
	}
	first := rest[g.c.intn(len(rest), "first")]
	for _, r := range rest {
		if r != first {
			others = append(others, r)
		}
	}
	g.at(at, Op{Kind: Partition, Shape: Isolate, Target: Ranks(cut...)})
	crashAt := at + g.span(2*time.Second, 3*time.Second, "lag")
	fate := Kill
	if g.has("disk") && (!g.has("kill") || g.coin(70, "disk?")) {
		fate = choose(g.c, "fate", Wipe, LoseUnsynced)
	}
	switch {
	case fate == Wipe && g.has("kill"):
		// A wiped node comes back only by replacement: the others keep
		// their data, so a quorum remains to replace it.
		g.at(crashAt, Op{Kind: Wipe, Target: Ranks(first)})
		if len(others) > 0 {
			g.at(crashAt, Op{Kind: Kill, Target: Ranks(others...)})
		}
	case fate == Wipe:
		g.at(crashAt, Op{Kind: Wipe, Target: Ranks(first)})
	default:
		g.at(crashAt, Op{Kind: fate, Target: Ranks(rest...)})
	}
	back := crashAt + g.span(300*time.Millisecond, 800*time.Millisecond, "back")
	g.at(back, Op{Kind: Restart, Target: Ranks(first)})
	healAt := back + g.span(300*time.Millisecond, 700*time.Millisecond, "heal")
	g.at(healAt, Op{Kind: Heal})
	end := min(at+room, healAt+g.span(1500*time.Millisecond, 3*time.Second, "down"))
	g.at(end, Op{Kind: Restart, Target: Sel(All)})
	return end - at
}

// asymmetric is a one-way partition — most often a deaf leader, which
// still reaches the others but hears none of them — held past the
// liveness bound (10s by default), so that a cluster that cannot elect
// around it is seen to stall. (split draws brief one-way partitions.)
func asymmetric(g *gen, at, room time.Duration) time.Duration {
	pair := [2]Selector{Followers, Leader} // deaf
	if g.coin(15, "other?") {
		pair = choose(g.c, "one-way", [2]Selector{Leader, Followers}, [2]Selector{Leader, One}, [2]Selector{One, All},
			[2]Selector{Minority, Majority}, [2]Selector{One, One})
	}
	hold := g.span(10500*time.Millisecond, min(room-tailMax, 11500*time.Millisecond), "hold")
	g.at(at, Op{Kind: Partition, Shape: OneWay, Target: Sel(pair[0]), To: Sel(pair[1])})
	return g.healFlaky(at+hold, room-hold) - at
}

// powerFailure cuts the power of the whole cluster or of a majority
// (un-fsynced writes are lost), or tears a write; the nodes come back
// within 1.5s. This is the one episode that may take every node down, and
// only this briefly.
func powerFailure(g *gen, at, room time.Duration) time.Duration {
	down := g.span(500*time.Millisecond, min(room, 1500*time.Millisecond), "down")
	switch g.c.intn(10, "power") {
	case 0, 1, 2, 3, 4:
		g.at(at, Op{Kind: LoseUnsynced, Target: Sel(All)})
	case 5, 6:
		g.at(at, Op{Kind: LoseUnsynced, Target: Sel(Majority)})
	default:
		g.at(at, Op{Kind: TornWrite, Target: Sel(choose(g.c, "target", One, Minority, All))})
	}
	g.at(at+down, Op{Kind: Restart, Target: Sel(All)})
	return down
}

// crashLoop brings the cluster to the edge of its quorum: the leader
// crashes, and a minority of the others crash-loop (crash and restart
// every 100–200ms) on a slow network, so that the remaining stable nodes
// are too few to lead without the looping ones' votes and acks.
// Elections follow one another, and votes are cast by nodes that crash
// right after: a node that forgets its vote across a restart votes twice
// in a term.
func crashLoop(g *gen, at, room time.Duration) time.Duration {
	length := g.span(4*time.Second, min(room, 6*time.Second), "length")
	looping := g.ranks(g.minority())
	period := choose(g.c, "period", 100*time.Millisecond, 150*time.Millisecond, 200*time.Millisecond)
	if g.has("packet") {
		g.at(at, Op{Kind: Packet, Packet: PacketSpec{Delay: choose(g.c, "delay", 500*time.Millisecond, 300*time.Millisecond, 400*time.Millisecond)}})
	}
	g.at(at, Op{Kind: Kill, Target: Sel(Leader)})
	for t := at + period; t < at+length; t += period {
		g.at(t, Op{Kind: Kill, Target: Ranks(looping...)})
		g.at(t, Op{Kind: Restart, Target: Ranks(looping...)})
	}
	if g.has("packet") {
		g.at(at+length, Op{Kind: Heal})
	}
	g.at(at+length, Op{Kind: Restart, Target: Sel(All)})
	return length
}

// split is a partition of a random shape, with the leader's clock slowed
// some of the time; most often held longer than a client's operation
// timeout, so that the clients of the nodes cut off are reading again
// when the network heals (flaky, most of the time) and they catch up.
func split(g *gen, at, room time.Duration) time.Duration {
	hold := g.span(2*time.Second, min(room, 8*time.Second), "hold")
	if room >= 5*time.Second && g.coin(70, "long?") {
		hold = g.span(5*time.Second, min(room, 8*time.Second), "hold")
	}
	op := Op{Kind: Partition, Shape: choose(g.c, "shape", g.allowed([]Shape{Halves, RandomHalves, MinorityThird, Isolate, MajoritiesRing, Bridge, LeaderMajority, OneWay})...)}
	switch op.Shape {
	case Isolate:
		op.Target = Sel(choose(g.c, "isolate", One, Minority))
	case OneWay:
		pair := choose(g.c, "one-way", [2]Selector{Followers, Leader}, [2]Selector{Leader, Followers}, [2]Selector{Leader, One},
			[2]Selector{One, All}, [2]Selector{Minority, Majority}, [2]Selector{One, One})
		op.Target, op.To = Sel(pair[0]), Sel(pair[1])
	}
	slow := g.slowLeader(at, 40)
	g.at(at, op)
	if slow {
		g.at(at+hold, Op{Kind: ClockReset, Target: Sel(All)})
	}
	return g.healFlaky(at+hold, room-hold) - at
}

// flakyLinks cuts a node or a minority off two to four times, briefly:
// each heal has the cut-off nodes catch up while their clients already
// read from them.
func flakyLinks(g *gen, at, room time.Duration) time.Duration {
	t, end := at, at
	for i, n := 0, 2+g.c.intn(3, "cuts"); i < n; i++ {
		hold := g.span(800*time.Millisecond, 2500*time.Millisecond, "hold")
		if t+hold > at+room {
			break
		}
		g.at(t, Op{Kind: Partition, Shape: Isolate, Target: Sel(choose(g.c, "isolate", One, Minority, Leader))})
		g.at(t+hold, Op{Kind: Heal})
		end = t + hold
		t = end + g.span(300*time.Millisecond, time.Second, "gap")
	}
	if end == at { // no room even for one cut: one as long as the room
		g.at(at, Op{Kind: Partition, Shape: Isolate, Target: Sel(One)})
		g.at(at+room, Op{Kind: Heal})
		return room
	}
	return end - at
}

// pausedLeader freezes the leader (a long GC pause, a stalled VM) while
// the others elect a new one; when it thaws it still believes it leads
// until it hears otherwise. Sometimes a follower or a minority instead.
func pausedLeader(g *gen, at, room time.Duration) time.Duration {
	hold := g.span(4*time.Second, min(room, 8*time.Second), "hold")
	g.at(at, Op{Kind: Pause, Target: Sel(choose(g.c, "target", Leader, Leader, One, Minority))})
	g.at(at+hold, Op{Kind: Resume, Target: Sel(All)})
	return hold
}

// crash crashes a node, a minority or the leader, and restarts it.
func crash(g *gen, at, room time.Duration) time.Duration {
	hold := g.span(time.Second, min(room, 5*time.Second), "hold")
	g.at(at, Op{Kind: Kill, Target: Sel(choose(g.c, "target", One, Leader, Minority))})
	g.at(at+hold, Op{Kind: Restart, Target: Sel(All)})
	return hold
}

// wipe loses a node's disk — most often the leader's — and restarts it
// 1–3s later: it comes back only by replacement under a new ID (a node
// that rejoins under its old ID with an empty log has forgotten its votes
// and what it acknowledged). The episode leaves 2s for the replacement,
// which runs in the background.
func wipe(g *gen, at, room time.Duration) time.Duration {
	hold := g.span(time.Second, min(room-2*time.Second, 3*time.Second), "hold")
	g.at(at, Op{Kind: Wipe, Target: Sel(choose(g.c, "target", Leader, Leader, Leader, One))})
	g.at(at+hold, Op{Kind: Restart, Target: Sel(All)})
	return hold + 2*time.Second // the replacement, in the background
}

// lossyNetwork loses, duplicates, reorders and delays packets.
func lossyNetwork(g *gen, at, room time.Duration) time.Duration {
	hold := g.span(2*time.Second, min(room, 8*time.Second), "hold")
	g.at(at, Op{Kind: Packet, Packet: drawPacket(g.c, g.o.Nodes)})
	g.at(at+hold, Op{Kind: Heal})
	return hold
}

// membershipPartition changes the membership while the network is split:
// the change can only commit on the majority side, if at all.
func membershipPartition(g *gen, at, room time.Duration) time.Duration {
	hold := g.span(3*time.Second, min(room, 5*time.Second), "hold")
	op := Op{Kind: Partition, Shape: choose(g.c, "shape", g.allowed([]Shape{LeaderMinority, IsolateLeader, Halves, Isolate})...)}
	if op.Shape == Isolate {
		op.Target = Sel(One)
	}
	g.at(at, op)
	change := at + g.span(300*time.Millisecond, 1500*time.Millisecond, "change")
	delta := 0
	switch g.c.intn(3, "change") {
	case 0:
		g.at(change, Op{Kind: Replace, Target: Sel(choose(g.c, "who", Leader, One))})
	case 1:
		g.at(change, Op{Kind: AddNode})
		delta = 1
	default:
		g.at(change, Op{Kind: RemoveNode, Target: Sel(choose(g.c, "who", Leader, One))})
		delta = -1
	}
	g.at(at+hold, Op{Kind: Heal})
	end := at + hold
	if delta != 0 && end+500*time.Millisecond <= at+room {
		end += 500 * time.Millisecond
		if delta > 0 {
			g.at(end, Op{Kind: RemoveNode, Target: Sel(One)})
		} else {
			g.at(end, Op{Kind: AddNode})
		}
	}
	return end - at
}

// snapshotCatchUp cuts followers off until the leader has compacted its
// log past them, so that they catch up by snapshot.
func snapshotCatchUp(g *gen, at, room time.Duration) time.Duration {
	timeout := choose(g.c, "timeout", 3*time.Second, 5*time.Second, 8*time.Second)
	if timeout+500*time.Millisecond > room {
		timeout = room - 500*time.Millisecond
	}
	g.at(at, Op{Kind: SnapshotIsolate, Target: Sel(choose(g.c, "target", One, Minority)),
		Gap: choose(g.c, "gap", 0, 50, 100, 500), Timeout: timeout})
	return timeout + 500*time.Millisecond
}

// clockChaos skews or strobes clocks, and some of the time isolates the
// leader meanwhile.
func clockChaos(g *gen, at, room time.Duration) time.Duration {
	hold := g.span(3*time.Second, min(room, 8*time.Second), "hold")
	t := Sel(choose(g.c, "target", One, Leader, Minority, Followers, All))
	if g.c.intn(2, "strobe") == 0 {
		g.at(at, Op{Kind: Skew, Target: t, Rate: choose(g.c, "rate", 2.0, 0.5, 4.0, 0.25, 1.25, 0.8)})
	} else {
		g.at(at, Op{Kind: Strobe, Target: t, Low: choose(g.c, "low", 0.5, 0.25), High: choose(g.c, "high", 2.0, 4.0),
			Period: choose(g.c, "period", time.Second, 500*time.Millisecond, 100*time.Millisecond, 2*time.Second)})
	}
	if len(g.allowed([]Shape{IsolateLeader})) > 0 && g.coin(40, "isolate?") {
		g.at(at+hold/3, Op{Kind: Partition, Shape: IsolateLeader})
		g.at(at+hold, Op{Kind: Heal})
	}
	g.at(at+hold, Op{Kind: ClockReset, Target: Sel(All)})
	return hold
}

// describe names the episodes of a schedule for tests and docs.
func (ep episode) String() string { return fmt.Sprintf("%s (weight %d)", ep.name, ep.weight) }
