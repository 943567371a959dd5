package harness

import (
	"testing"
	"time"

	"github.com/splitbrain/splitbrain/harness/proc"
	"github.com/splitbrain/splitbrain/nemesis"
)

// capsOnly is a process-world system that is nothing but its capabilities.
type capsOnly struct {
	proc.System
	caps proc.Caps
}

func (c capsOnly) Caps() proc.Caps { return c.caps }

// TestRefusalsFollowTheSystem: the generator is told what the process
// world will refuse for the system under test — a filesystem fault always,
// clock and sender-side packet faults when the system lacks them,
// partitions without nftables — and the sim refuses nothing.
func TestRefusalsFollowTheSystem(t *testing.T) {
	skew := nemesis.Op{Kind: nemesis.Skew, Rate: 2}
	delay := nemesis.Op{Kind: nemesis.Packet, Packet: nemesis.PacketSpec{Delay: 100 * time.Millisecond}}
	loss := nemesis.Op{Kind: nemesis.Packet, Packet: nemesis.PacketSpec{Loss: 0.2}}
	torn := nemesis.Op{Kind: nemesis.TornWrite}
	part := nemesis.Op{Kind: nemesis.Partition, Shape: nemesis.Halves}
	learner := nemesis.Op{Kind: nemesis.AddNode, Learner: true}
	if r := refusals(&Test{Mode: "sim"}, nil); r != nil {
		t.Fatal("the sim refuses faults")
	}
	ref := refusals(&Test{Mode: "process"}, nil)
	for op, want := range map[*nemesis.Op]bool{&skew: false, &delay: false, &loss: false, &torn: true, &part: false, &learner: false} {
		if got := ref(*op); got != want {
			t.Errorf("reference node: refuses %s = %v, want %v", op, got, want)
		}
	}
	bare := refusals(&Test{Mode: "process", NoNetFaults: true}, capsOnly{caps: proc.Caps{Membership: []string{"add", "remove"}}})
	for op, want := range map[*nemesis.Op]bool{&skew: true, &delay: true, &loss: true, &torn: true, &part: true, &learner: true} {
		if got := bare(*op); got != want {
			t.Errorf("a system with no capabilities, no nftables: refuses %s = %v, want %v", op, got, want)
		}
	}
}
