package harness

import (
	"context"
	"testing"
	"time"

	"github.com/splitbrain/splitbrain/model"
	"github.com/splitbrain/splitbrain/nemesis"
)

// TestDiskStallShowsWritesReportedFailed: a majority's disks stall for
// longer than a request may wait, then recover. The writes that waited
// commit once the stall ends (the stalled nodes had received them), so a
// node that answers their timeouts "fail" — the definite-on-unknown
// canary — is caught by a read of a failed write, while the reference
// node, which answers "unknown", stays valid under the same stall.
func TestDiskStallShowsWritesReportedFailed(t *testing.T) {
	s, err := nemesis.ParseString("3.0s stall-disk majority\n9.0s unstall-disk all\n", "stall.txt")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		bug  string
		want model.Validity
	}{{"", model.Valid}, {"definite-on-unknown", model.Invalid}} {
		t.Run("bug="+c.bug, func(t *testing.T) {
			tt := Test{Seed: 1, Duration: Duration(20 * time.Second), LivenessBound: Duration(5 * time.Second),
				Schedule: &s, Results: t.TempDir(), Quick: true}
			if c.bug != "" {
				tt.Bugs = []string{c.bug}
			}
			out, err := Run(context.Background(), tt)
			if err != nil {
				t.Fatal(err)
			}
			r := out.Results
			if r.Valid != c.want {
				t.Fatalf("verdict %s, want %s\n%s", r.Valid, c.want, Summary(r, &out.Test, false))
			}
			if c.bug != "" && r.Signature() != "linearizability/aborted-read" {
				t.Errorf("caught as %q, want a read of a write answered fail (linearizability/aborted-read)", r.Signature())
			}
		})
	}
}
