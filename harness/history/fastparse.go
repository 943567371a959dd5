package history

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// parseCanonical parses a history line written in the canonical form
// Event.MarshalJSON writes — fields in its order, no white space, plain
// integers — into e, much faster than encoding/json. It reports false,
// leaving the line to Event.UnmarshalJSON (which is the definition of a
// valid line and says what is wrong), for anything else: other field
// orders, white space, numbers of another form, a value that does not
// match f. When it reports true, e is exactly what Event.UnmarshalJSON
// makes of the line (FuzzCanonicalAgrees checks it), so the fast path
// never changes what a history means, only how soon it is read.
//
// in interns the strings that repeat across a history (functions, nodes,
// errors); it may be nil.
func parseCanonical(line []byte, e *Event, in *interner) bool {
	p := canonParser{b: line}
	*e = Event{}
	var ok bool
	if !p.lit(`{"index":`) {
		return false
	}
	if e.Index, ok = p.uint(); !ok || !p.lit(`,"time":`) {
		return false
	}
	if e.Time, ok = p.uint(); !ok || !p.lit(`,"type":`) {
		return false
	}
	typ, ok := p.str()
	if !ok || !p.lit(`,"process":`) {
		return false
	}
	switch string(typ) {
	case "invoke":
		e.Type = Invoke
	case "ok":
		e.Type = OK
	case "fail":
		e.Type = Fail
	case "info":
		e.Type = Info
	default:
		return false
	}
	if p.lit(`"nemesis"`) {
		e.Process = Nemesis
	} else {
		n, ok := p.uint()
		if !ok || n > int64(^uint32(0)>>1) {
			return false
		}
		e.Process = Process(n)
	}
	if !p.lit(`,"f":`) {
		return false
	}
	f, ok := p.str()
	if !ok {
		return false
	}
	e.F = in.intern(f)
	if p.lit(`,"key":`) {
		k, ok := p.str()
		if !ok || len(k) == 0 {
			return false // omitempty never writes an empty key
		}
		e.Key = in.key(k)
	}
	if !p.lit(`,"value":`) {
		return false
	}
	if !p.value(e) {
		return false
	}
	if p.lit(`,"node":`) {
		n, ok := p.str()
		if !ok || len(n) == 0 {
			return false
		}
		e.Node = in.intern(n)
	}
	if p.lit(`,"error":`) {
		s, ok := p.str()
		if !ok || len(s) == 0 {
			return false
		}
		e.Error = in.intern(s)
	}
	return p.lit(`}`) && p.i == len(p.b)
}

// value parses the value field as Event.UnmarshalJSON reads it for e's
// process and f.
func (p *canonParser) value(e *Event) bool {
	if e.Process == Nemesis {
		return p.optString(&e.Value)
	}
	switch e.F {
	case FRead, FWrite:
		return p.optString(&e.Value)
	case FCAS:
		if p.lit(`null`) {
			return true
		}
		return p.lit(`[`) && p.optString(&e.Prev) && p.lit(`,`) && p.optString(&e.Value) && p.lit(`]`)
	case FDelete:
		return p.lit(`null`)
	}
	return false
}

type canonParser struct {
	b []byte
	i int
}

func (p *canonParser) lit(s string) bool {
	if len(p.b)-p.i >= len(s) && string(p.b[p.i:p.i+len(s)]) == s {
		p.i += len(s)
		return true
	}
	return false
}

// uint parses a JSON integer ≥ 0 of at most 18 digits (no sign, no
// leading zero, no fraction or exponent).
func (p *canonParser) uint() (int64, bool) {
	start := p.i
	var n int64
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		n = n*10 + int64(p.b[p.i]-'0')
		p.i++
	}
	digits := p.i - start
	if digits == 0 || digits > 18 || digits > 1 && p.b[start] == '0' {
		return 0, false
	}
	if p.i < len(p.b) && (p.b[p.i] == '.' || p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		return 0, false
	}
	return n, true
}

// str parses a JSON string and returns its bytes (aliasing the line). A
// string with an escape is decoded by encoding/json, the definition; one
// with a control character or invalid UTF-8 is refused.
func (p *canonParser) str() ([]byte, bool) {
	if p.i >= len(p.b) || p.b[p.i] != '"' {
		return nil, false
	}
	start := p.i + 1
	escaped := false
	j := start
	for ; j < len(p.b); j++ {
		c := p.b[j]
		if c == '"' {
			break
		}
		if c < 0x20 {
			return nil, false
		}
		if c == '\\' {
			escaped = true
			j++ // skip the escaped byte (a quote or backslash among them)
		}
	}
	if j >= len(p.b) {
		return nil, false
	}
	raw := p.b[start:j]
	p.i = j + 1
	if !escaped {
		if !utf8.Valid(raw) {
			return nil, false
		}
		return raw, true
	}
	var s string
	if err := json.Unmarshal(p.b[start-1:j+1], &s); err != nil {
		return nil, false
	}
	return []byte(s), true
}

// optString parses null or a string into dst.
func (p *canonParser) optString(dst **string) bool {
	if p.lit(`null`) {
		*dst = nil
		return true
	}
	s, ok := p.str()
	if !ok {
		return false
	}
	v := string(s)
	*dst = &v
	return true
}

// interner shares the strings that repeat in a history. It keeps at most
// maxInterned of each kind, so a history of ever new strings does not
// grow it without bound.
type interner struct {
	small map[string]string // functions, nodes, errors
	keys  map[string]string
}

const maxInterned = 4096

func newInterner() *interner {
	return &interner{small: map[string]string{}, keys: map[string]string{}}
}

func (in *interner) intern(b []byte) string {
	if in == nil {
		return string(b)
	}
	return internIn(in.small, b)
}

func (in *interner) key(b []byte) string {
	if in == nil {
		return string(b)
	}
	return internIn(in.keys, b)
}

func internIn(m map[string]string, b []byte) string {
	if s, ok := m[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(m) >= maxInterned {
		clear(m) // keys rotate: the recent ones come back
	}
	m[s] = s
	return s
}

// parseLine parses one history line: the canonical fast path, else
// Event.UnmarshalJSON.
func parseLine(text []byte, e *Event, in *interner) error {
	if bytes.HasPrefix(text, []byte(`{"index":`)) && parseCanonical(text, e, in) {
		return nil
	}
	*e = Event{}
	return json.Unmarshal(text, e)
}

// appendCanonical appends e's history line (without the newline) to dst:
// the bytes json.Marshal(e) writes (TestAppendCanonicalMatchesMarshal),
// without its reflection and buffers. It is the Recorder's hot path.
func appendCanonical(dst []byte, e *Event) []byte {
	dst = append(dst, `{"index":`...)
	dst = strconv.AppendInt(dst, e.Index, 10)
	dst = append(dst, `,"time":`...)
	dst = strconv.AppendInt(dst, e.Time, 10)
	dst = append(dst, `,"type":`...)
	dst = appendJSONString(dst, string(e.Type))
	dst = append(dst, `,"process":`...)
	if e.Process == Nemesis {
		dst = append(dst, `"nemesis"`...)
	} else {
		dst = strconv.AppendInt(dst, int64(e.Process), 10)
	}
	dst = append(dst, `,"f":`...)
	dst = appendJSONString(dst, e.F)
	if e.Key != "" {
		dst = append(dst, `,"key":`...)
		dst = appendJSONString(dst, e.Key)
	}
	dst = append(dst, `,"value":`...)
	if e.F == FCAS && e.Process != Nemesis {
		dst = append(dst, '[')
		dst = appendOptString(dst, e.Prev)
		dst = append(dst, ',')
		dst = appendOptString(dst, e.Value)
		dst = append(dst, ']')
	} else {
		dst = appendOptString(dst, e.Value)
	}
	if e.Node != "" {
		dst = append(dst, `,"node":`...)
		dst = appendJSONString(dst, e.Node)
	}
	if e.Error != "" {
		dst = append(dst, `,"error":`...)
		dst = appendJSONString(dst, e.Error)
	}
	return append(dst, '}')
}

func appendOptString(dst []byte, s *string) []byte {
	if s == nil {
		return append(dst, "null"...)
	}
	return appendJSONString(dst, *s)
}

// appendJSONString appends s as encoding/json writes it: plain printable
// ASCII as is, anything else (escapes, HTML-escaped characters, UTF-8
// beyond ASCII, invalid bytes) by encoding/json itself.
func appendJSONString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			b, _ := json.Marshal(s) // a string always marshals
			return append(dst, b...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

// AppendLine appends e's history line, without the newline, in the
// canonical form the Recorder writes (the bytes json.Marshal writes). e's
// process must be a client (≥ 0) or the nemesis.
func AppendLine(dst []byte, e *Event) []byte {
	if e.Process < Nemesis {
		panic(fmt.Sprintf("history: event %d of process %d", e.Index, int(e.Process)))
	}
	return appendCanonical(dst, e)
}
