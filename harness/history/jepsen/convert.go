package jepsen

import (
	"bytes"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"

	"olympos.io/encoding/edn"

	"github.com/splitbrain/splitbrain/harness/history"
)

// SingleKey is the register key given to operations of a history that does
// not use Jepsen's independent keys: such a history tests one register, and
// our format requires every client operation to name a key.
const SingleKey = "0"

// TimeStep is the time synthesized per source line when a history carries
// no :time: event time = line number × TimeStep, so times count up in file
// order and point back at the line they came from.
const TimeStep int64 = 1_000_000 // 1ms in ns

// op is one Jepsen operation as both readers see it, before conversion.
type op struct {
	line    int
	process history.Process
	typ     history.Type
	f       string
	value   any     // :value as the EDN library decodes it (clients)
	desc    *string // :value in words (nemesis)
	hasTime bool
	time    int64
	err     string // :error as text, "" when absent
}

// open is a client invocation waiting for its completion.
type open struct {
	line        int
	f, key      string
	prev, value *string
}

// converter turns ops into events, checking as it goes what our format
// requires: one open operation per process, completions that match their
// invocation, and one keying mode for the whole history.
type converter struct {
	events []history.Event
	open   map[history.Process]open
	// nilUnknown: an :ok read of nil read a value nobody recorded
	// (NilReadUnknown), so it becomes an :info read.
	nilUnknown bool

	// keyed is decided by the first client invocation: true when it uses an
	// independent-key tuple [k v]. modeLine is that invocation's line.
	modeSet  bool
	keyed    bool
	modeLine int

	// timed is decided by the first op: true when it carries :time.
	timeSet bool
	timed   bool
	last    int64
}

func newConverter(nilRead NilRead) *converter {
	return &converter{open: map[history.Process]open{}, nilUnknown: nilRead == NilReadUnknown}
}

// add converts one op; a non-empty result is what is wrong with it.
func (c *converter) add(o op) string {
	if !c.timeSet {
		c.timeSet, c.timed = true, o.hasTime
	}
	t := int64(o.line) * TimeStep
	if c.timed {
		t = c.last // an op without :time in a timed history keeps the previous time
		if o.hasTime {
			t = max(o.time, c.last) // Jepsen orders by position; :time may lag by a hair
		}
	}
	e := history.Event{Index: int64(len(c.events)), Time: t, Type: o.typ, Process: o.process, F: o.f, Error: o.err}
	if o.process == history.Nemesis {
		// Jepsen's nemesis fs keep their keyword form (":kill"), so that
		// none is taken for one of our fault actions (history.FaultKill is
		// "kill", closed by "restart"; Jepsen's :kill is closed by :start).
		e.F, e.Value = NemesisF(o.f), o.desc
	} else if msg := c.client(o, &e); msg != "" {
		return msg
	}
	c.last = t
	c.events = append(c.events, e)
	return ""
}

// NemesisF is the Event.F of a Jepsen nemesis op whose :f is f: the
// keyword as Jepsen writes it, ":kill" for :kill. Our own fault actions
// (history.FaultKill, ...) never start with a colon, so an imported
// nemesis op is never paired into one of our fault windows: each is an
// instant event.
func NemesisF(f string) string { return ":" + f }

// client fills e's key and values from a client op and tracks open ops.
func (c *converter) client(o op, e *history.Event) string {
	switch o.f {
	case history.FRead, history.FWrite, history.FCAS:
	default:
		return fmt.Sprintf("unsupported f :%s for a client operation (a register history has :read, :write and :cas)", o.f)
	}
	v := o.value
	inv, isOpen := c.open[o.process]
	if o.typ == history.Invoke {
		if isOpen {
			return fmt.Sprintf("process %s invokes :%s while its :%s from line %d is still open", o.process, o.f, inv.f, inv.line)
		}
		if msg := c.invocation(o, v, e); msg != "" {
			return msg
		}
		c.open[o.process] = open{line: o.line, f: o.f, key: e.Key, prev: e.Prev, value: e.Value}
		return ""
	}
	if !isOpen {
		return fmt.Sprintf("process %s completes :%s with no open invocation", o.process, o.f)
	}
	if inv.f != o.f {
		return fmt.Sprintf("process %s completes :%s but its open invocation (line %d) is :%s", o.process, o.f, inv.line, inv.f)
	}
	delete(c.open, o.process)
	e.Key = inv.key
	return c.completion(o, v, inv, e)
}

// invocation reads the arguments of an invoke.
func (c *converter) invocation(o op, v any, e *history.Event) string {
	key, inner, keyed, msg := splitKey(o.f, v)
	if msg != "" {
		return msg
	}
	if !c.modeSet {
		c.modeSet, c.keyed, c.modeLine = true, keyed, o.line
	} else if keyed != c.keyed {
		return c.modeMismatch(keyed)
	}
	e.Key = key
	switch o.f {
	case history.FRead:
		// A read's invocation carries no argument; Jepsen writes nil.
	case history.FWrite:
		s, msg := scalar(inner)
		if msg != "" {
			return "write value " + msg
		}
		e.Value = s
	case history.FCAS:
		pair, ok := inner.([]any)
		if !ok || len(pair) != 2 {
			return fmt.Sprintf("cas value must be [expected new], got %s", excerpt(printEDN(o.value)))
		}
		var msg string
		if e.Prev, msg = scalar(pair[0]); msg != "" {
			return "cas expected value " + msg
		}
		if e.Value, msg = scalar(pair[1]); msg != "" {
			return "cas new value " + msg
		}
	}
	return ""
}

// completion reads the value of an ok, fail or info and checks it against
// the invocation.
func (c *converter) completion(o op, v any, inv open, e *history.Event) string {
	// Old Jepsen clients replaced the value of an unknown or failed outcome
	// by a keyword such as :timed-out; it is the reason, not a value.
	if kw, ok := v.(edn.Keyword); ok {
		if o.typ == history.OK {
			return fmt.Sprintf("an :ok :%s carries the keyword :%s instead of a value", o.f, excerpt(string(kw)))
		}
		if e.Error == "" {
			e.Error = ":" + string(kw)
		}
		v = nil
	}
	if v == nil { // nothing to check: the op's arguments are the invocation's
		if o.f != history.FRead {
			e.Prev, e.Value = inv.prev, inv.value
		}
		c.nilRead(e)
		return ""
	}
	key, inner, keyed, msg := splitKey(o.f, v)
	if msg != "" {
		return msg
	}
	if keyed != c.keyed {
		return c.modeMismatch(keyed)
	}
	if key != inv.key {
		return fmt.Sprintf("completion is for key %s but its invocation (line %d) is for key %s", quoteShort(key), inv.line, quoteShort(inv.key))
	}
	switch o.f {
	case history.FRead:
		s, msg := scalar(inner)
		if msg != "" {
			return "read value " + msg
		}
		e.Value = s
		c.nilRead(e)
		return ""
	case history.FWrite:
		s, msg := scalar(inner)
		if msg != "" {
			return "write value " + msg
		}
		if !sameValue(s, inv.value) {
			return fmt.Sprintf("completion writes %s but its invocation (line %d) writes %s", show(s), inv.line, show(inv.value))
		}
	case history.FCAS:
		pair, ok := inner.([]any)
		if !ok || len(pair) != 2 {
			return fmt.Sprintf("cas value must be [expected new], got %s", excerpt(printEDN(o.value)))
		}
		p, msg := scalar(pair[0])
		if msg != "" {
			return "cas expected value " + msg
		}
		n, msg := scalar(pair[1])
		if msg != "" {
			return "cas new value " + msg
		}
		if !sameValue(p, inv.prev) || !sameValue(n, inv.value) {
			return fmt.Sprintf("completion is cas [%s %s] but its invocation (line %d) is cas [%s %s]",
				show(p), show(n), inv.line, show(inv.prev), show(inv.value))
		}
	}
	e.Prev, e.Value = inv.prev, inv.value
	return ""
}

// nilRead turns an :ok read of nil into an :info read when a nil read
// means an unknown value: the read then constrains nothing, as in
// knossos' cas-register model, and says so in its Error.
func (c *converter) nilRead(e *history.Event) {
	if c.nilUnknown && e.F == history.FRead && e.Type == history.OK && e.Value == nil {
		e.Type = history.Info
		if e.Error == "" {
			e.Error = NilReadNote
		} else {
			e.Error = NilReadNote + "; " + e.Error
		}
	}
}

func (c *converter) modeMismatch(keyed bool) string {
	if keyed {
		return fmt.Sprintf("value is an independent-key tuple [k v] but the history's first operation (line %d) is on a single register", c.modeLine)
	}
	return fmt.Sprintf("value is not an independent-key tuple [k v] but the history's first operation (line %d) is", c.modeLine)
}

// splitKey separates an independent-key tuple [k v] into its key and value.
// For cas the tuple is [k [expected new]]; a plain [expected new] is not a
// tuple. Values that are not tuples are on SingleKey.
func splitKey(f string, v any) (key string, inner any, keyed bool, msg string) {
	vec, ok := v.([]any)
	if !ok || len(vec) != 2 {
		return SingleKey, v, false, ""
	}
	if f == history.FCAS {
		if _, pair := vec[1].([]any); !pair {
			return SingleKey, v, false, ""
		}
	}
	switch k := vec[0].(type) {
	case int64:
		return strconv.FormatInt(k, 10), vec[1], true, ""
	case *big.Int:
		return k.String(), vec[1], true, ""
	case big.Int:
		return k.String(), vec[1], true, ""
	case string:
		if k == "" {
			return "", nil, true, "independent key must not be the empty string"
		}
		return k, vec[1], true, ""
	case edn.Keyword:
		return string(k), vec[1], true, ""
	}
	return "", nil, true, fmt.Sprintf("independent key must be an integer, string or keyword, got %s", kind(vec[0]))
}

// scalar converts a register value: nil stays nil, integers become their
// decimal text, strings stay as they are.
func scalar(v any) (*string, string) {
	switch x := v.(type) {
	case nil:
		return nil, ""
	case int64:
		return history.Str(strconv.FormatInt(x, 10)), ""
	case *big.Int:
		return history.Str(x.String()), ""
	case big.Int:
		return history.Str(x.String()), ""
	case string:
		return history.Str(x), ""
	}
	return nil, fmt.Sprintf("must be nil, an integer or a string, got %s", kind(v))
}

func kind(v any) string {
	switch x := v.(type) {
	case edn.Keyword:
		return "keyword :" + excerpt(string(x))
	case edn.Symbol:
		return "symbol " + excerpt(string(x))
	case bool:
		return "boolean " + strconv.FormatBool(x)
	case float64, *big.Float, big.Float:
		return fmt.Sprintf("float %v", x)
	case []any:
		return fmt.Sprintf("a vector of %d elements", len(x))
	case map[any]any:
		return "a map"
	case map[any]bool:
		return "a set"
	case edn.Tag:
		return "tagged literal #" + excerpt(x.Tagname)
	case int32:
		return "character " + excerpt(charText(x))
	}
	return excerpt(printEDN(v))
}

func sameValue(a, b *string) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// show is a register value for an error message: nil, or the value
// Go-quoted and cut short.
func show(s *string) string {
	if s == nil {
		return "nil"
	}
	return quoteShort(*s)
}

// quoteShort Go-quotes s, cut short (history.Quote).
func quoteShort(s string) string { return history.Quote(s) }

// printable reports whether s is valid UTF-8 made only of printable
// characters and spaces: no tabs, newlines or other control characters.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !strconv.IsPrint(r) {
			return false
		}
	}
	return true
}

// excerpt is a piece of the input for an error message: shortened by clip
// if it is printable text, else Go-quoted and cut (quoteShort), so that
// no raw byte of the input reaches the terminal.
func excerpt(s string) string {
	if c := clip(s); printable(c) {
		return c
	}
	return quoteShort(s)
}

// trimBlank trims EDN whitespace (which includes commas).
func trimBlank(b []byte) []byte {
	return bytes.Trim(b, " \t\r\n,\f\v")
}

// clip shortens EDN text for an error message.
func clip(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return "nil"
	}
	if r := []rune(s); len(r) > 60 {
		s = string(r[:57]) + "..."
	}
	return s
}

// ednMessage words an error of the EDN library.
func ednMessage(err error) string {
	switch msg := err.Error(); {
	case msg == "No more tokens to read":
		return "unexpected end of input"
	case msg == "Unexpected token":
		return "unexpected closing bracket or map without a value"
	case strings.HasPrefix(msg, "strconv."), strings.HasPrefix(msg, "edn: cannot unmarshal int "):
		return "integer out of range (Clojure writes big integers with an N suffix)"
	default:
		// The library may quote the input (an unknown tag and its value).
		return excerpt(msg)
	}
}
