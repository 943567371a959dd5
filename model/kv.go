package model

import (
	"fmt"
	"sort"
	"strconv"

	"github.com/anishathalye/porcupine"
)

// opKind is what a register operation does.
type opKind uint8

const (
	opRead opKind = iota
	opWrite
	opCAS
	opDelete // a write of "absent"
)

// valueID names a register value inside one check: 0 is "absent", every
// other id indexes a valueTable. Interning keeps the model's states small
// integers, so Equal is one comparison and Hash one multiply.
type valueID int32

const absent valueID = 0

// valueTable interns the register values of one history. It is built while
// the history is converted and is read-only once the model exists.
type valueTable struct {
	ids  map[string]valueID
	strs []string // strs[0] is unused: id 0 is absent
}

func newValueTable(sizeHint int) *valueTable {
	t := &valueTable{ids: make(map[string]valueID, sizeHint), strs: make([]string, 1, sizeHint+1)}
	return t
}

func (t *valueTable) intern(p *string) valueID {
	if p == nil {
		return absent
	}
	if id, ok := t.ids[*p]; ok {
		return id
	}
	id := valueID(len(t.strs))
	t.ids[*p] = id
	t.strs = append(t.strs, *p)
	return id
}

// describe renders a value for people: the quoted string, or "absent".
func (t *valueTable) describe(id valueID) string {
	if id == absent {
		return "absent"
	}
	return strconv.Quote(t.strs[id])
}

// kvInput is a register operation as the model sees it: a read, a write of
// value, a compare-and-set from expect to value, or a delete (value is
// absent), on key.
type kvInput struct {
	kind   opKind
	key    string
	value  valueID // written value; the new value of a cas
	expect valueID // the expected value of a cas
}

// kvOutput is what the operation returned: the value a read saw, or, when
// unknown is set, nothing at all (the operation's outcome is not known: it
// may or may not have taken effect). Writes and successful cas operations
// carry no value; failed ones never reach the model.
type kvOutput struct {
	value   valueID
	unknown bool
}

// kvModel is the sequential specification of one register per key, for
// porcupine. The state of a partition is the valueID of its register.
// Operations carry pointers to their kvInput and kvOutput (pointers box
// without allocating).
//
// An operation with an unknown outcome ends at the end of the history, so
// the checker may place it anywhere after its invocation, including after
// everything else, where it has no visible effect: the model may therefore
// always let it take effect when it can, and "it never happened" is still
// among the orders searched.
func kvModel(values *valueTable, initial valueID) porcupine.Model {
	// Boxed states, so Step never allocates to return one.
	boxed := make([]interface{}, len(values.strs))
	for i := range boxed {
		boxed[i] = valueID(i)
	}
	return porcupine.Model{
		Partition: partitionByKey,
		Init:      func() interface{} { return boxed[initial] },
		Step: func(state, input, output interface{}) (bool, interface{}) {
			ok, next := step(state.(valueID), *input.(*kvInput), *output.(*kvOutput))
			return ok, boxed[next]
		},
		Equal: func(a, b interface{}) bool { return a.(valueID) == b.(valueID) },
		Hash:  func(state interface{}) uint64 { return mix64(uint64(state.(valueID))) },
		DescribeOperation: func(input, output interface{}) string {
			in, out := input.(*kvInput), output.(*kvOutput)
			var s string
			switch in.kind {
			case opRead:
				s = "read → " + values.describe(out.value)
			case opWrite:
				s = "write " + values.describe(in.value)
			case opDelete:
				s = "delete"
			default:
				s = "cas " + values.describe(in.expect) + " → " + values.describe(in.value)
			}
			if out.unknown {
				s += " (outcome unknown)"
			}
			return s
		},
		DescribeState: func(state interface{}) string { return values.describe(state.(valueID)) },
		DescribeOperationMetadata: func(info interface{}) string {
			if o, ok := info.(*op); ok {
				return o.describeTiming()
			}
			return ""
		},
	}
}

// step is the register's transition: whether an operation with this input
// and output can happen in state s, and the state after it.
func step(s valueID, in kvInput, out kvOutput) (bool, valueID) {
	switch in.kind {
	case opRead:
		return out.unknown || out.value == s, s
	case opWrite, opDelete: // a delete's value is absent
		return true, in.value
	default: // opCAS
		if s == in.expect {
			return true, in.value
		}
		return out.unknown, s // an unknown cas may have failed its comparison
	}
}

// partitionByKey splits a history into one sub-history per key, keys in
// sorted order, each keeping the operations' order.
func partitionByKey(ops []porcupine.Operation) [][]porcupine.Operation {
	byKey := map[string][]porcupine.Operation{}
	for _, o := range ops {
		k := o.Input.(*kvInput).key
		byKey[k] = append(byKey[k], o)
	}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([][]porcupine.Operation, len(keys))
	for i, k := range keys {
		out[i] = byKey[k]
	}
	return out
}

// mix64 is the splitmix64 finalizer: it spreads small integers over all 64
// bits, so states hash apart even after porcupine XORs in its bitset hash.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// secs renders nanoseconds since the start of the test as seconds.
func secs(ns int64) string { return fmt.Sprintf("%.3fs", float64(ns)/1e9) }
