// Package sim is the deterministic world: every node, the network, the
// disks and the clocks of a cluster live in one process, driven by a
// single event loop on virtual time.
//
//   - Events are ordered by (virtual time, sequence number); one PRNG,
//     seeded from the run's seed, draws every random choice. While a run is
//     on, crypto/rand.Reader points at it, so etcd raft's randomized
//     election timeouts repeat exactly; runs in one process are therefore
//     serialized.
//   - The network has a latency distribution per link, FIFO delivery like
//     TCP, directed reachability (every partition shape, one-way included)
//     and packet faults: delay, jitter, loss, duplication, reordering.
//   - Disks separate written from durable: a synced write is durable after
//     a simulated fsync; un-synced writes reach the disk after a writeback
//     delay; a crash keeps what its DiskFate says (a process crash keeps
//     the page cache, a power failure only what was fsynced, a torn write a
//     prefix, a wipe nothing).
//   - Each node's clock has a rate (its tick period), and a random phase.
//   - Nodes crash, restart, pause (inputs queue, time stops for them) and
//     resume; members are added and removed by conf changes.
//   - Ordinary sequential code — client loops, the nemesis, Lua scenarios —
//     runs as lockstep tasks: exactly one runs at a time, handing control
//     back to the loop when it blocks on a world call (Sleep, Client.Do,
//     Group.Wait). So the same workload code runs here and in the process
//     world, and here it is deterministic.
//
// The sim is omniscient, so it checks raft's safety invariants as it runs
// (invariants.go): election safety, log matching, state-machine safety,
// leader completeness, committed entries kept across restarts, and
// persist-before-send. A violation stops the run with a
// world.InvariantError naming the invariant, nodes, term, index and time.
//
// Determinism is tested: the same seed gives a byte-identical transcript
// (TestDeterminism) and history (harness.TestRunDeterminism).
package sim
