// Package proc is the process world: the same world.World as the
// simulation, but every node is a real `splitbrain node` process with a
// real disk, real TCP and real faults.
//
// New starts N node processes, each on its own loopback address
// 127.0.0.(10+id) with a peer port and an API port shared by all nodes of
// the run (picked free, below the ephemeral port range), its store (a write-ahead
// log) in
// <Dir>/data/<node> and its log in <Dir>/logs/<node>.log. The harness talks
// to the nodes only through the KV protocol (package node,
// "The KV protocol" in README.md): client operations, status, membership, clock rate
// and packet faults.
//
// Faults:
//   - Crash is SIGKILL to the node's process group (a process crash: the
//     page cache survives, so KeepWritten); Wipe also deletes its data
//     directory, after which Restart fails with raftkv.ErrDataLost and the
//     nemesis replaces the node. LoseUnsynced and TornWrite need a
//     filesystem layer and are world.ErrUnsupported here (sim-only).
//   - Pause and Resume are SIGSTOP and SIGCONT; Pause returns once every
//     thread is stopped.
//   - SetClockRate changes a node's tick period through its admin API.
//   - SetReach installs nftables rules (github.com/google/nftables, over
//     netlink) in a table owned by the run, splitbrain_<run tag>, on the
//     input hook. Each node sends raft messages only on connections it
//     dialled and receives only on connections it accepted, so a rule on
//     (source A, destination B, destination port = B's peer port) cuts
//     exactly A→B: one-way partitions are real.
//   - SetPacket: loss is kernel packet loss (an nftables numgen rule per
//     link); delay, jitter, duplication and reordering are applied by the
//     sending node's transport, since the kernel has no netem here.
//   - AddNode, PromoteNode and RemoveNode go through the leader's admin
//     API; a new node starts empty with --join and gets a new ID.
//
// Cleanup: node processes run in their own process groups with a
// parent-death signal (SIGKILL), started from one locked OS thread so that
// the signal fires only when the harness dies. Close kills them, deletes
// the nftables table and removes the data. If the harness is killed
// without closing, a watchdog process (`splitbrain clean --watch`) removes
// the table; `splitbrain clean` (Clean) finds anything else a dead run
// left, by the run tag in the table name, in the nodes' SPLITBRAIN_RUN
// environment variable and in temporary directory names.
//
// Network faults need CAP_NET_ADMIN: without it New fails at once, unless
// Config.NoNetFaults (then partitions and loss are ErrUnsupported).
package proc
