package harness

import "github.com/splitbrain/splitbrain/model"

// Failures names every check that failed in a run, in the order campaign
// signatures rank them (campaign.Anomaly): linearizability with its
// anomaly kind ("linearizability/stale-read"), then a raft invariant
// ("invariant/election-safety"), then "liveness". A run that did not fail
// has none.
func (r *Results) Failures() []string {
	var out []string
	if r.Linearizability.Valid == model.Invalid {
		kind := r.Linearizability.Anomaly
		if kind == "" {
			kind = model.AnomalyOther
		}
		out = append(out, "linearizability/"+kind)
	}
	if r.Invariants.Valid == model.Invalid {
		name := "unknown"
		if r.Invariants.Violation != nil {
			name = r.Invariants.Violation.Invariant
		}
		out = append(out, "invariant/"+name)
	}
	if r.Liveness.Valid == model.Invalid {
		out = append(out, "liveness")
	}
	return out
}

// Signature is what failed in a run: its first failure (see Failures), or
// "" when the run did not fail (its verdict is not INVALID). Two runs with
// one signature failed the same way: selftest's shrinker and the property
// tests keep a smaller schedule only if its run has the original's.
func (r *Results) Signature() string {
	if r.Valid != model.Invalid {
		return ""
	}
	if f := r.Failures(); len(f) > 0 {
		return f[0]
	}
	return "invalid"
}
