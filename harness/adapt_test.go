package harness

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/splitbrain/splitbrain/harness/proc"
	"github.com/splitbrain/splitbrain/harness/world"
	"github.com/splitbrain/splitbrain/model"
	"github.com/splitbrain/splitbrain/nemesis"
)

// capsOnly is a process-world system that is nothing but its capabilities.
type capsOnly struct {
	proc.System
	caps proc.Caps
}

func (c capsOnly) Caps() proc.Caps { return c.caps }

// TestRefusalsFollowTheSystem: the generator is told what the process
// world will refuse for the system under test — a filesystem fault and a
// packet fault confined to a message class always, clock and sender-side
// packet faults when the system lacks them,
// partitions without nftables — and the sim refuses nothing.
func TestRefusalsFollowTheSystem(t *testing.T) {
	skew := nemesis.Op{Kind: nemesis.Skew, Rate: 2}
	delay := nemesis.Op{Kind: nemesis.Packet, Packet: nemesis.PacketSpec{Delay: 100 * time.Millisecond}}
	loss := nemesis.Op{Kind: nemesis.Packet, Packet: nemesis.PacketSpec{Loss: 0.2}}
	entries := nemesis.Op{Kind: nemesis.Packet, Packet: nemesis.PacketSpec{Loss: 1, Only: world.Entries}}
	torn := nemesis.Op{Kind: nemesis.TornWrite}
	part := nemesis.Op{Kind: nemesis.Partition, Shape: nemesis.Halves}
	learner := nemesis.Op{Kind: nemesis.AddNode, Learner: true}
	if r := refusals(&Test{Mode: "sim"}, nil); r != nil {
		t.Fatal("the sim refuses faults")
	}
	ref := refusals(&Test{Mode: "process"}, nil)
	for op, want := range map[*nemesis.Op]bool{&skew: false, &delay: false, &loss: false, &entries: true, &torn: true, &part: false, &learner: false} {
		if got := ref(*op); got != want {
			t.Errorf("reference node: refuses %s = %v, want %v", op, got, want)
		}
	}
	bare := refusals(&Test{Mode: "process", NoNetFaults: true}, capsOnly{caps: proc.Caps{Membership: []string{"add", "remove"}}})
	for op, want := range map[*nemesis.Op]bool{&skew: true, &delay: true, &loss: true, &entries: true, &torn: true, &part: true, &learner: true} {
		if got := bare(*op); got != want {
			t.Errorf("a system with no capabilities, no nftables: refuses %s = %v, want %v", op, got, want)
		}
	}
}

// TestLivenessOfAHaltedRun: the sim stops at the first invariant
// violation; liveness then says it was not judged, and why — not that the
// history ended before a "final heal" that was only the last fault.
func TestLivenessOfAHaltedRun(t *testing.T) {
	out, err := Run(context.Background(), Test{Seed: 1, Duration: Duration(20 * time.Second), Bugs: []string{"forget-vote"},
		Results: t.TempDir(), Quick: true})
	if err != nil {
		t.Fatal(err)
	}
	r := out.Results
	if r.Invariants.Violation == nil {
		t.Fatalf("forget-vote at seed 1 broke no invariant: %s", r.Invariants.Detail)
	}
	if want := "not judged: the simulation stopped at the invariant violation at"; r.Liveness.Valid != model.Unknown || !strings.HasPrefix(r.Liveness.Detail, want) {
		t.Errorf("liveness %s %q, want unknown %q…", r.Liveness.Valid, r.Liveness.Detail, want)
	}
}
