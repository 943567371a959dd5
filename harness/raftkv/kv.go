package raftkv

import (
	"encoding/binary"
	"hash/fnv"
	"sort"
)

// KV is the replicated state machine: string keys to string values, plus
// the last applied sequence number of every client session (to drop
// duplicated proposals). Apply is deterministic: the same commands in the
// same order give the same state and the same Hash on every node.
type KV struct {
	data     map[string]string
	sessions map[uint64]uint64 // client -> last applied seq
	hash     uint64            // XOR of pairHash over data and sessions; order-independent
}

// NewKV returns an empty store.
func NewKV() *KV {
	return &KV{data: map[string]string{}, sessions: map[uint64]uint64{}}
}

func pairHash(k, v string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(k))
	h.Write([]byte{0})
	h.Write([]byte(v))
	return h.Sum64()
}

// Get returns the value of key, or nil if absent.
func (kv *KV) Get(key string) *string {
	v, ok := kv.data[key]
	if !ok {
		return nil
	}
	return &v
}

// Len is the number of keys.
func (kv *KV) Len() int { return len(kv.data) }

// Hash summarizes the whole state (data and sessions) in 64 bits. Two
// replicas that applied the same log prefix have equal hashes.
func (kv *KV) Hash() uint64 { return kv.hash }

func sessionHash(client, seq uint64) uint64 {
	return pairHash("\x00session", string(binary.AppendUvarint(binary.AppendUvarint(nil, client), seq)))
}

func (kv *KV) setSession(client, seq uint64) {
	if old, ok := kv.sessions[client]; ok {
		kv.hash ^= sessionHash(client, old)
	}
	kv.sessions[client] = seq
	kv.hash ^= sessionHash(client, seq)
}

func (kv *KV) set(k, v string) {
	if old, ok := kv.data[k]; ok {
		kv.hash ^= pairHash(k, old)
	}
	kv.data[k] = v
	kv.hash ^= pairHash(k, v)
}

func (kv *KV) del(k string) {
	if old, ok := kv.data[k]; ok {
		kv.hash ^= pairHash(k, old)
		delete(kv.data, k)
	}
}

// apply executes a write command. dup reports a duplicate (its session
// already applied this or a later sequence number); a duplicate changes
// nothing. ok is false for a CAS whose expectation did not hold.
func (kv *KV) apply(c *command) (ok, dup bool) {
	if last, seen := kv.sessions[c.ID.Client]; seen && c.ID.Seq <= last {
		return false, true
	}
	kv.setSession(c.ID.Client, c.ID.Seq)
	switch c.Op {
	case OpPut:
		kv.set(c.Key, c.Value)
	case OpDelete:
		kv.del(c.Key)
	case OpCAS:
		cur, present := kv.data[c.Key]
		if c.Expected == nil && present || c.Expected != nil && (!present || cur != *c.Expected) {
			return false, false
		}
		kv.set(c.Key, c.Value)
	}
	return true, false
}

// marshal encodes the state for a snapshot, keys sorted so that equal
// states give equal bytes.
func (kv *KV) marshal() []byte {
	keys := make([]string, 0, len(kv.data))
	for k := range kv.data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b := binary.AppendUvarint(nil, uint64(len(keys)))
	for _, k := range keys {
		b = appendString(b, k)
		b = appendString(b, kv.data[k])
	}
	clients := make([]uint64, 0, len(kv.sessions))
	for c := range kv.sessions {
		clients = append(clients, c)
	}
	sort.Slice(clients, func(i, j int) bool { return clients[i] < clients[j] })
	b = binary.AppendUvarint(b, uint64(len(clients)))
	for _, c := range clients {
		b = binary.AppendUvarint(b, c)
		b = binary.AppendUvarint(b, kv.sessions[c])
	}
	return b
}

func unmarshalKV(b []byte) (*KV, error) {
	kv := NewKV()
	if len(b) == 0 {
		return kv, nil
	}
	d := decoder{b: b}
	n := d.uvarint()
	for i := uint64(0); i < n && d.err == nil; i++ {
		k := d.string()
		kv.set(k, d.string())
	}
	n = d.uvarint()
	for i := uint64(0); i < n && d.err == nil; i++ {
		c := d.uvarint()
		kv.setSession(c, d.uvarint())
	}
	if d.err != nil || len(d.b) != 0 {
		return nil, errBadCommand
	}
	return kv, nil
}
