// Package raftnode is the contract between splitbrain and a sans-IO raft
// node. Write your node on etcd raft (go.etcd.io/raft/v3) to it — a Node
// and a Factory, handed to the harness as a System — and splitbrain drives
// it in the deterministic simulation: five of your nodes on one seeded
// event loop, under partitions, crashes, lost writes, clock skew and
// membership changes, with a Jepsen-style workload checked for
// linearizability and liveness, raft's safety invariants checked at every
// step, and, when it fails, a shrunk schedule and the command that
// replays it:
//
//	func TestMyNode(t *testing.T) {
//		harness.RunTest(t, harness.Test{Seed: 1, SystemImpl: raftnode.System{
//			Name:    "mynode",
//			New:     func(c raftnode.Config, d *raftnode.Durable, peers []uint64) (raftnode.Node, error) { return mynode.New(c, d, peers) },
//			Reports: raftnode.Reports{Applied: true, StateHash: true},
//		}})
//	}
//
// The reference node (harness/raftkv) is one implementation; the tutorial
// node (harness/examples/tutorial) is another, written against this
// package alone, and a good place to start reading code. This page is
// the whole contract.
//
// # The shape of a node
//
// A node is sans-IO, in the layering of etcd raft itself: a value you feed
// inputs, that hands back, from Ready, the work its driver must do. It
// starts no goroutines, reads no clock, touches no files and draws no
// randomness of its own (raft's election jitter comes from
// crypto/rand.Reader, which the sim seeds). The driver — the sim, or the
// process-mode server — does all the I/O, and calls the node from one
// goroutine at a time.
//
// Inputs:
//
//   - Tick: one tick of the node's clock (raft's RawNode.Tick);
//   - Step: a raft message from a peer;
//   - Request: a client's get, put, cas or delete;
//   - ProposeConfChange: a membership change;
//   - WriteDone: a synced Write is durable;
//   - ReportSnapshot, ReportUnreachable: what the transport learned.
//
// Output, from Ready after every input: Writes to persist (each with its
// Sync flag), Messages to send, Responses to deliver, and — for the sim's
// invariants — Applied, what the state machine applied. Leading and Status
// say who the node thinks leads, and the membership it applied.
//
// # The driver's loop
//
// After every input the driver drains the node:
//
//	for out := n.Ready(); !out.Empty(); out = n.Ready() {
//		for _, w := range out.Writes { persist(w) }  // in order; a synced one: n.WriteDone(w.Seq) once durable
//		for _, m := range out.Messages { send(m) }   // a MsgSnap: n.ReportSnapshot(m.GetTo(), ok)
//		for _, r := range out.Responses { answer(r) }
//		record(out.Applied)                          // the sim's invariants
//	}
//
// A synced Write is durable only later (the sim draws an fsync's duration;
// a crash before it loses the write). Until WriteDone, the node must send
// nothing and answer nothing that depends on it: raft's rule "persist
// before you send". The simplest way, on RawNode: when a Ready must be
// synced, emit its Write and keep the Ready itself until WriteDone; only
// then append to your raft.MemoryStorage, emit the Ready's messages, apply
// its committed entries and call Advance. Emit no further Ready meanwhile
// (Ready returns only what does not depend on the write, such as answers
// to reads whose index is already applied); the driver keeps delivering
// inputs, which raft queues.
//
// # A node on etcd raft's RawNode
//
// Ready, in outline (harness/examples/tutorial has it in full):
//
//	func (n *Node) Ready() raftnode.Output {
//		for n.inflight == nil && n.rn.HasReady() {
//			rd := n.rn.Ready()
//			// note rd.SoftState and rd.HardState for Leading; rd.ReadStates for reads
//			if rd.HardState == nil && len(rd.Entries) == 0 && raft.IsEmptySnap(rd.Snapshot) {
//				n.finish(&rd) // nothing to persist
//				continue
//			}
//			n.seq++
//			w := &raftnode.Write{Seq: n.seq, Sync: rd.MustSync, HardState: rd.HardState, Entries: rd.Entries}
//			if !raft.IsEmptySnap(rd.Snapshot) {
//				w.Snapshot, w.Sync = rd.Snapshot, true
//			}
//			n.out.Writes = append(n.out.Writes, w)
//			if w.Sync {
//				n.inflight, n.inflightSeq = &rd, w.Seq // finish(&rd) in WriteDone
//				break
//			}
//			n.finish(&rd)
//		}
//		out := n.out
//		n.out = raftnode.Output{}
//		return out
//	}
//
// where finish applies rd.Snapshot and appends rd.HardState and
// rd.Entries to the MemoryStorage, emits rd.Messages, applies
// rd.CommittedEntries (calling ApplyConfChange for conf changes), and
// calls Advance. Give raft.Config a Logger (RaftLogger), and turn on
// PreVote and CheckQuorum, as etcd does.
//
// # Starting and restarting: the Factory
//
// The driver calls the Factory whenever a node starts: first, after every
// crash, and for every node added to the cluster. durable is everything
// the node's writes made durable (Durable.Apply folds each write in, in
// order); it is never shared with a running node. Four cases:
//
//   - durable holds a hard state (or a snapshot): the node restarts. Load
//     it into a fresh MemoryStorage (Durable.Restore), rebuild the state
//     machine from the snapshot's data, start raft with Applied at the
//     snapshot's index: raft hands back the committed entries after it to
//     apply again. A node that starts from an empty MemoryStorage instead
//     forgets its term, its vote and its log; the sim's hard-state-kept
//     invariant names it at its first restart. Ignore peers.
//   - peers is not empty and durable holds no hard state: the node is one
//     of the initial members and never completed its first write (or a
//     torn disk kept only part of it): bootstrap a new cluster of peers
//     (RawNode.Bootstrap), which includes cfg.ID.
//   - durable is empty, peers is empty, cfg.Join is set: the node was just
//     added by a conf change; start raft with an empty storage and wait
//     for the leader's log or snapshot.
//   - durable is empty, peers is empty, cfg.Join is not set: the node was
//     a member and lost its disk. Return ErrDataLost: it must not come
//     back under its old ID (with an empty log it would vote as if it had
//     promised nothing); the harness replaces it under a new one.
//
// A durable log with a hole in it is a broken storage: Durable.CheckLog
// (which Restore calls) reports it; refuse to start.
//
// # Requests
//
// Every Request gets exactly one Response with its ID, from some later
// Ready; Outcome says what the client may believe:
//
//   - Put (and CAS, Delete): propose the command with its RequestID in the
//     entry; answer OK when that entry is applied — not when it is
//     proposed (a proposal that never commits would be a lost write). A
//     CAS whose expectation fails applies as a no-op and answers Fail.
//     Keep, in the state machine, the last Seq applied per Client, and do
//     not apply a write again whose Seq is not above it: raft may deliver
//     a forwarded proposal twice.
//   - Get: raft's ReadIndex (ReadOnlySafe), answered with the local value
//     once the node has applied up to the read index — on any node, a
//     follower included. Never from local state alone: a node cut off
//     from the leader serves stale values.
//   - Fail only when the operation did not and will not take effect: raft
//     dropped the proposal (RawNode.Propose returned an error), a read
//     could not be confirmed (its leader changed, it timed out), the
//     operation is not supported, the node was removed.
//   - Unknown when it cannot know: a write still pending after
//     Config.RequestTimeoutTicks (it may yet commit). Answering Fail there
//     is a bug the checker reports as soon as the write shows up.
//
// Client sessions start at 1; each has at most one request in flight and
// its Seq grows. Session 0 is the harness's own (conf changes).
//
// # Membership
//
// ProposeConfChange carries one ConfChangeSingle: add a voter, add a
// learner, promote a learner, remove a member. Put the RequestID in the
// change's Context, propose it, and answer when the entry is applied
// (after RawNode.ApplyConfChange). A node that applies its own removal
// reports Status.Removed (the sim stops it) and answers further requests
// Fail. Set raft.Config.StepDownOnRemoval, or a removed leader goes on
// heartbeating the others. The default nemesis (partitions and kills)
// changes no membership; `--nemesis membership` does.
//
// # Snapshots
//
// Snapshots are optional. A node that never compacts its log is correct
// (raft then never sends a snapshot) but its log grows without bound.
// Config.SnapshotEvery and CompactKeep ask for a snapshot every so many
// applied entries (the harness asks for small numbers, so that followers
// really catch up by snapshot): MemoryStorage.CreateSnapshot with the
// state machine's data, then Compact, and emit a Write with LocalSnapshot
// and Compact. A snapshot received from the leader arrives in a Ready
// (emit it as Write.Snapshot, synced); install it by loading its data into
// the state machine, and report it as Applied with Snapshot set.
//
// # What the sim checks, and what your node must report
//
// The sim sees every write, message and report of every node. The checks
// on the history — linearizability per key (porcupine) and liveness after
// the final heal — need nothing beyond the Responses. The raft
// invariants, checked as the run goes (a violation stops it at once,
// naming the nodes, term, index and time), need the following:
//
//   - election-safety, at most one leader per term: Leading.
//   - log-matching, same index and term means same entry and same
//     history: the Writes.
//   - leader-completeness, an entry committed in a term is in the log of
//     every later term's leader: Leading and the Writes' hard states.
//   - state-machine-safety, every node applies the same entry at an index
//     and reaches the same state: Applied (Reports.Applied) and, for the
//     states, Applied.StateHash (Reports.StateHash). Without state hashes
//     the sim compares only which entry each node applied at each index,
//     and a snapshot only by the entry it ends at: a state machine that
//     diverges while applying the same entries, or a snapshot that loses
//     state, is then left to the linearizability check. Without Applied
//     it is not checked.
//   - committed-entry-kept, a node restarted after a crash that promised
//     its data still holds every entry it applied: Applied. Not checked
//     without it.
//   - persist-before-send, every message is backed by the sender's durable
//     state: the Writes, their Sync flags and the Messages.
//   - hard-state-kept, a node's hard state never goes back (its term, its
//     vote in a term, its commit index), and a restarted node starts raft
//     from the one on its disk: the Writes, and Status's Term and Commit
//     right after a restart.
//   - rejoin-after-data-loss, a node whose disk was wiped does not answer
//     under its old ID: the Messages (return ErrDataLost).
//
// Every node must get the Writes, Messages, Leading and Status right; a
// System declares what else its nodes report (Reports), and the run's
// results say which invariants were not checked in full, and why
// (Results.Invariants.Limits), never guessing. A node that reports
// Applied without declaring it stops the run with an error.
//
// # Running it
//
// harness.RunTest (in a Go test) and harness.Run take the System as
// harness.Test.SystemImpl; harness.CheckProperty puts it through the rapid
// property every generated schedule must pass. The package Example runs the
// tutorial node. The same System serves node processes for the process
// world (see package harness/proc/node, ServeIfNode).
package raftnode
