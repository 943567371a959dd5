package jepsen

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"olympos.io/encoding/edn"

	"github.com/splitbrain/splitbrain/harness/history"
)

// readEDN converts an EDN history: a vector (or list) of op maps, or op
// maps one after another (Jepsen's history.edn). An op may be a tagged
// record such as #jepsen.history.Op{...}; the tag is dropped.
//
// The EDN library parses; this code only finds where each op starts, so
// that errors name its line: it feeds the ops to one decoder and asks how
// far the decoder has read after each.
func readEDN(src []byte, name string, nilRead NilRead) ([]history.Event, error) {
	if bytes.HasPrefix(src, []byte("\uFEFF")) { // a byte order mark: blank it, keeping offsets
		src = append([]byte("   "), src[3:]...)
	}
	lines := newLineIndex(src)
	fail := func(off int, format string, args ...any) error {
		return &history.ParseError{File: name, Line: lines.at(off), Msg: fmt.Sprintf(format, args...)}
	}
	lo, hi := skipBlankEDN(src, 0), len(src)
	if lo == hi {
		return nil, nil // an empty history
	}
	if src[lo] == '[' || src[lo] == '(' {
		closer := byte(']')
		if src[lo] == '(' {
			closer = ')'
		}
		end := len(trimRightBlank(src))
		if end <= lo+1 || src[end-1] != closer {
			return nil, fail(lo, "the history opened here with %q is not closed with %q at the end of the input", src[lo], closer)
		}
		lo, hi = lo+1, end-1
	}
	var st ednStream
	st.reset(src, lo, hi)
	c := newConverter(nilRead)
	for {
		start := skipBlankEDN(src, st.consumed())
		if jsonObject(src[start:hi]) {
			return nil, fail(start, "a JSON object, not an EDN op map (whose keys are keywords: {:process 0, ...}); the formats accepted are %s", Accepted)
		}
		var v any
		err := decodeSafely(st.d, &v)
		if err == io.EOF {
			return c.events, nil
		}
		var unhashable *edn.UnhashableError
		if errors.As(err, &unhashable) {
			// A map keyed by a collection somewhere in the op (in an
			// :exception, say) cannot be a Go map: read the op again with
			// its fields as text, then go on after it.
			var end int
			if v, end, err = rawOp(src[start:hi]); err == nil {
				st.reset(src, start+end, hi)
			}
		}
		if err != nil {
			if err.Error() == "No more tokens to read" {
				return nil, fail(start, "EDN value starting here is not closed before the end of the input")
			}
			return nil, fail(max(st.consumed()-1, start), "EDN syntax: %s", ednMessage(err))
		}
		o, msg := opFromEDN(v)
		if msg != "" {
			return nil, fail(start, "%s", msg)
		}
		o.line = lines.at(start)
		if msg := c.add(o); msg != "" {
			return nil, fail(start, "%s", msg)
		}
	}
}

// jsonObject reports whether b starts with a JSON object: {, blanks, a
// string, blanks and a colon. In EDN that is a map keyed by a string whose
// value is a keyword, which no op map is.
func jsonObject(b []byte) bool {
	if len(b) == 0 || b[0] != '{' {
		return false
	}
	b = bytes.TrimLeft(b[1:], " \t\r\n")
	if len(b) == 0 || b[0] != '"' {
		return false
	}
	for i := 1; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			rest := bytes.TrimLeft(b[i+1:], " \t\r\n")
			return len(rest) > 0 && rest[0] == ':'
		}
	}
	return false
}

// ednStream is a decoder over src[lo:hi] that knows how far it has read.
type ednStream struct {
	lo int
	cr countingReader
	d  *edn.Decoder
}

func (s *ednStream) reset(src []byte, lo, hi int) {
	s.lo, s.cr = lo, countingReader{r: bytes.NewReader(src[lo:hi])}
	s.d = edn.NewDecoder(&s.cr)
}

// consumed is the offset in src up to which the decoder has read.
func (s *ednStream) consumed() int { return s.lo + int(s.cr.n) - s.d.Buffered().Buffered() }

// decodeSafely is d.Decode, turning a panic of the library into an error.
func decodeSafely(d *edn.Decoder, v any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("EDN library failed on this input: %s", excerpt(fmt.Sprint(r)))
		}
	}()
	return d.Decode(v)
}

// opFields are the keys of an op this package reads; the others are
// ignored.
var opFields = []edn.Keyword{"process", "type", "f", "value", "time", "error"}

// rawOp reads the first value of seg as an op map whose field values are
// decoded one by one; a field the library cannot decode is kept as text.
// It returns the op and the length of its text.
func rawOp(seg []byte) (any, int, error) {
	var s ednStream
	s.reset(seg, 0, len(seg))
	var raw edn.RawMessage
	if err := decodeSafely(s.d, &raw); err != nil {
		return nil, 0, err
	}
	end := s.consumed()
	body := trimBlank(raw)
	if len(body) > 1 && body[0] == '#' && body[1] != '{' {
		// A tagged record: the decoder hands it over as "#tag value".
		if sp := bytes.IndexAny(body, " \t\r\n,{"); sp > 0 {
			body = trimBlank(body[sp:])
		}
	}
	if len(body) == 0 || body[0] != '{' {
		return rawText(clip(string(raw))), end, nil
	}
	var fields map[edn.Keyword]edn.RawMessage
	var typeErr *edn.UnmarshalTypeError
	if err := unmarshalSafely(body, &fields); errors.As(err, &typeErr) {
		return nil, 0, errors.New("op map keys must be keywords")
	} else if err != nil {
		return nil, 0, err
	}
	m := map[any]any{}
	for _, k := range opFields {
		text, ok := fields[k]
		if !ok {
			continue
		}
		var v any
		if err := unmarshalSafely(text, &v); err != nil {
			v = rawText(trimBlank(text))
		}
		m[k] = v
	}
	return m, end, nil
}

// opFromEDN reads the fields of one op.
func opFromEDN(v any) (op, string) {
	var o op
	if t, ok := v.(edn.Tag); ok { // a record such as #jepsen.history.Op{...}
		v = t.Value
	}
	m, ok := v.(map[any]any)
	if !ok {
		return o, fmt.Sprintf("an op must be a map such as {:process 0, :type :invoke, :f :read, :value nil}, got %s", kind(v))
	}
	get := func(k string) (any, bool) { x, ok := m[edn.Keyword(k)]; return x, ok }
	proc, ok := get("process")
	if !ok {
		return o, "op has no :process"
	}
	switch x := proc.(type) {
	case int64:
		if x < 0 {
			return o, fmt.Sprintf(":process must be a non-negative integer or :nemesis, got %d", x)
		}
		o.process = history.Process(x)
	case edn.Keyword:
		if x != "nemesis" {
			return o, fmt.Sprintf(":process must be a non-negative integer or :nemesis, got :%s", excerpt(string(x)))
		}
		o.process = history.Nemesis
	default:
		return o, fmt.Sprintf(":process must be a non-negative integer or :nemesis, got %s", kind(proc))
	}
	typ, ok := get("type")
	if !ok {
		return o, "op has no :type"
	}
	kw, _ := typ.(edn.Keyword)
	if o.typ = typeOf(string(kw)); o.typ == "" {
		return o, fmt.Sprintf(":type must be :invoke, :ok, :fail or :info, got %s", kind(typ))
	}
	f, ok := get("f")
	if !ok {
		return o, "op has no :f"
	}
	switch x := f.(type) {
	case edn.Keyword:
		o.f = string(x)
	case string:
		o.f = x
	case edn.Symbol:
		o.f = string(x)
	}
	if o.f == "" || !printable(o.f) {
		return o, fmt.Sprintf(":f must be a keyword, got %s", kind(f))
	}
	value, _ := get("value")
	if o.process == history.Nemesis {
		o.desc = words(value)
	} else {
		o.value = value
	}
	if tm, ok := get("time"); ok {
		n, isInt := tm.(int64)
		if !isInt || n < 0 {
			return o, fmt.Sprintf(":time must be a non-negative integer (ns), got %s", kind(tm))
		}
		o.hasTime, o.time = true, n
	}
	if e, _ := get("error"); e != nil {
		o.err = *words(e)
	}
	return o, ""
}

func unmarshalSafely(b []byte, v any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("EDN library failed on this input: %s", excerpt(fmt.Sprint(r)))
		}
	}()
	return edn.Unmarshal(b, v)
}

func typeOf(s string) history.Type {
	switch t := history.Type(s); t {
	case history.Invoke, history.OK, history.Fail, history.Info:
		return t
	}
	return ""
}

// skipBlankEDN returns the offset of the first byte at or after off that is
// not EDN whitespace, a comma or part of a ; comment.
func skipBlankEDN(src []byte, off int) int {
	for off < len(src) {
		switch src[off] {
		case ' ', '\t', '\r', '\n', ',', '\f', '\v':
			off++
		case ';':
			for off < len(src) && src[off] != '\n' {
				off++
			}
		default:
			return off
		}
	}
	return off
}

func trimRightBlank(src []byte) []byte { return bytes.TrimRight(src, " \t\r\n,\f\v") }

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// lineIndex maps byte offsets to 1-based line numbers. Offsets asked for
// mostly grow, so it walks forward from the last answer.
type lineIndex struct {
	src  []byte
	off  int // offset of the start of line
	line int
}

func newLineIndex(src []byte) *lineIndex { return &lineIndex{src: src, line: 1} }

func (l *lineIndex) at(off int) int {
	off = min(max(off, 0), len(l.src))
	if off < l.off {
		l.off, l.line = 0, 1
	}
	l.line += bytes.Count(l.src[l.off:off], []byte{'\n'})
	if i := bytes.LastIndexByte(l.src[l.off:off], '\n'); i >= 0 {
		l.off += i + 1
	}
	return l.line
}
