package selftest

import (
	"testing"
	"time"

	"github.com/splitbrain/splitbrain/harness"
	"github.com/splitbrain/splitbrain/harness/world"
	"github.com/splitbrain/splitbrain/model"
)

// TestSignature: the first failure names the check and the anomaly, in
// campaign's order; a run that did not fail has none.
func TestSignature(t *testing.T) {
	lin := model.Linearizability{Valid: model.Invalid, Anomaly: model.AnomalyStaleRead, AnomalyTime: int64(7 * time.Second)}
	inv := harness.Invariants{Valid: model.Invalid, Violation: &world.InvariantError{Invariant: "election-safety", Time: 3 * time.Second}}
	dead := model.Liveness{Valid: model.Invalid}
	for _, tc := range []struct {
		res      harness.Results
		sig, how string
		at       time.Duration
	}{
		{harness.Results{Valid: model.Valid, TestSeconds: 20}, "", "", 0},
		{harness.Results{Valid: model.Unknown, Liveness: model.Liveness{Valid: model.Unknown}, TestSeconds: 20}, "", "", 0},
		{harness.Results{Valid: model.Invalid, Linearizability: lin, TestSeconds: 20}, "linearizability/stale-read", "linearizability/stale-read", 7 * time.Second},
		{harness.Results{Valid: model.Invalid, Invariants: inv, TestSeconds: 3}, "invariant/election-safety", "invariant/election-safety", 3 * time.Second},
		{harness.Results{Valid: model.Invalid, Linearizability: lin, Invariants: inv, TestSeconds: 3}, "linearizability/stale-read", "linearizability/stale-read, invariant/election-safety", 3 * time.Second},
		{harness.Results{Valid: model.Invalid, Liveness: dead, TestSeconds: 20.5}, "liveness", "liveness", 20500 * time.Millisecond},
	} {
		if sig, h, at := Signature(&tc.res), how(&tc.res), DetectionTime(&tc.res); sig != tc.sig || h != tc.how || at != tc.at {
			t.Errorf("%+v: signature %q, how %q, detected at %v; want %q, %q, %v", tc.res, sig, h, at, tc.sig, tc.how, tc.at)
		}
	}
}
