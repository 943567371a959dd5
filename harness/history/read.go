package history

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ParseError is a malformed history: the file, the 1-based line and what is
// wrong there.
type ParseError struct {
	File string
	Line int
	Msg  string
}

func (e *ParseError) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// ReadResult is a parsed history and what the reader had to forgive.
type ReadResult struct {
	Events []Event
	// Torn is set when the final line was cut short (no newline and not
	// valid JSON), as a writer killed mid-line leaves it. It was dropped.
	Torn     bool
	TornLine int
}

// ReadFile parses the history at path. See Read.
func ReadFile(path string) (ReadResult, error) {
	f, err := os.Open(path)
	if err != nil {
		return ReadResult{}, err
	}
	defer f.Close()
	return Read(f, path)
}

// Read parses a JSONL history. name is used in error messages. Beyond
// each line's syntax it checks the history is well formed: indices count
// up from 0 in line order, times never decrease, a process has at most one
// operation open, and every completion matches the open invoke's f and key.
// A torn final line is dropped and reported in the result; every other
// problem is a *ParseError. Read holds the whole history in memory; a
// Scanner reads it one event at a time.
func Read(r io.Reader, name string) (ReadResult, error) {
	var res ReadResult
	s := NewScanner(r, name)
	for s.Scan() {
		res.Events = append(res.Events, *s.Event())
	}
	res.Torn, res.TornLine = s.Torn()
	return res, s.Err()
}

// Scanner reads a JSONL history one event at a time, checking it as Read
// does, in memory that does not grow with the history (beyond the open
// operations of its processes). Lines in the canonical form the Recorder
// writes are parsed by a fast path that gives exactly what
// Event.UnmarshalJSON gives; others go through it.
type Scanner struct {
	br       *bufio.Reader
	name     string
	line     int
	v        *validator
	in       *interner
	e        Event
	err      error
	done     bool
	torn     bool
	tornLine int
	long     []byte // a line longer than the reader's buffer
}

// NewScanner returns a scanner of the history r; name is used in error
// messages.
func NewScanner(r io.Reader, name string) *Scanner {
	return &Scanner{br: bufio.NewReaderSize(r, 256<<10), name: name, v: newValidator(), in: newInterner()}
}

// Scan reads the next event. It returns false at the end of the history
// or at the first error (Err).
func (s *Scanner) Scan() bool {
	if s.done {
		return false
	}
	s.line++
	raw, err := s.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		s.long = append(s.long[:0], raw...)
		for err == bufio.ErrBufferFull {
			raw, err = s.br.ReadSlice('\n')
			s.long = append(s.long, raw...)
		}
		raw = s.long
	}
	if err != nil && err != io.EOF {
		return s.fail(fmt.Errorf("%s:%d: %w", s.name, s.line, err))
	}
	terminated := len(raw) > 0 && raw[len(raw)-1] == '\n'
	if len(raw) == 0 {
		s.done = true
		return false
	}
	text := bytes.TrimSpace(raw)
	if len(text) == 0 {
		s.done = true
		if !terminated {
			return false
		}
		return s.fail(&ParseError{s.name, s.line, "empty line"})
	}
	if perr := parseLine(text, &s.e, s.in); perr != nil {
		if !terminated && err == io.EOF {
			s.torn, s.tornLine, s.done = true, s.line, true
			return false
		}
		return s.fail(&ParseError{s.name, s.line, printableMessage(perr.Error())})
	}
	if msg := s.v.check(s.e); msg != "" {
		return s.fail(&ParseError{s.name, s.line, msg})
	}
	if err == io.EOF {
		s.done = true // the event stands; the next Scan ends
	}
	return true
}

func (s *Scanner) fail(err error) bool {
	s.err, s.done = err, true
	return false
}

// Event is the event Scan read. It is overwritten by the next Scan.
func (s *Scanner) Event() *Event { return &s.e }

// Err is the error that ended the scan, if any: a *ParseError for a
// malformed history.
func (s *Scanner) Err() error { return s.err }

// Torn reports whether the final line was torn (and dropped), and its
// 1-based line number.
func (s *Scanner) Torn() (bool, int) { return s.torn, s.tornLine }

// Line is the 1-based line of the event Scan read.
func (s *Scanner) Line() int { return s.line }

// QuoteBytes is how much of a piece of input Quote keeps.
const QuoteBytes = 48

// Quote renders a piece of input (a key, a value) for an error message:
// Go-quoted, so that control characters and invalid UTF-8 show as escapes
// (a sequence cut in two as \x escapes), and cut to QuoteBytes bytes.
func Quote(s string) string {
	if len(s) > QuoteBytes {
		return strconv.Quote(s[:QuoteBytes]) + "..."
	}
	return strconv.Quote(s)
}

// maxMessage bounds the length of a ParseError message built from a
// decoder's error, which may quote a whole value of the input.
const maxMessage = 200

// printableMessage makes a decoder's error message safe to print: a
// control character or an invalid byte of the input it quotes (a JSON
// string may hold raw bytes the terminal would act on) becomes a Go escape,
// and a long message is cut.
func printableMessage(msg string) string {
	var b strings.Builder
	for i, r := range msg {
		if b.Len() >= maxMessage {
			b.WriteString("...")
			break
		}
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(msg[i:], "\uFFFD"):
			fmt.Fprintf(&b, "\\x%02x", msg[i])
		case !strconv.IsPrint(r):
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

type validator struct {
	next int64
	time int64
	open map[Process]Event
}

func newValidator() *validator { return &validator{open: map[Process]Event{}} }

func (v *validator) check(e Event) string {
	if e.Index != v.next {
		return fmt.Sprintf("index %d out of sequence (want %d)", e.Index, v.next)
	}
	if e.Time < v.time {
		return fmt.Sprintf("time %d goes backwards (previous %d)", e.Time, v.time)
	}
	v.next++
	v.time = e.Time
	if e.Process == Nemesis {
		return ""
	}
	if e.Key == "" {
		return "client operation without a key"
	}
	inv, open := v.open[e.Process]
	if e.Type == Invoke {
		if open {
			return fmt.Sprintf("process %s invokes %s while its %s at index %d is still open", e.Process, e.F, inv.F, inv.Index)
		}
		v.open[e.Process] = e
		return ""
	}
	if !open {
		return fmt.Sprintf("process %s completes %s with no open invoke", e.Process, e.F)
	}
	if inv.F != e.F || inv.Key != e.Key {
		return fmt.Sprintf("completion %s %s does not match the open invoke %s %s at index %d", e.F, Quote(e.Key), inv.F, Quote(inv.Key), inv.Index)
	}
	delete(v.open, e.Process)
	return ""
}

// WriteFile writes events as a JSONL history, syncing before it returns.
func WriteFile(path string, events []Event) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 256<<10)
	var line []byte
	for i := range events {
		e := &events[i]
		if e.Process < Nemesis {
			_, err := json.Marshal(e) // says what is wrong with it
			f.Close()
			return err
		}
		line = append(appendCanonical(line[:0], e), '\n')
		if _, err := w.Write(line); err != nil {
			f.Close()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
