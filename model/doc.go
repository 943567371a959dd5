// Package model is what "correct" means: it turns a history into verdicts.
//
// # Linearizability
//
// The register workload reads, writes, compare-and-sets and deletes string
// values on many keys (a delete makes its key absent, the value a read of a
// key never written returns, and the value a cas expecting nil needs).
// CheckLinearizable checks that each key behaves as one atomic
// register: that some total order of its operations, consistent with real
// time, explains every result. The checker is porcupine with a small KV
// model (kv.go): the state of a key is its value, interned to an integer so
// Equal is a comparison and Hash a multiply; Partition splits by key.
//
// A history becomes porcupine operations like this (ops.go):
//
//   - Real time is the history's Index, the recorder's order, not Time. In
//     the simulator many events share a virtual time, and porcupine's
//     intervals are closed, so equal times would make ordered operations
//     concurrent and hide anomalies. Time is only for people.
//   - ok: the operation happened between its invocation and completion.
//   - fail: it did not happen; it is left out.
//   - info, or no completion before the history ended: it may or may not
//     have happened, at any time after its invocation. It ends after the
//     last event, with an output that constrains nothing. A read of unknown
//     outcome says nothing and is left out. So is a write, cas or delete of
//     unknown outcome whose value nobody needs (no ok read returned it, no ok cas or
//     needed cas of unknown outcome expected it): dropping it provably never
//     changes the verdict, and keeping it would double the search.
//
// Each key is checked on its own, in parallel, by porcupine's fast check
// within Options.Timeout; a key not decided in time is Unknown. A
// KeyChecker takes the keys one at a time, as a caller reading a history
// too large for memory completes them (keycheck.go), and keeps only the
// failing keys it needs to explain (the first MaxKeptFailingKeys by
// name); CheckLinearizable is a KeyChecker fed from memory, and the
// result does not depend on the order or the number of workers. Only if a
// key fails does the slower verbose check run, on the failing keys, within
// Options.VerboseTimeout: it yields porcupine's longest partial
// linearizations, which explain the first failing key (the one that sorts
// first) and, when Options.HTMLPath is set, porcupine's visualization,
// drawn with the history's fault windows as annotations on rows labelled
// "faults" below the clients (diagram.go). The file at HTMLPath shows a
// window of the first failing key around the first operation its longest
// linearizable order cannot place, opened on it; when that is not the
// whole diagram, linearizability-full.html beside it holds every
// operation of every failing key, one link away. Both keep their row
// labels in view when scrolled sideways, and everything porcupine's page
// turns into HTML (state descriptions, operation metadata: values, nodes,
// error texts) is escaped, so a history cannot put script into it.
//
// # Explanations and the anomaly taxonomy
//
// The explanation (explain.go) names one operation to blame and says, with
// processes, nodes, values and times in seconds, why no order admits it,
// what it should have seen, and during which fault windows it ran. The
// operation blamed is the first that no order could ever admit (the static
// kinds below); failing that, the operation that blocks porcupine's longest
// linearizable prefix: of those left out, the first to return that cannot
// be the next step. An explanation cites only operations that could have
// caused what it explains: the value an operation saw came from a write of
// it invoked before that operation returned (registers that write the same
// value many times have later writes of it, which cannot have), and a
// newer value counts as evidence only if every write that could have
// produced it began after. Linearizability.Anomaly classifies it:
//
//   - phantom-read: an ok read returned a value no operation ever wrote to
//     the key, and not the initial value.
//   - aborted-read: an ok read returned a value written only by operations
//     that failed (a failed operation must not take effect).
//   - future-read: an ok read returned a value whose every write began after
//     the read had returned.
//   - stale-read: an ok read returned a value already replaced before it
//     began: a write of another value completed before the read started and
//     began after every write of the value read had completed (or another
//     operation had already observed such a newer value), and that newer
//     value was seen by some operation, so the write was not lost.
//   - lost-write: as stale-read, but the newer value was acknowledged and no
//     operation ever observed it: the acknowledged write was lost.
//   - cas-anomaly: a cas succeeded although its expected value could not
//     have been current: overwritten before it began, never written,
//     written only by failed operations, or written only after it returned.
//   - non-linearizable: none of the above explains it; for example several
//     reads that see concurrent writes in contradictory orders. The
//     explanation then reports the longest order found and the register
//     value it leaves.
//
// # Liveness and stats
//
// A history read one event at a time is judged for liveness and downtime
// from the few events LivenessEvents keeps (every nemesis event and, after
// each, the first ok read, the first ok write and the first write sent to
// each node), and counted by a StatsCounter: both give exactly what the
// whole history gives.
//
// CheckLiveness asks whether the system served clients again after the
// faults: within a bound of the final heal (the end of the last fault
// window, or the start of the test without faults) at least one read and
// one write or cas must complete ok. A fault never healed makes it
// Unknown; a fault the world refused opened no window and counts for
// nothing (history.FaultWindows).
//
// It also asks for availability during a partition that leaves a fully
// connected majority of the voters (the nemesis notes it on the event):
// with PreVote and CheckQuorum raft must elect or keep a leader there. The
// demand is only what a client could have observed: from the first write
// or cas sent, during the partition, to a node of that majority, an ok
// write must complete within the bound, provided that the partition lasts
// that long and nothing else is in effect. A partition whose majority no
// client writes to demands nothing. ComputeStats counts outcomes per
// operation and fault events per action. Check runs all three and combines
// the verdicts with Validity.And, as Jepsen's compose checker does.
//
// # How much a run tested
//
// Stats.Shares gives the shares of client operations that ended ok, fail
// and info, and the informative share (ok, plus writes of unknown outcome,
// which may have taken effect). A run whose ok share is under MinOKShare
// is flagged: few of its operations could observe anything, so its
// verdict, whatever it is, rests on little. NoNodeUp measures, from the
// nemesis events, how long no member node was up.
package model
