package node

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// The KV protocol's JSON messages ("The KV protocol" in README.md describes them for
// other implementations). Every endpoint takes a JSON object and answers
// one.

// KVRequest is the body of POST /kv/get, /kv/put, /kv/cas and /kv/delete.
type KVRequest struct {
	Key string `json:"key"`
	// Value is the value to write (put, cas); ignored by get and delete.
	Value *string `json:"value,omitempty"`
	// Expected is what cas requires the key to hold; null or absent means
	// "the key must be absent".
	Expected *string `json:"expected,omitempty"`
	// Client and Seq name the request for exactly-once application: a
	// client session (1 ≤ client < 2^63) with at most one write in flight,
	// and a sequence number that grows with each of its requests. A write
	// whose seq is not above the last applied one of its session is not
	// applied again. Both zero: the node names the request itself.
	Client uint64 `json:"client,omitempty"`
	Seq    uint64 `json:"seq,omitempty"`
}

// Outcomes, as they appear in responses.
const (
	OutcomeOK      = "ok"
	OutcomeFail    = "fail"
	OutcomeUnknown = "unknown"
)

// KVResponse answers every KV and membership request.
type KVResponse struct {
	// Outcome is "ok", "fail" (did not and will not take effect) or
	// "unknown" (may take effect, now or later).
	Outcome string `json:"outcome"`
	// Value is what get read: null if the key is absent. Null for writes.
	Value *string `json:"value"`
	Error string  `json:"error,omitempty"`
}

// Status is the body of GET /status.
type Status struct {
	// System names the node the process runs ("raftkv": the reference
	// node; a raftnode.System's Name). Optional in the protocol.
	System    string   `json:"system,omitempty"`
	ID        uint64   `json:"id"`
	Term      uint64   `json:"term"`
	Leader    uint64   `json:"leader"` // 0: none known
	State     string   `json:"state"`  // StateFollower, StateCandidate, StatePreCandidate, StateLeader
	Commit    uint64   `json:"commit"`
	Applied   uint64   `json:"applied"`
	Voters    []uint64 `json:"voters"`
	Learners  []uint64 `json:"learners"`
	Learner   bool     `json:"learner"`   // this node is a learner
	Removed   bool     `json:"removed"`   // this node was removed from the cluster
	Replaying bool     `json:"replaying"` // still replaying its log after a restart
}

// HashAnswer is the body of GET /hash (optional in the protocol): the
// position in the replicated history at which the node's state was hashed
// (the reference node: its applied index; etcd: its KV revision) and the
// hash. Two members at the same index must have the same hash.
type HashAnswer struct {
	Index  uint64 `json:"index"`
	Hash   string `json:"hash"`
	Detail string `json:"detail,omitempty"` // for people
}

// ConfRequest is the body of POST /admin/conf.
type ConfRequest struct {
	// Op is add (a voter), add-learner, promote (a learner to voter) or
	// remove.
	Op string `json:"op"`
	ID uint64 `json:"id"`
	// PeerAddr is where the new node listens for raft traffic (required
	// for add and add-learner).
	PeerAddr string `json:"peer_addr,omitempty"`
}

// TickRateRequest is the body of POST /admin/tick-rate: the node's clock
// runs at Rate × real speed (1 normal, 2 twice as fast).
type TickRateRequest struct {
	Rate float64 `json:"rate"`
}

// NetRequest is the body of POST /admin/net: packet faults on messages
// this node sends, by destination node ID (as a decimal string). It
// replaces the faults in force; an empty map clears them.
type NetRequest struct {
	Links map[string]LinkSpec `json:"links"`
}

// LinkSpec is one link's packet faults.
type LinkSpec struct {
	DelayMS   float64 `json:"delay_ms,omitempty"`
	JitterMS  float64 `json:"jitter_ms,omitempty"`
	Duplicate float64 `json:"duplicate,omitempty"` // probability, 0–1
	Reorder   float64 `json:"reorder,omitempty"`   // probability, 0–1
}

// Faults converts the spec, checking its ranges.
func (l LinkSpec) Faults() (LinkFaults, error) {
	switch {
	case l.DelayMS < 0 || l.JitterMS < 0 || l.DelayMS > 600e3 || l.JitterMS > 600e3:
		return LinkFaults{}, fmt.Errorf("delay_ms and jitter_ms must be between 0 and 600000, got %v and %v", l.DelayMS, l.JitterMS)
	case l.Duplicate < 0 || l.Duplicate > 1 || l.Reorder < 0 || l.Reorder > 1:
		return LinkFaults{}, fmt.Errorf("duplicate and reorder are probabilities between 0 and 1, got %v and %v", l.Duplicate, l.Reorder)
	}
	return LinkFaults{Delay: ms(l.DelayMS), Jitter: ms(l.JitterMS), Duplicate: l.Duplicate, Reorder: l.Reorder}, nil
}

// SpecOf is the inverse of LinkSpec.Faults.
func SpecOf(f LinkFaults) LinkSpec {
	return LinkSpec{DelayMS: float64(f.Delay) / 1e6, JitterMS: float64(f.Jitter) / 1e6, Duplicate: f.Duplicate, Reorder: f.Reorder}
}

func ms(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }

// maxBody bounds a request body.
const maxBody = 16 << 20

// decodeStrict reads exactly one JSON object into v, refusing unknown
// fields and trailing data, with messages that name the problem.
func decodeStrict(r io.Reader, v any) error {
	body, err := io.ReadAll(io.LimitReader(r, maxBody+1))
	if err != nil {
		return fmt.Errorf("reading the body: %w", err)
	}
	if len(body) > maxBody {
		return fmt.Errorf("body exceeds %d bytes", maxBody)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if se, ok := err.(*json.SyntaxError); ok {
			return fmt.Errorf("malformed JSON at byte %d: %v", se.Offset, err)
		}
		return fmt.Errorf("bad JSON body: %v", err)
	}
	if dec.More() {
		return fmt.Errorf("trailing data after the JSON object at byte %d", dec.InputOffset())
	}
	return nil
}
