package harness

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/splitbrain/splitbrain/model"
)

// RunTest runs test from a Go test and fails t unless the verdict is
// valid, printing the seed, the one-line repro command and the results
// directory — one line in a user's test:
//
//	func TestMyCluster(t *testing.T) {
//		harness.RunTest(t, harness.Test{Seed: 7, Duration: harness.Duration(30 * time.Second)})
//	}
//
// Results go to $SPLITBRAIN_RESULTS if set, else to splitbrain-results in
// the system's temporary directory (kept after the test, so a failure can
// be inspected), unless test.Results is set.
func RunTest(t testing.TB, test Test) *Outcome {
	t.Helper()
	if test.Results == "" {
		test.Results = os.Getenv("SPLITBRAIN_RESULTS")
		if test.Results == "" {
			test.Results = filepath.Join(os.TempDir(), "splitbrain-results")
		}
	}
	out, err := Run(context.Background(), test)
	if err != nil {
		t.Fatalf("splitbrain: the test could not run: %v", err)
	}
	if out.Results.Valid != model.Valid {
		r := out.Results
		t.Fatalf("splitbrain: verdict %s (seed %d)\n%s\nrepro:   %s\nresults: %s",
			r.Valid, r.Seed, Summary(r, &out.Test, false), r.Repro, out.Dir)
	}
	return out
}
