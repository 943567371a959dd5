// Package sim is the deterministic world: every node, the network, the
// disks and the clocks of a cluster live in one process, driven by a
// single event loop on virtual time.
//
//   - Events are ordered by (virtual time, sequence number); one PRNG,
//     seeded from the run's seed, draws every random choice.
//   - etcd raft draws its randomized election timeouts from
//     crypto/rand.Reader (rand.Int(rand.Reader, …) in raft.go's
//     globalRand). A process that links this package has, from package
//     init on, a crypto/rand.Reader that dispatches by goroutine
//     (seeded.go): the goroutines of a running World — the one that called
//     Run, whose loop runs the events, and its lockstep tasks — draw from
//     the run's PRNG, so raft's timeouts repeat exactly; every other
//     goroutine gets the real reader, as before. Other goroutines reading
//     crypto/rand during a run neither shift its stream nor race with it,
//     and independent Worlds may run at once (each draws from its own
//     stream). Goroutines are told apart by their id, read from their
//     stack trace, only while a run is on.
//   - The network has a latency distribution per link, FIFO delivery like
//     TCP, directed reachability (every partition shape, one-way included)
//     and packet faults: delay, jitter, loss, duplication, reordering.
//   - Disks separate written from durable: a synced write is durable after
//     a simulated fsync; un-synced writes reach the disk after a writeback
//     delay; a crash keeps what its DiskFate says (a process crash keeps
//     the page cache, a power failure only what was fsynced, a torn write
//     a prefix — of the entries only, and only as far as they continue the
//     durable log — a wipe nothing). A stalled disk (SetDiskStall)
//     completes no fsync and writes nothing back until the stall ends,
//     while its node runs on: the completions that fell due meanwhile run
//     then, in order, one fsync later.
//   - Each node's clock has a rate (its tick period), and a random phase.
//   - Nodes crash, restart, pause (inputs queue, time stops for them) and
//     resume; members are added and removed by conf changes. A node none
//     of whose writes ever completed restarts as it first started
//     (bootstrap peers, or joining); what a torn write left of its first
//     write is the node's to recognise (raftkv and the tutorial node
//     bootstrap again).
//   - Ordinary sequential code — client loops, the nemesis, Lua scenarios —
//     runs as lockstep tasks: exactly one runs at a time, handing control
//     back to the loop when it blocks on a world call (Sleep, Client.Do,
//     Group.Wait). So the same workload code runs here and in the process
//     world, and here it is deterministic.
//
// The node under test is Config.System: any node written to the contract
// in package raftnode (the reference node harness/raftkv is one, the
// tutorial node harness/examples/tutorial another). The sim depends on
// that contract only: it feeds a node ticks, messages, client requests
// and WriteDone, and handles what Ready returns — writes to the disk,
// messages to the network, responses to the clients, applied entries to
// the invariants.
//
// The sim is omniscient, so it checks raft's safety invariants as it runs
// (invariants.go). A violation stops the run with a world.InvariantError
// naming the invariant, nodes, term, index and time. What each needs from
// a node, beyond the writes and messages every node emits, is in
// brackets; what a node does not report (raftnode.Reports) is not checked,
// and World.Limits says so — never guessed. Consequence checks — what a
// user of the cluster could see:
//
//   - election-safety: at most one leader per term. A leader is seen when
//     its node's Ready says so (a node deposed or crashed before its first
//     Ready as leader never acted as one). [Node.Leading]
//   - log-matching: entries with the same index and term are the same
//     entry and follow the same term, across every write of every node.
//   - state-machine-safety: every node applies the same entry at an index
//     (log matching makes an entry's term name its contents; a snapshot
//     counts as applying the entry it ends at) and reaches the same state.
//     [Output.Applied; the states: Applied.StateHash. Without state hashes
//     only the entries are compared; without Applied, nothing.]
//   - leader-completeness: an entry committed in term T is in the log of
//     every leader of a term after T. The term an index was committed in
//     is read from the hard states nodes write (a node of term T whose
//     commit index covers it knows it committed in T at the latest); a
//     leader of T or earlier is not bound (a candidate whose vote grants
//     arrive late may win an old term after a later leader committed).
//     [Node.Leading]
//   - membership-agreement: the membership is part of the replicated
//     state: every node that reports an applied index reports, with it,
//     the voters and learners every node (itself included) reported at
//     that index. A node that takes a configuration into use before it
//     applies it (confchange-on-propose), or keeps one whose entry was
//     overwritten, answers "who is in the cluster" differently from the
//     others and counts its quorums over the wrong voters. Checked after
//     every input. [Node.Status, Output.Applied; without Applied, not
//     checked; a status that names no voter reports no membership and is
//     not compared.]
//   - no-panic: a node never panics. A panic raised in a node's code (a
//     call into its raftnode.Node: raft's own assertions, "tocommit is
//     out of range", or the node's) is the node crashing on its own; no
//     fault the harness injects is one a correct node may die of (it
//     fails or leaves unknown what it cannot do, and refuses to start
//     from a disk it cannot trust). It stops the run like any violation,
//     with the panic and its stack in the node's log. A panic in the
//     sim's own code stays the run's error. Before this check, a node's
//     panic ended the run with no verdict (UNKNOWN: liveness could not be
//     judged).
//
// Mechanism checks (MechanismInvariants) — how a node does its work, which
// only the sim can see; Config.Skip turns them off to measure what the
// consequence checks alone catch:
//
//   - persist-before-send: every message is backed by the sender's durable
//     state (term, granted vote, acknowledged entries).
//   - committed-entry-kept: a node restarted after a crash that promised
//     its data (a process crash: everything written; a power failure or
//     torn write: everything fsynced) still holds every entry it applied.
//     A wipe promises nothing. [Output.Applied; without it, not checked.]
//   - rejoin-after-data-loss: a node that lost its durable state to a wipe
//     does not answer votes or appends under its old ID (a correct node
//     refuses to start, raftnode.ErrDataLost, and is replaced under a new
//     one).
//   - hard-state-kept: a node's hard state never goes back — a lower term,
//     another vote in the same term, a lower commit index than the one it
//     wrote before (a wipe excepted) — and a node restarts from the one on
//     its disk: right after a restart, its Status's term and commit index
//     are at least the durable ones. A node whose raft storage does not
//     start from its durable state forgets its vote; this names it at its
//     first restart. [Node.Status]
//
// The checker's records of entries written and indexes applied are kept
// only where a later write or apply could be compared with them: above the
// members' lowest durable snapshot index, below which no node writes or
// applies again (the reasoning is prune's comment; a record needed after
// it was pruned panics, and the package's tests prune at every call). So
// its memory, like a run's node logs (Config.LogDir streams them to their
// files as they are written), does not grow with the length of the run.
//
// testdata/canaries holds schedules under which the canaries that break
// persistence (no-fsync, forget-vote, amnesia-rejoin) are caught by the
// consequence checks alone (harness.TestCanariesCaughtByConsequences).
//
// Determinism is tested: the same seed gives a byte-identical transcript
// (TestDeterminism), also while other goroutines read crypto/rand
// (TestDeterminismAgainstOutsideReaders) and while other runs overlap
// (TestOverlappingRuns), and a byte-identical history
// (harness.TestRunDeterminism).
package sim
