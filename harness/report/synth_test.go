package report

import (
	"math"
	"math/rand"
	"sort"
	"strconv"

	"github.com/splitbrain/splitbrain/harness/history"
)

// synth builds a plausible history of n client ops over procs processes
// with a fixed fault schedule spread over the run: a partition, a kill
// with an overlapping pause, a note and a clock fault that never ends.
// During the partition ops slow down, fail or time out as info; a process
// whose op timed out continues as a new process, as in Jepsen.
func synth(n, procs int, seed int64) []history.Event {
	rng := rand.New(rand.NewSource(seed))
	type span struct{ from, to int64 }
	// Rough duration: procs ops in flight, ~3 ms each.
	dur := int64(n) * 3e6 / int64(procs)
	at := func(frac float64) int64 { return int64(frac * float64(dur)) }
	partition := span{at(0.2), at(0.4)}
	kill := span{at(0.5), at(0.65)}
	in := func(s span, t int64) bool { return t >= s.from && t < s.to }

	var evs []history.Event
	add := func(e history.Event) { evs = append(evs, e) }
	fs := []string{history.FRead, history.FWrite, history.FCAS}
	next := make([]int64, procs)
	ids := make([]int, procs)
	for p := range ids {
		ids[p] = p
		next[p] = int64(rng.Intn(1e6))
	}
	for i := 0; i < n; i++ {
		p := i % procs
		t0 := next[p]
		f := fs[rng.Intn(3)]
		key := "k" + strconv.Itoa(rng.Intn(8))
		inv := history.Event{Time: t0, Type: history.Invoke, Process: history.Process(ids[p]), F: f, Key: key}
		switch f {
		case history.FWrite:
			inv.Value = history.Str(strconv.Itoa(i))
		case history.FCAS:
			inv.Prev, inv.Value = history.Str(strconv.Itoa(rng.Intn(n))), history.Str(strconv.Itoa(i))
		}
		lat := int64(math.Exp(rng.NormFloat64()*0.6) * 2e6)
		done := inv
		done.Type = history.OK
		done.Node = "n" + strconv.Itoa(1+rng.Intn(5))
		if f == history.FRead {
			done.Value = history.Str(strconv.Itoa(rng.Intn(n)))
		}
		switch {
		case in(partition, t0) && rng.Intn(3) == 0:
			lat = 60e6 + int64(rng.Intn(40e6))
			done.Type, done.Error = history.Info, "timeout"
		case in(partition, t0) && rng.Intn(3) == 0:
			done.Type, done.Error = history.Fail, "not leader"
		case f == history.FCAS && rng.Intn(4) == 0:
			done.Type = history.Fail
		case in(kill, t0):
			lat *= 3
		}
		done.Time = t0 + lat
		add(inv)
		add(done)
		next[p] = done.Time + int64(rng.Intn(1e6))
		if done.Type == history.Info {
			ids[p] += procs
		}
	}
	nem := func(t int64, f, v string) {
		e := history.Event{Time: t, Type: history.Info, Process: history.Nemesis, F: f}
		if v != "" {
			e.Value = history.Str(v)
		}
		add(e)
	}
	nem(partition.from, history.FaultPartition, "halves [n1 n2] [n3 n4 n5]")
	nem(partition.to, history.FaultHeal, "")
	nem(kill.from, history.FaultKill, "n3")
	nem(at(0.55), history.FaultPause, "n1")
	nem(at(0.6), history.FaultResume, "n1")
	nem(kill.to, history.FaultRestart, "n3")
	nem(at(0.7), history.FaultNote, "checking reads")
	nem(at(0.8), history.FaultClock, "strobe n2 x4")
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].Time < evs[j].Time })
	for i := range evs {
		evs[i].Index = int64(i)
	}
	return evs
}
