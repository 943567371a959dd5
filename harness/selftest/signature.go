package selftest

import (
	"strings"

	"github.com/splitbrain/splitbrain/harness"
	"github.com/splitbrain/splitbrain/model"
	"github.com/splitbrain/splitbrain/nemesis"
)

// Failures names every check that failed in a run, in the order campaign
// signatures rank them (campaign.Anomaly): linearizability with its
// anomaly kind ("linearizability/stale-read"), then a raft invariant
// ("invariant/election-safety"), then "liveness". A run that did not fail
// has none.
func Failures(res *harness.Results) []string {
	var out []string
	if res.Linearizability.Valid == model.Invalid {
		kind := res.Linearizability.Anomaly
		if kind == "" {
			kind = model.AnomalyOther
		}
		out = append(out, "linearizability/"+kind)
	}
	if res.Invariants.Valid == model.Invalid {
		name := "unknown"
		if res.Invariants.Violation != nil {
			name = res.Invariants.Violation.Invariant
		}
		out = append(out, "invariant/"+name)
	}
	if res.Liveness.Valid == model.Invalid {
		out = append(out, "liveness")
	}
	return out
}

// Signature is what failed in a run: its first failure (see Failures), or
// "" when the run did not fail. Two runs with one signature failed the
// same way.
func Signature(res *harness.Results) string {
	if res.Valid != model.Invalid {
		return ""
	}
	if f := Failures(res); len(f) > 0 {
		return f[0]
	}
	return "invalid"
}

// how names every check that caught a run, for the table.
func how(res *harness.Results) string {
	f := Failures(res)
	if len(f) == 0 {
		return Signature(res)
	}
	return strings.Join(f, ", ")
}

// judge runs a candidate schedule and returns the signature of its run.
type judge func(nemesis.Schedule) (string, error)

// shrink deletes events from s, whose run failed with signature want,
// while the run still fails with that signature: chunks first, halving
// the chunk size when nothing more goes, then single events, until no
// single event can go or maxRuns runs are spent (or stop says so). A
// candidate that passes, or fails differently, is rejected. It returns
// the smallest schedule found and the runs spent.
func shrink(s nemesis.Schedule, want string, maxRuns int, run judge, stop func() bool) (nemesis.Schedule, int, error) {
	if want == "" {
		panic("selftest: shrinking a schedule whose run did not fail")
	}
	runs := 0
	spent := func() bool { return runs >= maxRuns || stop() }
	cur := s
	for chunk := max(1, len(cur.Events)/2); !spent(); {
		removed := false
		for i := 0; i < len(cur.Events) && !spent(); {
			cand := nemesis.Schedule{Events: append(append([]nemesis.Event(nil), cur.Events[:i]...), cur.Events[min(len(cur.Events), i+chunk):]...)}
			runs++
			got, err := run(cand)
			if err != nil {
				return cur, runs, err
			}
			if got == want {
				cur, removed = cand, true
				continue // try the same position again
			}
			i += chunk
		}
		if !removed {
			if chunk == 1 {
				break
			}
			chunk /= 2
		}
		chunk = min(chunk, max(1, len(cur.Events)))
	}
	return cur, runs, nil
}
