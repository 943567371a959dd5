package jepsen

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/splitbrain/splitbrain/harness/history"
)

// Format is the layout of a history file.
type Format string

// The formats Read understands. With FormatAuto, Read and ReadFile call
// Detect on the start of the input.
const (
	FormatAuto  Format = ""           // tell from the input
	FormatEDN   Format = "edn"        // Jepsen's history.edn, or a vector of op maps
	FormatLog   Format = "jepsen-log" // jepsen.util op lines of a Jepsen log, or history.txt
	FormatJSONL Format = "jsonl"      // our own history format (package history)
)

// ParseFormat checks a format named on the command line; "" and "auto"
// mean detect.
func ParseFormat(s string) (Format, error) {
	switch f := Format(s); f {
	case FormatAuto, FormatEDN, FormatLog, FormatJSONL:
		return f, nil
	case "auto":
		return FormatAuto, nil
	}
	return "", fmt.Errorf("unknown history format %q (want auto, edn, jepsen-log or jsonl)", s)
}

// DetectSize is how much of the input Detect is given by Read.
const DetectSize = 64 << 10

// Accepted names the formats Read understands, for error messages.
const Accepted = "JSONL (one JSON object per line: {\"index\":0,...}), EDN ([{:process 0, :type :invoke, ...}]) or a Jepsen log (INFO  jepsen.util - 0\\t:invoke\\t:read\\tnil)"

// Detect tells the format of a history from its first bytes: our JSONL
// starts with {" (a JSON object), EDN with [ ( { # or ; (a vector of ops,
// a map per line, a tagged record, a comment), a Jepsen log with a log line
// ("INFO  jepsen.core - ...", "2018-02-19 13:15:11,443{GMT}\tINFO\t[...]
// ...") or a bare op line ("3\t:invoke\t:read\tnil"). Blank lines and a
// UTF-8 byte order mark are skipped. A JSON array of objects ([{"...) is
// none of these: JSON histories are JSONL, one object per line. An error
// is a *history.ParseError naming the first line that is none of these,
// with File "input"; an input with nothing but blanks is one too (Read
// itself reads it as an empty history).
func Detect(head []byte) (Format, error) {
	return detect(head, "input")
}

// DetectFile tells the format of the history at path from its first
// DetectSize bytes, as Detect does; errors name path.
func DetectFile(path string) (Format, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	head := make([]byte, DetectSize)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return detect(head[:n], path)
}

func detect(head []byte, name string) (Format, error) {
	line := 1
	head = bytes.TrimPrefix(head, []byte("\uFEFF"))
	for len(head) > 0 {
		var first []byte
		rest := head
		if i := bytes.IndexByte(head, '\n'); i >= 0 {
			first, head = head[:i], head[i+1:]
		} else {
			first, head = head, nil
		}
		trimmed := bytes.TrimLeft(first, " \t\r\f\v,")
		if len(bytes.TrimSpace(trimmed)) == 0 {
			line++
			continue
		}
		switch trimmed[0] {
		case '{':
			if rest := bytes.TrimLeft(trimmed[1:], " \t\r"); len(rest) > 0 && rest[0] == '"' {
				return FormatJSONL, nil
			}
			return FormatEDN, nil
		case '[':
			if jsonArray(rest[bytes.IndexByte(rest, '[')+1:]) {
				return "", &history.ParseError{File: name, Line: line, Msg: "a JSON array: JSON histories are JSONL, one event object per line without the enclosing [ ]; the formats accepted are " + Accepted}
			}
			return FormatEDN, nil
		case '(', '#', ';':
			return FormatEDN, nil
		}
		if isLogLine(first) {
			return FormatLog, nil
		}
		return "", &history.ParseError{File: name, Line: line, Msg: fmt.Sprintf(
			"cannot tell the history format from %s: expected %s", excerpt(string(first)), Accepted)}
	}
	return "", &history.ParseError{File: name, Line: 1, Msg: "empty input: no history to read"}
}

// jsonArray reports whether b, what follows an opening [, starts a JSON
// array of objects: blanks, {, blanks, then a string key. An EDN op map's
// keys are keywords ({:process ...}).
func jsonArray(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) == 0 || b[0] != '{' {
		return false
	}
	b = bytes.TrimLeft(b[1:], " \t\r\n")
	return len(b) > 0 && b[0] == '"'
}

// NilRead is what an :ok read whose value is nil means. Jepsen's
// cas-register model (knossos.model/cas-register, which Jepsen's
// linearizable checker uses) treats such a read as one whose value is not
// known: "nil reads are always legal". Porcupine's model of Jepsen's etcd
// logs reads nil as "the key does not exist", and its expected verdicts
// rest on that.
type NilRead string

// The meanings of a nil read.
const (
	// NilReadAuto follows the source: NilReadUnknown for EDN (histories
	// written for knossos), NilReadAbsent for jepsen-log (the etcd logs
	// porcupine checks) and for our JSONL, where nil is always absent.
	NilReadAuto NilRead = ""
	// NilReadUnknown: the read returned a value nobody recorded; it
	// constrains nothing. The read becomes an :info read (outcome
	// unknown), with an Error saying why, which the checker leaves out
	// just as knossos accepts it in any state.
	NilReadUnknown NilRead = "unknown"
	// NilReadAbsent: the read saw no value (the key was never written).
	NilReadAbsent NilRead = "absent"
)

// ParseNilRead checks a meaning named on the command line; "" and "auto"
// follow the source.
func ParseNilRead(s string) (NilRead, error) {
	switch n := NilRead(s); n {
	case NilReadAuto, NilReadUnknown, NilReadAbsent:
		return n, nil
	case "auto":
		return NilReadAuto, nil
	}
	return "", fmt.Errorf("unknown meaning of a nil read %q (want auto, unknown or absent)", s)
}

// resolve is the meaning of a nil read in a history of format f.
func (n NilRead) resolve(f Format) NilRead {
	if n != NilReadAuto {
		return n
	}
	if f == FormatEDN {
		return NilReadUnknown
	}
	return NilReadAbsent
}

// NilReadNote is the Error given to an :ok read of nil that NilReadUnknown
// turns into an :info read.
const NilReadNote = "nil read: the value read is unknown (Jepsen's cas-register model accepts it in any state)"

// Options say how to read a history.
type Options struct {
	Format  Format  // FormatAuto detects it
	NilRead NilRead // NilReadAuto follows the format
}

// ReadFile reads the history at path in the given format ("" detects it).
// See Read.
func ReadFile(path string, format Format) ([]history.Event, error) {
	return ReadFileWith(path, Options{Format: format})
}

// ReadFileWith reads the history at path as o says. See ReadWith.
func ReadFileWith(path string, o Options) ([]history.Event, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadWith(f, path, o)
}

// Read converts a history in the given format ("" detects it) to events.
// name is the file name used in errors. A malformed input is a
// *history.ParseError naming name, the line and the problem; other errors
// are I/O errors.
//
// JSONL is read by history.Read, so its rules hold (a torn final line is
// dropped); callers that need to know about a torn line call history.Read
// themselves.
func Read(r io.Reader, name string, format Format) ([]history.Event, error) {
	return ReadWith(r, name, Options{Format: format})
}

// ReadWith is Read with the meaning of a nil read given in o.NilRead (in
// JSONL nil is always absent: o.NilRead must be NilReadAuto or
// NilReadAbsent there).
func ReadWith(r io.Reader, name string, o Options) ([]history.Event, error) {
	format := o.Format
	br := bufio.NewReaderSize(r, DetectSize)
	if format == FormatAuto {
		head, err := br.Peek(DetectSize)
		if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if len(trimBlank(bytes.TrimPrefix(head, []byte("\uFEFF")))) == 0 {
			return nil, nil // an empty file is an empty history in any format
		}
		if format, err = detect(head, name); err != nil {
			return nil, err
		}
	}
	nilRead := o.NilRead.resolve(format)
	switch format {
	case FormatJSONL:
		if nilRead != NilReadAbsent {
			return nil, fmt.Errorf("%s: a nil read is %s in our JSONL format; it cannot be read as %s", name, NilReadAbsent, nilRead)
		}
		res, err := history.Read(br, name)
		if err != nil {
			return nil, err
		}
		return res.Events, nil
	case FormatEDN:
		src, err := io.ReadAll(br)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return readEDN(src, name, nilRead)
	case FormatLog:
		return readLog(br, name, nilRead)
	}
	return nil, fmt.Errorf("unknown history format %q (want edn, jepsen-log or jsonl)", format)
}
