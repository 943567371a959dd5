// Package harness runs Jepsen-style tests of raft systems.
//
// A Test says what to run: a register workload against a cluster in a
// world (the deterministic sim, or real processes), under a fault
// schedule — generated from the seed, replayed from a file, or scripted
// in Lua — checked at the end for linearizability (per key, porcupine),
// liveness after the final heal and during partial partitions, and, in
// the sim, raft's safety invariants. Run runs it and writes the run
// directory:
//
//	<results>/<name>/<UTC time>/
//	    test.json          every parameter, the seed, versions, the schedule
//	    history.jsonl      the history, written and synced as the test runs
//	    results.json       the verdict ("valid": true | false | "unknown") and what is behind it
//	    schedule.txt       the fault schedule it ran
//	    repro              the one command that replays it
//	    latency.png rate.png timeline.html    for people
//	    timeline/part-*.html                  the timeline's pages, when it is more than one file
//	    linearizability.html                  porcupine's diagram, when invalid
//	    logs/<node>.log    per-node logs (deterministic text in the sim)
//
// Check re-checks a run directory or checks a history file (ours or
// Jepsen's).
//
// The system under test is the reference node (package raftkv, with its
// canaries in Test.Bugs), or — Test.SystemImpl — a node of the user's own
// written to the contract in package raftnode, which the sim drives and
// checks the same way. For Go tests, RunTest is the one-line helper: on a
// failure it shrinks the schedule (nemesis.Shrink, keeping the failure's
// Signature) and prints the check, its explanation, the shrunk schedule
// and the command that replays it (for a node in Go, `go test` with
// $SPLITBRAIN_SEED and $SPLITBRAIN_SCHEDULE); CheckProperty is the rapid
// property every generated schedule must pass, for any node.
//
// Memory does not grow with the test. The recorder writes the history to
// disk and keeps none of it; the check reads the file in passes
// (passes.go): a survey counts it and keeps what the linear verdicts need
// (statistics, the few events liveness looks at, each key's last
// position), then the linearizability check hands each key to porcupine
// as soon as its last event is read, while the plots and the timeline are
// drawn from another reading of the file on a goroutine of their own, side
// by side. Test.ArtefactsOnFailure (run --artefacts-on-failure, what
// campaigns pass) draws them only for a run that does not pass.
// Results.Phases says where a run's wall time went.
//
// A verdict is only as good as the run behind it. A run stopped early
// (its context cancelled: SIGINT or SIGTERM on the command line) is
// checked, but is at best unknown (Results.Incomplete); so is a run
// directory without results.json (a run killed before it finished), which
// Check re-checks into check.json, never touching results.json. A run
// whose world failed (Results.RunError) is at best unknown too, and a
// re-check carries that failure over: the history alone cannot show it.
// Test.CheckTimeout bounds the whole check in wall time, the artefacts
// included: past it the verdict is at best unknown and says so
// (Results.CheckTimedOut, Results.Skipped). Validate refuses what a run
// cannot hold (MaxDuration, MaxOps: the history takes disk) and
// schedules that name nodes that can never exist or run past the end.
// Test.Progress draws a live status line from the recorded events, the
// same for every world.
//
// Test.System names the system under test: the reference node (default),
// etcd (etcd, etcd@v3.5.0, etcd@debian; package harness/proc/etcd) or a
// system file describing any binary that speaks the KV protocol
// (proc.LoadSystemFile); ResolveSystem turns the name into the process
// world's proc.System, and Test.SystemImpl takes one as a Go value. After
// the clients' last operations the world's convergence check
// (World.Converge) asks whether every member holds the same data; a
// member that never converges makes the run invalid (Results.Convergence).
//
// The worlds meet the runner through package world; nothing above it
// knows which world it is in.
package harness
