// Package campaign runs many tests: a matrix of cells — fault mixes, or
// Lua scenarios — × seeds, each run a child process, and summarizes them
// with the failures grouped by signature. It is what `splitbrain
// campaign` runs every night.
//
// # Plan
//
// Params name the cells (Nemesis: sets of fault families, parsed by
// ParseSets from "partition;kill;partition,kill,pause"; or Scenarios) and
// the seeds (FirstSeed, FirstSeed+1, …: Seeds of them, or as many as the
// wall-clock Budget allows). The full run list is seed-major — every cell
// for seed 1, then for seed 2 — so a budget that ends early has covered
// the cells evenly. A budget is the one place wall time decides
// something, and only how far down the list a campaign gets (at least its
// first run, however loaded the machine): every run is still exactly its
// seed's, and the index records which ran. Seeds alone give the same
// campaign on every machine. DefaultParams are what the command runs
// when no flag says otherwise. Run i of the list has the same cell and seed on every
// machine, which makes sharding a pure function: shard i/n (1-based, as
// CI matrices count; a Kubernetes indexed job passes
// $((JOB_COMPLETION_INDEX+1))/n) runs the indices ≡ i-1 mod n. The shards
// are disjoint and together are the full list (a property test checks
// it). Fingerprint identifies the list, so that Merge refuses to combine
// campaigns of different matrices.
//
// # Runs
//
// Each run is `splitbrain run --seed S [--nemesis F | --scenario P] [--bug
// B] … --results <campaign>/runs/<cell>-s<seed>`, started from
// Options.Exe (the running binary by default). One simulation per process
// keeps each run exactly its seed's: nothing is shared, and the sim
// points crypto/rand at its own seeded stream for the process's one run.
// Children run in their own process group: Ctrl-C reaches the campaign
// alone, which kills every child's group and writes what is done.
//
// Runs are started with --artefacts-on-failure (unless Params.AllArtefacts):
// a run that passes is a line of the summary, and drawing its plots and
// timeline would cost a good part of its time; a run that does not pass
// draws them. Each entry records where the run's time went (Phases: the
// process's start, the run's own phases from results.json, its exit), and
// the summary gives runs per minute and a run's mean per phase.
//
// A run's verdict comes from its results.json: valid, invalid, unknown,
// or error (no results, or its script failed). Its Signature is the fault
// families in effect (the schedule's, or for a scenario the faults it
// recorded) and the anomaly: "partition+kill / stale-read",
// "kill / invariant:election-safety", "partition / liveness". Failures
// with one signature are usually one bug; the summary shows each group
// once with the repro command of every run in it.
//
// # Output
//
// <results>/campaigns/<UTC start>[-shard-i-of-n]/ holds index.json
// (Index: the parameters, the git stamp of the code under test, every run
// done with its verdict, signature, directory, repro command and git
// stamp; rewritten atomically after each run, so a killed campaign still
// says what it did), summary.html (failures first, grouped; then runs
// without a verdict; then per-cell counts and every run) and runs/.
// Text is the same summary for the terminal. Progress goes to a progress
// bar on a terminal and to one plain line a run otherwise.
//
// Shrinking failures is `splitbrain selftest`'s work. When a run
// directory holds ShrunkFile, the entry's Shrunk carries it and the
// summary shows it beside the repro command; until then the summary says
// that no shrunk schedule exists.
//
// List reads the campaigns under a results directory; ServePage is
// serve's campaigns page (it reads them with ListRoot, through the
// results root, opening only regular index files) and names every
// campaign's runs directory, so that serve's run index lists campaign
// runs too, labelled with their campaign.
package campaign
