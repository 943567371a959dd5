// Package workloads generates client operations and runs the client
// loops that issue them, recording every invocation and completion in the
// history.
//
// The register workload is Jepsen's independent cas-register: C client
// workers issue read, write and compare-and-set operations on a rotating
// set of K active keys. A key is retired after M operations and replaced
// by a fresh one, so each key's sub-history stays small enough for the
// linearizability checker while a long test covers many keys. Every value
// written to a key is unique, so a read tells exactly which write it saw.
//
// A worker whose operation ends with an unknown outcome records it as
// info and carries on as a fresh process (a new process number and a new
// client session), so no process ever has two operations open — the
// checker's assumption, as in Jepsen.
//
// Workers run as world tasks: the same code runs deterministically in the
// sim and concurrently in the process world.
package workloads
