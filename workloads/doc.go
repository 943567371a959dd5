// Package workloads generates client operations and runs the client
// loops that issue them, recording every invocation and completion in the
// history.
//
// The register workload is Jepsen's independent cas-register, with
// deletes: C client workers issue read, write, compare-and-set and delete
// operations (weighed by a Mix, default 40/30/20/10) on a rotating set of
// K active keys. A key is retired after M operations and replaced by a
// fresh one, so each key's sub-history stays small enough for the
// linearizability checker while a long test covers many keys. Every value
// written to a key is unique, so a read tells exactly which write it saw;
// a delete makes the key absent (what a read of a key never written
// returns) and writes no value, and a cas expects one of the key's last
// few values, absent included.
//
// A worker whose operation ends with an unknown outcome records it as
// info and carries on as a fresh process (a new process number and a new
// client session), so no process ever has two operations open — the
// checker's assumption, as in Jepsen.
//
// # Which node a client talks to
//
// Worker i starts on member i mod N and stays pinned to it, as Jepsen's
// clients and etcd's robustness traffic stay on the member they were
// opened on: linearizability must hold across nodes, and a client that
// hopped away from every fault would never see one. Three things change
// that:
//
//   - A node that refuses the connection is down. The worker backs off
//     instead of spending an operation on it every pacing interval: it
//     waits BackoffMin, then twice as long after each refusal in a row, up
//     to BackoffMax (with jitter, in world time), and resumes its pace at
//     the first request the node takes.
//   - A node that left the cluster (it is no longer among the world's
//     members: removed, or replaced under a new ID) will never serve
//     again. The worker reopens its client on a member that serves (one
//     that answers and counts itself in the cluster), the one with the
//     fewest workers, as Jepsen reopens a client on another node. The
//     history shows the move: the worker's events name the new node.
//   - A node that joined (a replacement, say) starts with no workers. A
//     worker whose node has at least two workers more than a member that
//     serves moves there, so that the loads even out: a node nobody talks
//     to is a node whose stale reads nobody sees.
//
// Workers look at the members again only when the membership changes
// (and once a second while some member does not serve yet).
//
// # How many clients
//
// DefaultClients is 20: four a node of a 5-node cluster. A worker has one
// operation in flight; one that writes to a node cut off from the leader
// waits out its timeout and reads nothing meanwhile. With four a node, a
// deposed leader or a lagging follower still has clients reading from it
// in most of a fault window — the window in which stale reads show.
//
// Every choice — pace, keys, operations, backoff jitter, the member a
// worker moves to among equals — is drawn from the world's PRNG, so the
// sim stays deterministic.
//
// Workers run as world tasks: the same code runs deterministically in the
// sim and concurrently in the process world.
package workloads
