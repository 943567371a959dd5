package raftnode

import "fmt"

// Op is a client operation on the key-value store a node replicates.
type Op uint8

// The operations. Get reads a key; Put writes it; CAS writes Value only if
// the current value equals Expected (nil Expected: only if the key is
// absent); Delete removes it.
const (
	OpGet Op = iota + 1
	OpPut
	OpCAS
	OpDelete
)

var opNames = [...]string{OpGet: "get", OpPut: "put", OpCAS: "cas", OpDelete: "delete"}

func (o Op) String() string {
	if int(o) < len(opNames) && opNames[o] != "" {
		return opNames[o]
	}
	return fmt.Sprintf("op(%d)", uint8(o))
}

// RequestID names a request uniquely: the client's session number and a
// sequence number that grows with every request of that session. A
// session has at most one request in flight. A node that remembers, per
// session, the last sequence number it applied can drop a proposal that
// raft delivered twice (a duplicated or retried message): a write whose
// Seq is not above its session's last applied one is not applied again.
//
// Session 0 is the harness's own (membership changes, see
// Node.ProposeConfChange); client sessions start at 1.
type RequestID struct {
	Client uint64
	Seq    uint64
}

func (id RequestID) String() string { return fmt.Sprintf("%d.%d", id.Client, id.Seq) }

// Request is a client request to a node.
type Request struct {
	ID       RequestID
	Op       Op
	Key      string
	Value    string  // Put, and CAS's new value
	Expected *string // CAS: the value expected; nil means "absent"
}

// Outcome is how a request ended, from the node's point of view.
type Outcome uint8

// The outcomes.
//
//   - OK: the operation took effect (a write: it is applied; a read: the
//     value was read, linearizably).
//   - Fail: the operation did not take effect and never will: a proposal
//     raft dropped before it entered any log, a read that could not be
//     served, a CAS whose expectation did not hold (it applied as a
//     no-op), an operation the node does not support.
//   - Unknown: it may have taken effect, or may still: the node proposed
//     it and then lost track (a timeout, a change of leader). Answering
//     Fail here is a bug the checker reports when the write shows up
//     later.
const (
	OK Outcome = iota + 1
	Fail
	Unknown
)

var outcomeNames = [...]string{OK: "ok", Fail: "fail", Unknown: "unknown"}

func (o Outcome) String() string {
	if int(o) < len(outcomeNames) && outcomeNames[o] != "" {
		return outcomeNames[o]
	}
	return fmt.Sprintf("outcome(%d)", uint8(o))
}

// Response answers a Request (or a conf change) by its ID.
type Response struct {
	ID      RequestID
	Outcome Outcome
	Value   *string // Get: the value read (nil: absent); nil for writes
	Err     string  // why it failed or is unknown, for people
}
