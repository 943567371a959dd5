// Package etcd makes etcd a system the process world can test
// (proc.System): `--system etcd`, `etcd@v3.5.0`, `etcd@debian`.
//
// A node is the adapter (adapter/main.go) with one etcd member as its
// child. The adapter serves splitbrain's KV protocol and talks to its
// member alone through etcd's own Go client (go.etcd.io/etcd/client/v3),
// pinned to it as etcd's robustness tests pin theirs: get (linearizable,
// or serializable with --read-consistency serializable), put, cas (a Txn
// comparing the value; an expected absent key compares CreateRevision
// with 0) and delete. A write's error is unknown unless etcd certainly did
// not apply it (refused before proposing: too many requests, no space, a
// learner, invalid arguments; or never sent: connection refused) — etcd's
// robustness tests count every failed write as possibly applied, and so
// do we but for those. Status comes from maintenance Status and the member
// list, membership from etcd's member API, and GET /hash (the convergence
// check) from a serializable range over every key at the member's current
// revision — etcd serves learners no HashKV, so HashKV goes only into the
// detail.
//
// etcd releases from v3.5.0 on are built from the Go module
// go.etcd.io/etcd/server/v3 (a four-line main around etcdmain.Main) with
// the local Go toolchain, once, into the cache directory (CacheDir); the
// adapter is built the same way from the source embedded here, with its
// own go.mod, so that etcd's client and its dependency tree (gRPC, zap,
// …) stay out of splitbrain's module. Builds are locked per version.
//
// Faults etcd cannot take are refused with world.ErrUnsupported: clock
// skew (etcd has no clock-rate control; its timers run on the machine's
// clock) and packet delay, duplication and reordering (done by the
// reference node's transport; etcd has none). Partitions and packet loss
// are cut by process (proc.Caps.DialerSends false): etcd's peers talk
// over connections dialled in both directions, from 127.0.0.1.
package etcd
