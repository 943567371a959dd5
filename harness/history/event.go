package history

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// Type is the kind of a history event, as in Jepsen.
type Type string

// The four event types. Invoke opens an operation; ok, fail and info close
// it. Info means the outcome is unknown: the operation may or may not have
// taken effect, now or at any later time.
const (
	Invoke Type = "invoke"
	OK     Type = "ok"
	Fail   Type = "fail"
	Info   Type = "info"
)

func (t Type) valid() bool {
	switch t {
	case Invoke, OK, Fail, Info:
		return true
	}
	return false
}

// Client operation functions. A delete makes its key absent; its value is
// always null.
const (
	FRead   = "read"
	FWrite  = "write"
	FCAS    = "cas"
	FDelete = "delete"
)

// Process identifies who issued an event: a client process number (≥ 0) or
// the nemesis. In JSON a client process is a number, the nemesis the string
// "nemesis".
type Process int

// Nemesis is the process of fault events.
const Nemesis Process = -1

func (p Process) String() string {
	if p == Nemesis {
		return "nemesis"
	}
	return strconv.Itoa(int(p))
}

// MarshalJSON writes a client process as a number and the nemesis as "nemesis".
func (p Process) MarshalJSON() ([]byte, error) {
	if p == Nemesis {
		return []byte(`"nemesis"`), nil
	}
	if p < 0 {
		return nil, fmt.Errorf("invalid process %d", int(p))
	}
	return strconv.AppendInt(nil, int64(p), 10), nil
}

// UnmarshalJSON accepts a non-negative integer or "nemesis".
func (p *Process) UnmarshalJSON(b []byte) error {
	if string(b) == `"nemesis"` {
		*p = Nemesis
		return nil
	}
	n, err := strconv.Atoi(string(b))
	if err != nil || n < 0 {
		return fmt.Errorf("process must be a non-negative integer or \"nemesis\", got %s", b)
	}
	*p = Process(n)
	return nil
}

// Event is one line of a history.
//
// Values of the register workload are strings; nil means "absent" (a read
// of a key never written, or a deleted one). For f = cas the JSON value is
// the pair [expected, new]; in Go the expected value is Prev and the new
// one Value. For nemesis events F names the fault action and Value
// describes it in words.
type Event struct {
	Index   int64   // position in the history, 0-based, strictly increasing
	Time    int64   // nanoseconds since the start of the test (virtual in the sim)
	Type    Type    // invoke | ok | fail | info
	Process Process // client process or Nemesis
	F       string  // read | write | cas | delete, or a fault action for the nemesis
	Key     string  // register key; empty for nemesis events
	Value   *string // read result, written value, cas new value, fault description
	Prev    *string // cas expected value
	Node    string  // node that served the operation, when known
	Error   string  // why an operation failed or is unknown
}

// Str returns a pointer to s, for building events.
func Str(s string) *string { return &s }

type wireEvent struct {
	Index   int64           `json:"index"`
	Time    int64           `json:"time"`
	Type    Type            `json:"type"`
	Process Process         `json:"process"`
	F       string          `json:"f"`
	Key     string          `json:"key,omitempty"`
	Value   json.RawMessage `json:"value"`
	Node    string          `json:"node,omitempty"`
	Error   string          `json:"error,omitempty"`
}

// MarshalJSON writes the event in the history's line format.
func (e Event) MarshalJSON() ([]byte, error) {
	w := wireEvent{Index: e.Index, Time: e.Time, Type: e.Type, Process: e.Process,
		F: e.F, Key: e.Key, Node: e.Node, Error: e.Error}
	var err error
	if e.F == FCAS && e.Process != Nemesis {
		w.Value, err = json.Marshal([2]*string{e.Prev, e.Value})
	} else {
		w.Value, err = json.Marshal(e.Value)
	}
	if err != nil {
		return nil, err
	}
	return json.Marshal(w)
}

// UnmarshalJSON reads one history line strictly: unknown fields, missing
// required fields and values of the wrong shape are errors.
func (e *Event) UnmarshalJSON(b []byte) error {
	var w wireEvent
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the event")
	}
	var present map[string]json.RawMessage
	if err := json.Unmarshal(b, &present); err != nil {
		return err
	}
	for _, f := range []string{"index", "time", "type", "process", "f"} {
		if _, ok := present[f]; !ok {
			return fmt.Errorf("missing field %q", f)
		}
	}
	if !w.Type.valid() {
		return fmt.Errorf("type must be invoke, ok, fail or info, got %q", w.Type)
	}
	if w.Index < 0 || w.Time < 0 {
		return errors.New("index and time must not be negative")
	}
	*e = Event{Index: w.Index, Time: w.Time, Type: w.Type, Process: w.Process,
		F: w.F, Key: w.Key, Node: w.Node, Error: w.Error}
	if w.Process == Nemesis {
		return unmarshalOptString(w.Value, &e.Value)
	}
	switch w.F {
	case FRead, FWrite:
		return unmarshalOptString(w.Value, &e.Value)
	case FCAS:
		if len(w.Value) == 0 || string(w.Value) == "null" {
			return nil // an invoke may leave the value out only if it failed to build one
		}
		var pair []*string
		if err := json.Unmarshal(w.Value, &pair); err != nil || len(pair) != 2 {
			return fmt.Errorf("cas value must be [expected, new], got %s", w.Value)
		}
		e.Prev, e.Value = pair[0], pair[1]
		return nil
	case FDelete:
		if len(w.Value) != 0 && string(w.Value) != "null" {
			return fmt.Errorf("delete value must be null, got %s", w.Value)
		}
		return nil
	default:
		return fmt.Errorf("f must be read, write, cas or delete for a client process, got %q", w.F)
	}
}

func unmarshalOptString(raw json.RawMessage, dst **string) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return fmt.Errorf("value must be a string or null, got %s", raw)
	}
	*dst = &s
	return nil
}
