package sim

import (
	"math/rand/v2"
	"time"

	"github.com/splitbrain/splitbrain/harness/world"
)

// Latency is a link's one-way delay distribution: Min plus an exponential
// tail with the given mean above Min.
type Latency struct {
	Min  time.Duration
	Tail time.Duration // mean of the exponential part
}

func (l Latency) sample(rng *rand.Rand) time.Duration {
	d := l.Min
	if l.Tail > 0 {
		d += time.Duration(rng.ExpFloat64() * float64(l.Tail))
	}
	return d
}

type link [2]world.NodeID

// network decides the fate of every message: cut links drop it, packet
// faults delay, drop, duplicate or reorder it. Links are FIFO (like TCP)
// unless a reorder fault is on.
type network struct {
	latency Latency
	reach   world.Reach
	faults  []world.Packet // in force, in the order set
	classed bool           // some fault in faults is confined to a class
	// lastAt is when the last message sent on a link arrives: [0] of the
	// messages of no class, [1] of the Entries. A link carries the two
	// apart (two FIFO streams) while a fault confined to a class is on
	// it (world.SplitsClasses), and all of them in one order otherwise.
	lastAt map[link][2]time.Duration
}

func newNetwork(lat Latency) *network {
	return &network{latency: lat, lastAt: map[link][2]time.Duration{}}
}

func (n *network) setFaults(fs []world.Packet) {
	n.faults, n.classed = fs, false
	for _, f := range fs {
		n.classed = n.classed || f.Only != world.AllMessages
	}
}

// deliveries returns when (relative to now) copies of a message of class
// c sent now on l arrive: none if dropped, two if duplicated.
func (n *network) deliveries(now time.Duration, l link, c world.Class, rng *rand.Rand) (ds [2]time.Duration, count int) {
	if !n.reach.Allows(l[0], l[1]) {
		return ds, 0
	}
	var p world.Packet
	own := 0 // the stream of c in lastAt
	if c == world.Entries {
		own = 1
	}
	split := false
	if len(n.faults) > 0 {
		p = world.PacketsOn(n.faults, l[0], l[1], c)
		split = n.classed && world.SplitsClasses(n.faults, l[0], l[1])
	}
	if p.Loss > 0 && rng.Float64() < p.Loss {
		return ds, 0
	}
	one := func() time.Duration {
		d := n.latency.sample(rng) + p.Delay
		if p.Jitter > 0 {
			d += time.Duration(rng.Int64N(int64(p.Jitter)))
		}
		if p.Reorder > 0 && rng.Float64() < p.Reorder {
			d += time.Duration(rng.Int64N(int64(10 * (p.Delay + p.Jitter + time.Millisecond))))
			return d // a reordered message may overtake or be overtaken
		}
		// FIFO: never before an earlier message of its stream; while the
		// link is one stream, of the link.
		at := n.lastAt[l]
		last := at[own]
		if !split {
			last = max(at[0], at[1])
		}
		if now+d < last {
			d = last - now
		}
		if at[own] = now + d; !split {
			at[1-own] = now + d
		}
		n.lastAt[l] = at
		return d
	}
	ds[0], count = one(), 1
	if p.Duplicate > 0 && rng.Float64() < p.Duplicate {
		ds[1], count = one(), 2
	}
	return ds, count
}
