package nemesis

// Judge runs a candidate schedule and returns the signature of its run:
// what failed, in a form two runs that failed the same way share ("" for
// a run that did not fail).
type Judge func(Schedule) (string, error)

// Shrink deletes events from s, whose run failed with signature want,
// while the run still fails with that signature: chunks first, halving
// the chunk size when nothing more goes, then single events (in the
// spirit of pebble's reducer), until no single event can go, maxRuns runs
// are spent, or stop says so. A candidate that passes, or fails
// differently, is rejected: a smaller schedule that fails some other way
// is a different bug, and a repro that drifted onto it would mislead. It
// returns the smallest schedule found and the runs spent.
//
// Budgets are runs, never wall time, so the same failure shrinks to the
// same schedule on any machine.
func Shrink(s Schedule, want string, maxRuns int, run Judge, stop func() bool) (Schedule, int, error) {
	if want == "" {
		panic("nemesis: shrinking a schedule whose run did not fail")
	}
	runs := 0
	spent := func() bool { return runs >= maxRuns || stop != nil && stop() }
	cur := s
	for chunk := max(1, len(cur.Events)/2); !spent(); {
		removed := false
		for i := 0; i < len(cur.Events) && !spent(); {
			cand := Schedule{Events: append(append([]Event(nil), cur.Events[:i]...), cur.Events[min(len(cur.Events), i+chunk):]...)}
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
