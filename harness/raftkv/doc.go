// Package raftkv is the reference system under test: a key-value store
// replicated by etcd raft (go.etcd.io/raft/v3).
//
// Its core, Node, is sans-IO, in the layering of etcd raft itself (a pure
// raft.go, a synchronous rawnode.go, goroutine drivers outside), and one
// implementation of the node contract (package raftnode: Node, Write,
// Durable, Request and Response are the contract's types, under raftkv's
// names; System is the reference node as the harness runs it): a value
// fed with inputs — Tick, Step (a peer's message), Request (a client's),
// ProposeConfChange, WriteDone (storage made a write durable) — that
// returns outputs from Ready: writes to persist, messages to send,
// responses to deliver. No goroutines, no clocks, no files. The sim
// (package sim) and the process world (package proc) drive the same core.
//
// It honours raft's Ready contract exactly:
//
//   - HardState, entries and snapshots are persisted before any message
//     that depends on them is sent: a Ready with a synced Write holds back
//     its messages until WriteDone (Output.Writes, Write.Sync);
//   - a write of entry i discards persisted entries at index ≥ i
//     (Durable.Apply is the reference semantics every storage follows);
//   - snapshots and committed entries are applied in order, conf changes
//     through ApplyConfChange (ConfChangeV2: add or remove voters, add
//     learners, promote);
//   - Advance comes last.
//
// Client requests carry a unique id (a session and a sequence number, so
// a duplicated proposal applies once). A write is acknowledged only once
// applied; a read is linearizable by ReadIndex (ReadOnlySafe) and answered
// only when the applied index reaches the read index. Fail means the node
// knows the operation did not and will not take effect (a cas whose
// expectation failed, a proposal dropped before entering any log); when it
// cannot know (a timeout after proposing) the outcome is Unknown. PreVote
// and CheckQuorum are on; followers forward proposals.
//
// Inputs are batched until the next Ready (batch.go): the proposals that
// arrived since (the node's clients' and those its peers forwarded) go to
// raft as one MsgProp, the reads as one ReadIndex, so a driver that feeds
// many inputs per Ready gets one round of messages for all of them. A
// batch of one reaches raft exactly as without batching.
//
// The node snapshots every SnapshotEvery applied entries and compacts its
// log (and takes a snapshot right after a conf change once compacted, as
// raft only sends a joining node a snapshot that includes it). A restarted
// node rebuilds from its durable snapshot and log only; a member whose
// durable state is gone refuses to start (ErrDataLost) and must be
// replaced under a new ID. A node given its bootstrap peers that finds
// only part of its bootstrap (some of the conf-change entries and no hard
// state: a torn first write, which it never acted on) bootstraps again. A
// durable log with a hole in it is refused at start (New), and never
// written (Durable.Apply panics).
//
// Known-bug canaries (bugs.go) re-create documented classes of raft-system
// bugs; they are off by default and exist to prove the harness catches
// them.
package raftkv
