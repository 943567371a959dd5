package selftest

import (
	"strings"

	"github.com/splitbrain/splitbrain/harness"
	"github.com/splitbrain/splitbrain/nemesis"
)

// how names every check that caught a run, for the table.
func how(res *harness.Results) string {
	f := res.Failures()
	if len(f) == 0 {
		return res.Signature()
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
