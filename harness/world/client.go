package world

import (
	"fmt"
	"time"

	"github.com/splitbrain/splitbrain/harness/raftnode"
)

// Client is one client session. It is used by one task at a time and has
// at most one request in flight.
type Client interface {
	// Do sends op to node and waits for the answer or the timeout. A
	// timeout, a connection lost after sending, or a crash of the node
	// while the request is in flight gives Unknown (for writes; a read
	// cannot have an effect, so it gives Fail). A request that could not
	// be sent at all gives Fail.
	Do(node NodeID, op Op, timeout time.Duration) Result
}

// OpKind is a key-value operation.
type OpKind uint8

// The operations of the KV protocol.
const (
	Get OpKind = iota + 1
	Put
	CAS
	Delete
)

var kindNames = [...]string{Get: "get", Put: "put", CAS: "cas", Delete: "delete"}

func (k OpKind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return fmt.Sprintf("op(%d)", uint8(k))
}

// Op is a request. For CAS, Expected nil means "only if absent".
type Op struct {
	Kind     OpKind
	Key      string
	Value    string
	Expected *string
}

// Outcome of a request: the node contract's (raftnode.Outcome), one type
// for what a node answers and what a client sees.
type Outcome = raftnode.Outcome

// Outcomes. Fail means the operation did not and will not take effect;
// Unknown means it may or may not, now or later.
const (
	OK      = raftnode.OK
	Fail    = raftnode.Fail
	Unknown = raftnode.Unknown
)

// Result answers an Op.
type Result struct {
	Outcome Outcome
	Value   *string // Get: the value read (nil: absent)
	Err     string
	// Refused is set when the request was never sent: the node refused
	// the connection (it is down, or no longer a member). Outcome is then
	// Fail. A client may back off before it tries that node again.
	Refused bool
}
