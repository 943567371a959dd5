// Package node is a raft KV node as a server: a sans-IO core driven by
// one goroutine, with durable storage, a TCP peer transport and the KV
// protocol over HTTP/JSON. The core is any node written to the contract
// in package raftnode — the reference node (raftkv) by default, which
// `splitbrain node` runs; the process world (package proc) starts those
// processes.
//
// A node of your own gets the same server, and so real processes from
// the one type the sim runs: Main serves a raftnode.System with
// `splitbrain node`'s command line (CommandLine), as the main of a binary
// of its own, and ServeIfNode makes a test binary serve it when the
// process world starts it as a node (call it first in TestMain; the
// process world starts nodes from the running executable by default). The
// server asks the core only what the contract offers: the peer addresses
// it replicates under reserved keys are read back through the node, as a
// client's read.
//
// The loop (server.go) owns the core, which is not safe for concurrent
// use: every input — a tick, a raft message, a client request, an admin
// call, a transport report — goes through it. After each batch of inputs
// it drains the core's Ready: writes are persisted first (one batch of
// the store, one write and one fdatasync, for all the writes of a batch
// of inputs, so many proposals share one sync; writes the core does not
// need synced wait for the next synced one), then messages are sent, then
// responses delivered, then the core is told the write is durable.
//
// Storage (store.go, wal.go) is a write-ahead log in one file: batches of
// records (entries, hard states, snapshots, compactions) replayed with
// raftkv.Durable.Apply's semantics, rewritten as one checkpoint when it
// has grown. The file is grown in zero-filled steps so that a sync writes
// the batch's pages and no metadata. Every batch carries a CRC-32C; on
// start a bad checksum, a gap in the log or a file that is not a store of
// this node is a *CorruptError naming the file and the offset, and the
// node refuses to start — except a last batch torn by the node's death
// while writing it (a prefix ending at a page boundary, zeros after),
// which was never synced and is dropped. Parsing is bounded by the file's
// size: damage cannot make the open hang.
//
// The transport (transport.go, frame.go) dials every peer and sends only
// on connections it dialled; it receives only on connections it accepted
// and never writes on them, so each direction of each link is a separate
// TCP flow that a packet filter can cut on its own. Queues are bounded
// (raft tolerates loss); failures are reported to raft as unreachable
// peers, snapshots as sent or failed. Delay, jitter, duplication and
// reordering can be applied per destination (the admin API's net call).
// Without such faults, what is queued for a peer is sent together, and
// empty appends and acknowledgements that a neighbour makes redundant are
// dropped (coalesce): raft sends many under load.
//
// The HTTP API (http.go, api.go) is the KV protocol, documented for other
// implementations in "The KV protocol" in README.md; Client (client.go)
// speaks it, a plain HTTP/1.1 client on kept-alive connections.
//
// Every 10s the node logs a stats line (batches of inputs, syncs, entries,
// messages handed to the transport and written, requests); with
// SPLITBRAIN_NODE_CPUPROFILE (profile.go) it writes CPU profiles.
package node
