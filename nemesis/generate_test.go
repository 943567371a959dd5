package nemesis

import (
	"flag"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/splitbrain/splitbrain/harness/world"

	"pgregory.net/rapid"
)

func TestGenerateIsDeterministic(t *testing.T) {
	opts := GenOptions{Duration: 60 * time.Second}
	seen := map[string]uint64{}
	for seed := uint64(1); seed <= 50; seed++ {
		a, b := Generate(seed, opts).String(), Generate(seed, opts).String()
		if a != b {
			t.Fatalf("seed %d: two schedules:\n%s\n---\n%s", seed, a, b)
		}
		if prev, dup := seen[a]; dup {
			t.Fatalf("seeds %d and %d gave the same schedule:\n%s", prev, seed, a)
		}
		seen[a] = seed
	}
}

// closers says which ops end a window-opening op, besides heal-all.
var closers = map[Kind][]Kind{
	Partition: {Heal}, Packet: {Heal}, SnapshotIsolate: {},
	Kill: {Restart}, LoseUnsynced: {Restart}, TornWrite: {Restart}, Wipe: {Restart},
	Pause: {Resume}, Skew: {ClockReset}, Strobe: {ClockReset}, StallDisk: {UnstallDisk},
}

// checkGenerated asserts what every generated schedule promises, of
// generators that heal what they start within maxHold: valid, ending with
// heal-all at the final heal and nothing after, only allowed families,
// every window-opening fault closed by its own closer within maxHold
// (unless the final heal-all comes first), and healers that act on all
// nodes or on named ones.
func checkGenerated(t interface {
	Fatalf(string, ...any)
}, s Schedule, opts GenOptions, maxHold time.Duration) {
	o := opts.withDefaults()
	if err := s.Validate(); err != nil {
		t.Fatalf("invalid: %v\n%s", err, s)
	}
	n := len(s.Events)
	if n == 0 || s.Events[n-1].Op.Kind != HealAllKind || s.Events[n-1].At != o.FinalHeal {
		t.Fatalf("does not end with heal-all at %s:\n%s", fmtAt(o.FinalHeal), s)
	}
	g := newGen(nil, o)
	for i, e := range s.Events[:n-1] {
		if e.At >= o.FinalHeal {
			t.Fatalf("event %q at or after the final heal %s", e, fmtAt(o.FinalHeal))
		}
		if e.Op.Kind == HealAllKind {
			t.Fatalf("heal-all before the end: %q", e)
		}
		if f := e.Op.Kind.Family(); f != "" && !g.has(f) && !(f == "partition" && g.shapes[e.Op.Shape]) {
			t.Fatalf("event %q is of family %s, not allowed (%v)", e, f, o.Kinds)
		}
		cl, opens := closers[e.Op.Kind]
		if !opens || len(cl) == 0 || e.At+maxHold >= o.FinalHeal {
			continue
		}
		healed := false
		for _, later := range s.Events[i+1:] {
			if later.At-e.At > maxHold {
				break
			}
			if slices.Contains(cl, later.Op.Kind) && (later.Op.Target.Sel == All || later.Op.Target.Sel == "" ||
				later.Op.Target.Sel == Explicit && e.Op.Target.Sel == Explicit && slices.Equal(later.Op.Target.Nodes, e.Op.Target.Nodes) ||
				later.Op.Target.Sel == Ranked && e.Op.Target.Sel == Ranked && slices.Equal(later.Op.Target.Ranks, e.Op.Target.Ranks)) {
				healed = true
				break
			}
		}
		if !healed {
			t.Fatalf("%q is not healed within %s:\n%s", e, maxHold, s)
		}
	}
	for _, e := range s.Events {
		if e.Op.Kind == Restart || e.Op.Kind == Resume || e.Op.Kind == ClockReset || e.Op.Kind == UnstallDisk {
			if e.Op.Target.Sel != All && e.Op.Target.Sel != Explicit && e.Op.Target.Sel != Ranked {
				t.Fatalf("%q: generated healers act on all, or on named or ranked nodes", e)
			}
		}
	}
}

// longestEpisode is the longest an episode may last.
func longestEpisode() time.Duration {
	var d time.Duration
	for _, ep := range episodes {
		d = max(d, ep.max)
	}
	return d
}

// generated returns the schedule of seed and its episodes.
func generated(seed uint64, opts GenOptions) (Schedule, []placed) {
	o := opts.withDefaults()
	g := newGen(pcgChooser{rand.New(rand.NewPCG(seed, 0x6e656d65736973))}, o)
	g.timeline()
	return finish(g.evs, o), g.placed
}

var genOptionSets = []GenOptions{
	{Duration: 60 * time.Second},
	{Duration: 60 * time.Second, FinalHeal: 47 * time.Second}, // as a default run has it
	{Duration: 60 * time.Second, FinalHeal: 47 * time.Second, Nodes: 3},
	{Duration: 60 * time.Second, FinalHeal: 47 * time.Second, Nodes: 7},
	{Duration: 20 * time.Second, Kinds: []string{"kill", "packet"}},
	{Duration: 5 * time.Minute, FinalHeal: 4 * time.Minute, Kinds: []string{"membership"}},
	{Duration: 40 * time.Second, Kinds: []string{"partition:one-way"}},
	{Duration: 40 * time.Second, Kinds: []string{"partition", "kill"}},
	{Duration: 3 * time.Second}, // final heal at 0: heal-all only
}

func TestGeneratedSchedulesKeepTheirPromises(t *testing.T) {
	for _, opts := range genOptionSets {
		for seed := uint64(0); seed < 200; seed++ {
			s := Generate(seed, opts)
			checkGenerated(t, s, opts, longestEpisode())
			if again, _ := generated(seed, opts); again.String() != s.String() {
				t.Fatalf("generated() differs from Generate for seed %d", seed)
			}
		}
	}
	if s := Generate(1, GenOptions{Duration: 3 * time.Second}); s.String() != "0.0s heal-all\n" {
		t.Fatalf("a 3s test has no room for faults, got:\n%s", s)
	}
}

// TestFaultsAlternateWithRecovery: a generated timeline is fault periods
// (episodes) separated by quiet periods of at least quietMin in which no
// fault is in force; every event lies in an episode; each episode undoes
// what it started by its end: the network healed, crashed nodes
// restarted, paused ones resumed, clocks reset.
func TestFaultsAlternateWithRecovery(t *testing.T) {
	for _, opts := range genOptionSets {
		o := opts.withDefaults()
		for seed := uint64(0); seed < 200; seed++ {
			s, eps := generated(seed, opts)
			evs := s.Events[:len(s.Events)-1] // the final heal-all
			for i, ep := range eps {
				if i > 0 && ep.at-eps[i-1].end < quietMin {
					t.Fatalf("seed %d: %s starts %s after %s ends, want a quiet period of at least %s:\n%s",
						seed, ep.name, ep.at-eps[i-1].end, eps[i-1].name, quietMin, s)
				}
				if ep.end > o.FinalHeal-quietMin {
					t.Fatalf("seed %d: %s ends at %s, less than a quiet period before the final heal", seed, ep.name, ep.end)
				}
			}
			for _, e := range evs {
				in := slices.IndexFunc(eps, func(ep placed) bool { return e.At >= ep.at && e.At <= ep.end })
				if in < 0 {
					t.Fatalf("seed %d: %q lies in no episode:\n%s", seed, e, s)
				}
			}
			for _, ep := range eps {
				var network, down, paused, clocks bool
				var snapshotUntil time.Duration
				for _, e := range evs {
					if e.At < ep.at || e.At > ep.end {
						continue
					}
					switch e.Op.Kind {
					case Partition, Packet:
						network = true
					case Heal:
						network = false
					case Kill, LoseUnsynced, TornWrite, Wipe:
						down = true
					case Restart:
						down = down && e.Op.Target.Sel != All
					case Pause:
						paused = true
					case Resume:
						paused = false
					case Skew, Strobe:
						clocks = true
					case ClockReset:
						clocks = false
					case SnapshotIsolate:
						snapshotUntil = e.At + e.Op.Timeout
					}
				}
				if network || down || paused || clocks || snapshotUntil > ep.end {
					t.Fatalf("seed %d: episode %s [%s, %s] leaves faults in force (network %v, crashed %v, paused %v, clocks %v, snapshot-isolate until %s):\n%s",
						seed, ep.name, ep.at, ep.end, network, down, paused, clocks, snapshotUntil, s)
				}
			}
		}
	}
}

// TestWholeClusterDownOnlyBriefly: only a power failure may take every
// node down at once (lose-unsynced or torn-write of all), and it restarts
// them within 1.5s; no other generated op targets every node with a
// crash or a pause.
func TestWholeClusterDownOnlyBriefly(t *testing.T) {
	for _, opts := range genOptionSets {
		for seed := uint64(0); seed < 300; seed++ {
			s := Generate(seed, opts)
			for i, e := range s.Events {
				switch e.Op.Kind {
				case Kill, Pause, Wipe:
					if e.Op.Target.Sel == All || e.Op.Target.Sel == Random {
						t.Fatalf("seed %d: %q may take the whole cluster down", seed, e)
					}
				case LoseUnsynced, TornWrite:
					if e.Op.Target.Sel != All {
						continue
					}
					j := slices.IndexFunc(s.Events[i+1:], func(l Event) bool { return l.Op.Kind == Restart && l.Op.Target.Sel == All })
					if j < 0 || s.Events[i+1+j].At-e.At > 1500*time.Millisecond {
						t.Fatalf("seed %d: %q is not restarted within 1.5s:\n%s", seed, e, s)
					}
				}
			}
		}
	}
}

// TestEveryRunHasTheMustEpisodes: with every family allowed, every run of
// a default test (60s, final heal at 47s) has a deposed leader, a lost
// quorum, a lost disk and a long asymmetric partition; a membership churn
// comes in many, first thing when it does; the others vary from run to
// run, and each comes in some.
func TestEveryRunHasTheMustEpisodes(t *testing.T) {
	opts := GenOptions{Duration: 60 * time.Second, FinalHeal: 47 * time.Second}
	runs := map[string]int{}
	combos := map[string]bool{}
	for seed := uint64(1); seed <= 500; seed++ {
		_, eps := generated(seed, opts)
		if eps[0].name == "membership-churn" && eps[0].at > firstMax {
			t.Fatalf("seed %d: the run starts with membership-churn at %s, want it by %s", seed, eps[0].at, firstMax)
		}
		seen := map[string]bool{}
		var names []string
		for _, ep := range eps {
			if !seen[ep.name] {
				seen[ep.name] = true
				runs[ep.name]++
				names = append(names, ep.name)
			}
		}
		sort.Strings(names)
		combos[strings.Join(names, ",")] = true
		for _, ep := range episodes {
			if ep.must && !seen[ep.name] {
				t.Fatalf("seed %d: no %s episode: %v", seed, ep.name, names)
			}
		}
	}
	for _, ep := range episodes {
		if runs[ep.name] == 0 {
			t.Errorf("episode %s never came in 500 runs", ep.name)
		}
	}
	if runs["membership-churn"] < 200 {
		t.Errorf("a membership churn in %d of 500 runs, want at least 200", runs["membership-churn"])
	}
	if len(combos) < 20 {
		t.Errorf("only %d distinct sets of episodes in 500 runs: %v", len(combos), combos)
	}
}

// TestFamiliesNarrowTheEpisodes: a run allowed some families only gets
// episodes made of them: partition and kill give no clock, disk or
// membership faults; kill alone still loses quorums and crash-loops.
func TestFamiliesNarrowTheEpisodes(t *testing.T) {
	for _, tc := range []struct {
		kinds []string
		want  []string // episodes that must come in some run
		never []string
	}{
		{[]string{"partition", "kill"}, []string{"deposed-leader", "quorum-loss", "asymmetric", "cascade"}, []string{"membership-churn", "power-failure"}},
		{[]string{"kill"}, []string{"quorum-loss", "crash-loop", "crash"}, []string{"deposed-leader", "asymmetric", "cascade"}},
		{[]string{"partition:one-way"}, []string{"asymmetric", "split"}, []string{"deposed-leader", "cascade", "flaky-links"}},
		{[]string{"membership"}, []string{"membership-churn"}, []string{"quorum-loss"}},
	} {
		opts := GenOptions{Duration: 60 * time.Second, Kinds: tc.kinds}
		seen := map[string]bool{}
		for seed := uint64(1); seed <= 200; seed++ {
			_, eps := generated(seed, opts)
			for _, ep := range eps {
				seen[ep.name] = true
			}
		}
		for _, w := range tc.want {
			if !seen[w] {
				t.Errorf("%v: no %s in 200 runs (got %v)", tc.kinds, w, seen)
			}
		}
		for _, n := range tc.never {
			if seen[n] {
				t.Errorf("%v: %s came, though it needs another family", tc.kinds, n)
			}
		}
	}
}

func TestDefaultFinalHeal(t *testing.T) {
	for _, tc := range []struct{ d, want time.Duration }{
		{60 * time.Second, 45 * time.Second},
		{10 * time.Second, 5 * time.Second},
		{4 * time.Minute, 3 * time.Minute},
	} {
		s := Generate(7, GenOptions{Duration: tc.d})
		if got := s.End(); got != tc.want {
			t.Errorf("duration %s: final heal at %s, want %s", tc.d, got, tc.want)
		}
	}
}

func TestGenOptionsValidate(t *testing.T) {
	for _, o := range []GenOptions{
		{},
		{Duration: time.Second, FinalHeal: 2 * time.Second},
		{Duration: time.Second, Kinds: []string{"partitoin"}},
		{Duration: time.Second, Nodes: -1},
	} {
		if err := o.Validate(); err == nil {
			t.Errorf("%+v: accepted", o)
		}
	}
	err := GenOptions{Duration: time.Second, Kinds: []string{"partitoin"}}.Validate()
	if err == nil || !strings.Contains(err.Error(), `did you mean "partition"`) {
		t.Errorf("unknown family: %v", err)
	}
	defer func() {
		if recover() == nil {
			t.Error("Generate with bad options did not panic")
		}
	}()
	Generate(1, GenOptions{})
}

func TestScheduleGenKeepsPromises(t *testing.T) {
	opts := GenOptions{Duration: 40 * time.Second, Kinds: []string{"partition", "kill", "disk", "clock"}}
	rapid.Check(t, func(t *rapid.T) {
		checkGenerated(t, ScheduleGen(opts).Draw(t, "schedule"), opts, 8*time.Second)
	})
}

// quietTB runs a rapid check that is expected to fail, recording the
// failure instead of failing the test.
type quietTB struct {
	*testing.T
	failed bool
}

func (q *quietTB) Logf(string, ...any)   {}
func (q *quietTB) Log(...any)            {}
func (q *quietTB) Errorf(string, ...any) { q.failed = true }
func (q *quietTB) Error(...any)          { q.failed = true }
func (q *quietTB) Fatalf(string, ...any) { q.failed = true }
func (q *quietTB) Fatal(...any)          { q.failed = true }
func (q *quietTB) Fail()                 { q.failed = true }
func (q *quietTB) FailNow()              { q.failed = true }
func (q *quietTB) Failed() bool          { return q.failed }

// TestScheduleGenShrinks: a property that fails on any schedule with a
// kill shrinks to the smallest such schedule: one kill of one node, its
// restart after the shortest hold, and the final heal-all.
func TestScheduleGenShrinks(t *testing.T) {
	// The failure is expected: keep rapid from saving it under testdata.
	prev := flag.Lookup("rapid.nofailfile").Value.String()
	if err := flag.Set("rapid.nofailfile", "true"); err != nil {
		t.Fatal(err)
	}
	defer flag.Set("rapid.nofailfile", prev)
	opts := GenOptions{Duration: 40 * time.Second, Kinds: []string{"partition", "kill", "disk", "clock"}}
	var last Schedule
	q := &quietTB{T: t}
	rapid.Check(q, func(t *rapid.T) {
		s := ScheduleGen(opts).Draw(t, "schedule")
		last = s
		for _, e := range s.Events {
			if e.Op.Kind == Kill {
				t.Fatalf("has a kill")
			}
		}
	})
	if !q.failed {
		t.Fatal("rapid never drew a kill")
	}
	// The last run replays the minimal failing case.
	want := []Kind{Kill, Restart, HealAllKind}
	var got []Kind
	for _, e := range last.Events {
		got = append(got, e.Op.Kind)
	}
	if !slices.Equal(got, want) || last.Events[0].Op.Target.Sel != One || last.Events[1].At-last.Events[0].At != time.Second {
		t.Fatalf("shrunk to:\n%swant one kill of one node restarted 1s later, then heal-all", last)
	}
}

// TestShortTestsGetFaults: a test too short for every must-have episode
// keeps time for those that fit and still gets faults (the README's 30s
// example had none when time was kept for all of them).
func TestShortTestsGetFaults(t *testing.T) {
	for _, tc := range []struct {
		opts GenOptions
		want int
	}{
		{GenOptions{Duration: 30 * time.Second, FinalHeal: 17 * time.Second}, 1},
		{GenOptions{Duration: 20 * time.Second, FinalHeal: 10 * time.Second}, 1},
	} {
		opts := tc.opts
		for seed := uint64(1); seed <= 200; seed++ {
			if _, eps := generated(seed, opts); len(eps) < tc.want {
				t.Fatalf("%s test, seed %d: %d episodes (%v)", opts.Duration, seed, len(eps), eps)
			}
		}
	}
}

// TestLongTestsHaveFaultsToTheEnd: a long test's episodes go on until
// shortly before its final heal (a 10-minute test ran out of episodes at
// about 6 minutes).
func TestLongTestsHaveFaultsToTheEnd(t *testing.T) {
	opts := GenOptions{Duration: 10 * time.Minute, FinalHeal: 587 * time.Second}
	for seed := uint64(1); seed <= 20; seed++ {
		_, eps := generated(seed, opts)
		if last := eps[len(eps)-1].end; last < opts.FinalHeal-30*time.Second {
			t.Errorf("seed %d: the last episode ends at %s, long before the final heal at %s", seed, last, opts.FinalHeal)
		}
	}
}

// TestQuorumLossStallsDisksWhenItMay: with the disk family allowed, the
// quorum-loss episode most often stalls a majority's disks (the form
// whose pending writes surely commit once it ends: the stalled nodes kept
// receiving them); without the family it pauses or crashes them. A world
// that refuses stalls (the process world) gets a pause of the same nodes
// in their place.
func TestQuorumLossStallsDisksWhenItMay(t *testing.T) {
	count := func(s Schedule, k Kind) (n int) {
		for _, e := range s.Events {
			if e.Op.Kind == k {
				n++
			}
		}
		return n
	}
	refuseStalls := func(op Op) bool { return op.Kind == StallDisk || op.Kind == UnstallDisk }
	stalled := 0
	for seed := uint64(1); seed <= 40; seed++ {
		s := Generate(seed, GenOptions{Duration: time.Minute})
		n := count(s, StallDisk)
		if n != count(s, UnstallDisk) {
			t.Fatalf("seed %d: %d stalls, %d unstalls:\n%s", seed, n, count(s, UnstallDisk), s)
		}
		if n > 0 {
			stalled++
		}
		if s := Generate(seed, GenOptions{Duration: time.Minute, Kinds: []string{"partition", "kill", "pause"}}); count(s, StallDisk) != 0 {
			t.Fatalf("seed %d: a disk stalled without the disk family:\n%s", seed, s)
		}
		a := Generate(seed, GenOptions{Duration: time.Minute, Refuses: refuseStalls})
		if count(a, StallDisk)+count(a, UnstallDisk) != 0 || count(a, Pause) != count(s, Pause)+n || count(a, Resume) != count(s, Resume)+n {
			t.Fatalf("seed %d: the stalls did not become pauses:\nplain:\n%s\nadapted:\n%s", seed, s, a)
		}
	}
	if stalled < 25 {
		t.Errorf("only %d of 40 runs stall a disk", stalled)
	}
	t.Logf("%d of 40 runs stall a majority's disks", stalled)
}

// TestDeposedLeaderHealsSlowly: the heal that ends a deposed-leader
// episode is most often followed by a black hole of the entries to the
// nodes behind (the side that was cut off), so that they hear the leader
// while they cannot catch up; never without the packet family, and the
// process world (which refuses it) gets the plain heal.
func TestDeposedLeaderHealsSlowly(t *testing.T) {
	slow := func(s Schedule) (n int) {
		for i, e := range s.Events {
			if e.Op.Kind == Packet && e.Op.Packet.Only == world.Entries && e.Op.Packet.Of.Sel == Behind {
				if i == 0 || s.Events[i-1].Op.Kind != Heal || s.Events[i-1].At != e.At {
					t.Fatalf("an entries black hole not right after a heal:\n%s", s)
				}
				n++
			}
		}
		return n
	}
	refuseClasses := func(op Op) bool { return op.Kind == Packet && op.Packet.Only != world.AllMessages }
	runs := 0
	for seed := uint64(1); seed <= 40; seed++ {
		if slow(Generate(seed, GenOptions{Duration: time.Minute})) > 0 {
			runs++
		}
		if n := slow(Generate(seed, GenOptions{Duration: time.Minute, Kinds: []string{"partition", "kill", "clock"}})); n != 0 {
			t.Fatalf("seed %d: %d entries black holes without the packet family", seed, n)
		}
		a := Generate(seed, GenOptions{Duration: time.Minute, Refuses: refuseClasses})
		for _, e := range a.Events {
			if refuseClasses(e.Op) {
				t.Fatalf("seed %d: the refused %s is in the schedule:\n%s", seed, e.Op, a)
			}
		}
	}
	if runs < 30 {
		t.Errorf("only %d of 40 runs heal a deposed leader slowly", runs)
	}
	t.Logf("%d of 40 runs heal a deposed leader slowly", runs)
}
