package nemesis

import (
	"flag"
	"slices"
	"strings"
	"testing"
	"time"

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
	Pause: {Resume}, Skew: {ClockReset}, Strobe: {ClockReset},
}

// checkGenerated asserts what every generated schedule promises.
func checkGenerated(t interface {
	Fatalf(string, ...any)
}, s Schedule, opts GenOptions) {
	o := opts.withDefaults()
	if err := s.Validate(); err != nil {
		t.Fatalf("invalid: %v\n%s", err, s)
	}
	n := len(s.Events)
	if n == 0 || s.Events[n-1].Op.Kind != HealAllKind || s.Events[n-1].At != o.FinalHeal {
		t.Fatalf("does not end with heal-all at %s:\n%s", fmtAt(o.FinalHeal), s)
	}
	for i, e := range s.Events[:n-1] {
		if e.At >= o.FinalHeal {
			t.Fatalf("event %q at or after the final heal %s", e, fmtAt(o.FinalHeal))
		}
		if e.Op.Kind == HealAllKind {
			t.Fatalf("heal-all before the end: %q", e)
		}
		if f := e.Op.Kind.Family(); f != "" && !slices.Contains(o.Kinds, f) {
			t.Fatalf("event %q is of family %s, not allowed (%v)", e, f, o.Kinds)
		}
		// Every window-opening fault is healed by its own closer within
		// the longest hold (8s), unless the final heal-all comes first.
		cl, opens := closers[e.Op.Kind]
		if !opens || len(cl) == 0 || e.At+8*time.Second >= o.FinalHeal {
			continue
		}
		healed := false
		for _, later := range s.Events[i+1:] {
			if later.At-e.At > 8*time.Second {
				break
			}
			if slices.Contains(cl, later.Op.Kind) {
				healed = true
				break
			}
		}
		if !healed {
			t.Fatalf("%q is not healed within 8s:\n%s", e, s)
		}
	}
	for _, e := range s.Events {
		if e.Op.Kind == Restart || e.Op.Kind == Resume || e.Op.Kind == ClockReset {
			if e.Op.Target.Sel != All {
				t.Fatalf("%q: generated healers act on all", e)
			}
		}
	}
}

func TestGeneratedSchedulesKeepTheirPromises(t *testing.T) {
	for _, opts := range []GenOptions{
		{Duration: 60 * time.Second},
		{Duration: 20 * time.Second, Kinds: []string{"kill", "packet"}},
		{Duration: 5 * time.Minute, FinalHeal: 4 * time.Minute, Kinds: []string{"membership"}},
		{Duration: 3 * time.Second}, // final heal at 0: heal-all only
	} {
		for seed := uint64(0); seed < 200; seed++ {
			checkGenerated(t, Generate(seed, opts), opts)
		}
	}
	if s := Generate(1, GenOptions{Duration: 3 * time.Second}); s.String() != "0.0s heal-all\n" {
		t.Fatalf("a 3s test has no room for faults, got:\n%s", s)
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

// TestGenerateIsSwarm: seeds pick different subsets of the families and
// different intensities, and together they use every family.
func TestGenerateIsSwarm(t *testing.T) {
	opts := GenOptions{Duration: 120 * time.Second}
	subsets := map[string]bool{}
	used := map[string]bool{}
	counts := map[int]bool{}
	for seed := uint64(0); seed < 200; seed++ {
		s := Generate(seed, opts)
		k := s.Kinds()
		subsets[strings.Join(k, ",")] = true
		for _, f := range k {
			used[f] = true
		}
		counts[len(s.Events)/10] = true
	}
	if len(subsets) < 50 {
		t.Errorf("only %d distinct family subsets over 200 seeds", len(subsets))
	}
	for _, f := range Families() {
		if !used[f] {
			t.Errorf("family %s never generated", f)
		}
	}
	if len(counts) < 4 {
		t.Errorf("intensity hardly varies: schedule lengths (in tens) %v", counts)
	}
	var single bool
	for s := range subsets {
		if s != "" && !strings.Contains(s, ",") {
			single = true
		}
	}
	if !single {
		t.Error("no seed chose a single family")
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
		checkGenerated(t, ScheduleGen(opts).Draw(t, "schedule"), opts)
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
