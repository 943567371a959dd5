package nemesis

import (
	"testing"
	"time"

	"github.com/splitbrain/splitbrain/harness/world"
)

// TestGenerateAdaptsToWhatTheWorldRefuses: a world without a filesystem
// layer, clock control or sender-side packet faults (etcd in the process
// world) gets no fault it refuses in a generated schedule; power failures
// become process crashes of the same nodes, lossy networks keep their
// loss. With nothing refused the schedule is the sim's, unchanged.
func TestGenerateAdaptsToWhatTheWorldRefuses(t *testing.T) {
	refuses := func(op Op) bool {
		switch op.Kind {
		case LoseUnsynced, TornWrite, Skew, Strobe, ClockReset:
			return true
		case Packet:
			p := op.Packet
			return p.Dup != 0 || p.Reorder != 0 || p.Delay != 0 || p.Jitter != 0 || p.Only != world.AllMessages
		}
		return false
	}
	var crashes, substituted int
	for seed := uint64(1); seed <= 60; seed++ {
		o := GenOptions{Duration: time.Minute}
		plain := Generate(seed, o)
		o.Refuses = refuses
		if again := Generate(seed, GenOptions{Duration: time.Minute}); again.String() != plain.String() {
			t.Fatalf("seed %d: the same options gave two schedules", seed)
		}
		adapted := Generate(seed, o)
		want := 0
		for _, e := range plain.Events {
			switch e.Op.Kind {
			case LoseUnsynced, TornWrite:
				substituted++
				want++
			case Kill:
				want++
			}
		}
		got := 0
		for _, e := range adapted.Events {
			if refuses(e.Op) {
				t.Fatalf("seed %d: the schedule keeps %s, which the world refuses:\n%s", seed, e.Op, adapted)
			}
			if e.Op.Kind == Kill {
				got++
			}
		}
		if got != want {
			t.Errorf("seed %d: %d kills, want %d (the power failures as crashes):\nplain:\n%s\nadapted:\n%s", seed, got, want, plain, adapted)
		}
		crashes += got
	}
	if substituted == 0 {
		t.Fatal("no seed drew a power failure: the test shows nothing")
	}
	t.Logf("%d power failures became process crashes (%d kills in all)", substituted, crashes)
}
