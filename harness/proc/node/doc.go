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
// it drains the core's Ready: writes are persisted first (one bbolt
// transaction, fsynced on commit, for all the writes of a batch, so many
// proposals share one fsync; writes the core does not need synced wait
// for the next synced one), then messages are sent, then responses
// delivered, then the core is told the write is durable.
//
// Storage (store.go) is one bbolt file: the log by index, the hard state
// and the newest snapshot, with raftkv.Durable.Apply's semantics. Every
// value carries a CRC-32C of its key and payload; on start a bad checksum,
// a gap in the log or a file bbolt cannot read is a *CorruptError naming
// the file and the place, and the node refuses to start.
//
// The transport (transport.go, frame.go) dials every peer and sends only
// on connections it dialled; it receives only on connections it accepted
// and never writes on them, so each direction of each link is a separate
// TCP flow that a packet filter can cut on its own. Queues are bounded
// (raft tolerates loss); failures are reported to raft as unreachable
// peers, snapshots as sent or failed. Delay, jitter, duplication and
// reordering can be applied per destination (the admin API's net call).
//
// The HTTP API (http.go, api.go) is the KV protocol, documented for other
// implementations in "The KV protocol" in README.md; Client (client.go) speaks it.
package node
