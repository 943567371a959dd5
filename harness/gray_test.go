package harness

import (
	"context"
	"testing"
	"time"

	"github.com/splitbrain/splitbrain/model"
	"github.com/splitbrain/splitbrain/nemesis"
)

// TestGrayFaultsShowTheirCanaries: faults under which the nodes stay up
// and keep hearing each other, but part of the work stops, each catch the
// canary whose window they open, while the reference node stays valid
// under the same schedule.
//
//   - A majority's disks stall for longer than a request may wait, then
//     recover. The writes that waited commit once the stall ends (the
//     stalled nodes had received them), so a node that answers their
//     timeouts "fail" — the definite-on-unknown canary — is caught by a
//     read of a failed write.
//   - A node is cut off, then the network heals but its entries stay
//     black-holed for 3s (only=entries, links=behind): it hears the
//     leader and has its reads confirmed, but cannot catch up, so a node
//     that answers a confirmed read before applying up to it — the
//     read-before-apply canary — serves stale reads.
func TestGrayFaultsShowTheirCanaries(t *testing.T) {
	for _, c := range []struct {
		name, schedule, bug, caught string
	}{
		{"stall", "3.0s stall-disk majority\n9.0s unstall-disk all\n", "definite-on-unknown", "linearizability/aborted-read"},
		{"entries", "3.0s partition isolate n2\n8.0s heal\n8.0s packet loss=1 only=entries links=behind\n11.0s heal\n",
			"read-before-apply", "linearizability/stale-read"},
	} {
		s, err := nemesis.ParseString(c.schedule, c.name+".txt")
		if err != nil {
			t.Fatal(err)
		}
		for _, bug := range []string{"", c.bug} {
			t.Run(c.name+"/bug="+bug, func(t *testing.T) {
				tt := Test{Seed: 1, Duration: Duration(20 * time.Second), LivenessBound: Duration(5 * time.Second),
					Schedule: &s, Results: t.TempDir(), Quick: true}
				want := model.Valid
				if bug != "" {
					tt.Bugs, want = []string{bug}, model.Invalid
				}
				out, err := Run(context.Background(), tt)
				if err != nil {
					t.Fatal(err)
				}
				r := out.Results
				if r.Valid != want {
					t.Fatalf("verdict %s, want %s\n%s", r.Valid, want, Summary(r, &out.Test, false))
				}
				if bug != "" && r.Signature() != c.caught {
					t.Errorf("caught as %q, want %s", r.Signature(), c.caught)
				}
			})
		}
	}
}
