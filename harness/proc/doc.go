// Package proc is the process world: the same world.World as the
// simulation, but every node is a real process with a real disk, real TCP
// and real faults.
//
// What runs is a System (system.go): how to start a node, wipe its data,
// and which faults it can take (Caps). The reference node (`splitbrain
// node`) is a System described by a system file, systems/raftkv.toml,
// built in (ReferenceSystem); a user's binary is described by a system
// file of its own (LoadSystemFile: TOML, command lines as text/template);
// package harness/proc/etcd provides etcd's. A fault a system cannot take
// is refused with world.ErrUnsupported.
//
// New starts N node processes, each on its own loopback address
// 127.0.0.(10+id) with a peer port, an API port and a client port shared by
// all nodes of the run (picked free, below the ephemeral port range), its
// data (the reference node's store is a write-ahead log) in
// <Dir>/data/<node> and its log in <Dir>/logs/<node>.log. The harness
// talks to the nodes only through the KV protocol (package node,
// "The KV protocol" in README.md): client operations, status, membership,
// clock rate, packet faults, and the state hash that Converge compares at
// the end of a test. Once the members hold the same data, Converge also
// compares the membership each reports in its status (voters, learners)
// at one applied index: two memberships there are a divergence (the sim
// checks the same, membership-agreement, after every input). Statuses
// that never meet at one applied index within the bound are not judged,
// nor is a member whose status names no voter (etcd's learners report no
// membership).
//
// Faults:
//   - Crash is SIGKILL to the node's process group (a process crash: the
//     page cache survives, so KeepWritten); Wipe also deletes its data
//     directory, after which Restart fails with raftkv.ErrDataLost and the
//     nemesis replaces the node. LoseUnsynced and TornWrite, and
//     SetDiskStall, need a filesystem layer and are world.ErrUnsupported
//     here (sim-only).
//   - Pause and Resume are SIGSTOP and SIGCONT; Pause returns once every
//     thread is stopped.
//   - SetClockRate changes a node's tick period through its admin API.
//   - SetReach installs nftables rules (github.com/google/nftables, over
//     netlink) in a table owned by the run, splitbrain_<run tag>. For a
//     system whose nodes send only on connections they dial from their
//     own address (Caps.DialerSends: the reference node), rules on the
//     input hook on (source A, destination B, destination port = B's
//     peer port) cut exactly A→B: one-way partitions are real. For any
//     other system the cut is by process: each node runs with its own
//     group ID, new connections to the peer port are marked with the
//     dialler's group, and A→B drops A's packets on connections either
//     side dialled (see dropRule); TCP then stalls both directions.
//   - SetPacket: loss is kernel packet loss (an nftables numgen rule per
//     link); delay, jitter, duplication and reordering are applied by the
//     sending node's transport, since the kernel has no netem here.
//   - AddNode, PromoteNode and RemoveNode go through the leader's admin
//     API; a new node starts empty and joins (before or after the change,
//     Caps.AddBeforeStart) and gets a new ID. A wiped node is never
//     restarted (raftkv.ErrDataLost): it is replaced under a new ID.
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
