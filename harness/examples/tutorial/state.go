package tutorial

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"

	"github.com/splitbrain/splitbrain/harness/raftnode"
)

// store is the state machine: a map of keys to values, and — once the
// proposals carry request IDs — the last sequence number applied per
// client session, so that a proposal raft delivers twice applies once.
// hash is kept as the XOR of a hash per pair, so it costs nothing per
// write and does not depend on the map's order.
type store struct {
	Data     map[string]string `json:"data"`
	Sessions map[uint64]uint64 `json:"sessions,omitempty"`
	hash     uint64
}

func newStore() *store {
	return &store{Data: map[string]string{}, Sessions: map[uint64]uint64{}}
}

func pairHash(kind byte, k, v string) uint64 {
	h := fnv.New64a()
	h.Write([]byte{kind})
	h.Write([]byte(k))
	h.Write([]byte{0})
	h.Write([]byte(v))
	return h.Sum64()
}

func (s *store) put(k, v string) {
	if old, ok := s.Data[k]; ok {
		s.hash ^= pairHash('d', k, old)
	}
	s.Data[k] = v
	s.hash ^= pairHash('d', k, v)
}

func (s *store) session(client, seq uint64) {
	c := strconv.FormatUint(client, 10)
	if old, ok := s.Sessions[client]; ok {
		s.hash ^= pairHash('s', c, strconv.FormatUint(old, 10))
	}
	s.Sessions[client] = seq
	s.hash ^= pairHash('s', c, strconv.FormatUint(seq, 10))
}

func (s *store) get(k string) *string {
	v, ok := s.Data[k]
	if !ok {
		return nil
	}
	return &v
}

// marshal is the snapshot's data: JSON, whose maps come out sorted, so
// equal states give equal bytes.
func (s *store) marshal() []byte {
	b, err := json.Marshal(s)
	if err != nil {
		panic(fmt.Sprintf("tutorial: encoding the map: %v", err))
	}
	return b
}

func unmarshalStore(b []byte) (*store, error) {
	s := newStore()
	if len(b) == 0 {
		return s, nil // a snapshot that carries no state (the no-snapshots flaw made it)
	}
	var in store
	if err := json.Unmarshal(b, &in); err != nil {
		return nil, err
	}
	for k, v := range in.Data {
		s.put(k, v)
	}
	for c, seq := range in.Sessions {
		s.session(c, seq)
	}
	return s, nil
}

// proposal is what a log entry carries: "key:value", and, once writes are
// acknowledged only when applied, the request's ID before it:
// "#client.seq key:value". Keys hold no ':' and do not begin with '#'.
type proposal struct {
	id       raftnode.RequestID
	hasID    bool
	key, val string
}

func (p proposal) encode() []byte {
	kv := p.key + ":" + p.val
	if !p.hasID {
		return []byte(kv)
	}
	return []byte(fmt.Sprintf("#%d.%d %s", p.id.Client, p.id.Seq, kv))
}

func parseProposal(b []byte) (proposal, error) {
	s := string(b)
	var p proposal
	if rest, ok := strings.CutPrefix(s, "#"); ok {
		id, kv, ok := strings.Cut(rest, " ")
		c, q, ok2 := strings.Cut(id, ".")
		client, err1 := strconv.ParseUint(c, 10, 64)
		seq, err2 := strconv.ParseUint(q, 10, 64)
		if !ok || !ok2 || err1 != nil || err2 != nil {
			return p, fmt.Errorf("malformed request id in proposal %q", s)
		}
		p.id, p.hasID, s = raftnode.RequestID{Client: client, Seq: seq}, true, kv
	}
	k, v, ok := strings.Cut(s, ":")
	if !ok {
		return p, fmt.Errorf("proposal %q is not key:value", s)
	}
	p.key, p.val = k, v
	return p, nil
}

// validKey reports whether a key fits the proposal format.
func validKey(k string) bool {
	return k != "" && !strings.Contains(k, ":") && !strings.HasPrefix(k, "#")
}
