package selftest

import (
	"strings"

	"github.com/splitbrain/splitbrain/harness"
)

// Failures names every check that failed in a run, in the order campaign
// signatures rank them (campaign.Anomaly): harness.Results.Failures.
func Failures(res *harness.Results) []string { return res.Failures() }

// Signature is what failed in a run (harness.Results.Signature): two runs
// with one signature failed the same way, which shrinking (nemesis.Shrink)
// keeps.
func Signature(res *harness.Results) string { return res.Signature() }

// how names every check that caught a run, for the table.
func how(res *harness.Results) string {
	f := Failures(res)
	if len(f) == 0 {
		return Signature(res)
	}
	return strings.Join(f, ", ")
}
