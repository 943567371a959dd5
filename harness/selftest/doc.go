// Package selftest proves the harness can fail, and measures how well.
//
// # Canaries (Run)
//
// For each known-bug canary of the reference node, Run searches seeds 1,
// 2, … in the sim until a run is invalid, shrinks that run's schedule to a
// few events, and then runs clean seeds without any bug to count false
// positives. Detection uses only what a user's run would: the
// linearizability checker, the liveness check and the sim's raft
// invariants, on schedules from the swarm generator restricted to the
// fault families the canary's doc line names (raftkv.Exposers) — never a
// hand-written schedule.
//
// Every canary is searched twice. The first search has every check; the
// second skips the mechanism invariants (sim.MechanismInvariants: what a
// node persists before it speaks, what it keeps across a restart), which
// see a defect itself rather than its effect. What the second search
// catches is what the consequence checks alone catch: a lost acknowledged
// write, a stale read, a cluster that stops serving, and the raft safety
// invariants that watch outcomes (two leaders in one term, a committed
// entry missing from a later leader, two different entries applied at
// one index). Process mode, where no invariant can be watched, has the
// first three; a row whose consequence column names an invariant shows
// what the sim alone can see. The second search is reported, not judged:
// a canary only its mechanism catches is still caught.
//
// # Budgets are seeds and runs, never wall time
//
// A search tries at most Options.Seeds seeds and the shrinker spends at
// most Options.ShrinkRuns runs, so the same command gives the same table
// on any machine, loaded or not. Wall time is measured and printed in the
// last column, for people; it decides nothing.
//
// # Shrinking keeps the failure
//
// The shrinker (nemesis.Shrink, which harness.RunTest uses too) deletes
// events (chunks first, then single events, in the spirit of pebble's
// reducer) and keeps a smaller schedule only if its run
// fails with the same Signature as the original: the same check and the
// same anomaly kind (linearizability/stale-read, invariant/election-safety,
// liveness). A smaller schedule that fails some other way is a different
// bug, and a repro that drifted onto it would mislead.
//
// # The defaults (RunDefaults)
//
// RunDefaults measures bug-finding power with the settings a user gets:
// for each canary it runs exactly the campaign `splitbrain campaign
// --seeds N --bug X` runs (campaign.DefaultParams, child processes and
// all, through campaign.Run: no per-canary parameter), and reports per
// canary the seeds that caught it out of N, the checks that did, and the
// median simulated time to detection: when the failing run's first
// anomaly was seen (the invariant violation, the operation the
// linearizability checker blames) or, for liveness, the end of the test.
// Goals are checked only on request.
package selftest
