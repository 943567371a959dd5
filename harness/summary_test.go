package harness

import (
	"strings"
	"testing"

	"github.com/splitbrain/splitbrain/model"
)

// TestSummaryShares: the summary gives the outcome shares and warns, in a
// line of its own, when too few operations ended ok; it never changes the
// verdict line for it.
func TestSummaryShares(t *testing.T) {
	healthy := &Results{Valid: model.Valid, Ops: model.Stats{"read": {"ok": 75, "fail": 20}, "write": {"ok": 0, "info": 5}}}
	healthy.Shares = healthy.Ops.Shares()
	healthy.LowOKShare = healthy.Shares.Low()
	s := Summary(healthy, nil, false)
	if !strings.Contains(s, "shares:   ok 75.0% · fail 20.0% · info 5.0% of 100 ops · informative 80.0%") {
		t.Errorf("no shares line:\n%s", s)
	}
	if strings.Contains(s, "warning:") {
		t.Errorf("a healthy run warned:\n%s", s)
	}

	starved := &Results{Valid: model.Valid, Ops: model.Stats{"read": {"ok": 37, "fail": 963}}}
	starved.Shares = starved.Ops.Shares()
	starved.LowOKShare = starved.Shares.Low()
	s = Summary(starved, nil, false)
	if !starved.LowOKShare || !strings.Contains(s, "warning:  only 3.7% of operations ended ok (under 20%)") {
		t.Errorf("a run with 3.7%% ok did not warn:\n%s", s)
	}
	if !strings.Contains(s, "verdict:  VALID") {
		t.Errorf("the warning changed the verdict:\n%s", s)
	}
}

// TestSummaryNoNodeUp: the summary says how long no node was up, when
// the cluster size is known.
func TestSummaryNoNodeUp(t *testing.T) {
	r := &Results{Valid: model.Valid, TestSeconds: 40,
		NoNodeUp: &model.Downtime{Longest: 13_749_000_000, LongestStart: 9_802_000_000, Total: 17_582_000_000, Spans: 2}}
	if s := Summary(r, nil, false); !strings.Contains(s, "outage:   no node up for 13.749s at most (from 9.802s); 17.582s in all over 2 spans, 44% of the test") {
		t.Errorf("no outage line:\n%s", s)
	}
	r.NoNodeUp = &model.Downtime{}
	if s := Summary(r, nil, false); !strings.Contains(s, "outage:   none: some node was up throughout") {
		t.Errorf("no outage line:\n%s", s)
	}
	r.NoNodeUp = nil
	if s := Summary(r, nil, false); strings.Contains(s, "outage:") {
		t.Errorf("an outage line without a cluster size:\n%s", s)
	}
}

// TestResultsCarryShares: results.json has the shares, the low-share flag
// and the downtime of a run.
func TestResultsCarryShares(t *testing.T) {
	out := RunTest(t, shortTest(t, 7))
	r, err := ReadResults(out.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if r.Shares != r.Ops.Shares() || r.Shares.Ops == 0 || r.LowOKShare != r.Shares.Low() {
		t.Errorf("results.json shares %+v (low %v), ops %v", r.Shares, r.LowOKShare, r.Ops)
	}
	if r.NoNodeUp == nil {
		t.Errorf("results.json has no no_node_up")
	}
}
