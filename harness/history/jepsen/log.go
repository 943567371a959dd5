package jepsen

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"github.com/splitbrain/splitbrain/harness/history"
)

// The two layouts of a Jepsen log line. log4j (older Jepsen, and the logs
// in porcupine's test data):
//
//	INFO  jepsen.util - 4	:invoke	:read	nil
//
// logback (Jepsen 0.1 onwards, jepsen.log):
//
//	2018-02-19 13:15:11,443{GMT}	INFO	[jepsen worker 3] jepsen.util: 3	:invoke	:read	nil
//
// Each gives the logger and the message.
var (
	log4jLine   = regexp.MustCompile(`^(?:TRACE|DEBUG|INFO|WARN|ERROR|FATAL)\s+(\S+)\s+-(?:\s|$)(.*)$`)
	logbackLine = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}[,.]\d+(?:\{[^}]*\})?\s+(?:TRACE|DEBUG|INFO|WARN|ERROR|FATAL)\s+\[[^\]]*\]\s+(\S+?):(?:\s|$)(.*)$`)
)

// opLogger is the logger of jepsen.util/log-op, which writes op lines.
const opLogger = "jepsen.util"

// logMessage returns the logger and message of a log line, if it is one.
func logMessage(line string) (logger, msg string, ok bool) {
	if m := log4jLine.FindStringSubmatch(line); m != nil {
		return m[1], m[2], true
	}
	if m := logbackLine.FindStringSubmatch(line); m != nil {
		return m[1], m[2], true
	}
	return "", "", false
}

// fields splits an op message into its first three tokens (process, type,
// f) and the rest. Tokens are separated by tabs or runs of spaces: Jepsen
// writes tabs, some copies of its logs have them turned into spaces.
func fields(msg string) (proc, typ, f, rest string) {
	next := func(s string) (tok, rest string) {
		s = strings.TrimLeft(s, " \t")
		i := strings.IndexAny(s, " \t")
		if i < 0 {
			return s, ""
		}
		return s[:i], s[i:]
	}
	proc, msg = next(msg)
	typ, msg = next(msg)
	f, msg = next(msg)
	return proc, typ, f, strings.TrimLeft(msg, " \t")
}

// looksLikeOp tells an op message from other messages of the same logger:
// it starts with a process (a number or a keyword such as :nemesis)
// followed by a keyword (the type). Such a message must then parse.
func looksLikeOp(msg string) bool {
	proc, typ, _, _ := fields(msg)
	if proc == "" || !strings.HasPrefix(typ, ":") {
		return false
	}
	if proc[0] == ':' {
		return len(proc) > 1
	}
	for _, c := range []byte(proc) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// opFromMessage parses "process type f value [error]".
func opFromMessage(msg string, vr *valueReader) (op, string) {
	var o op
	proc, typ, f, rest := fields(msg)
	switch {
	case proc == ":nemesis":
		o.process = history.Nemesis
	case proc[0] == ':':
		return o, fmt.Sprintf("process must be a number or :nemesis, got %s", excerpt(proc))
	default:
		n, err := strconv.Atoi(proc)
		if err != nil {
			return o, fmt.Sprintf("process %s is out of range", proc)
		}
		o.process = history.Process(n)
	}
	if o.typ = typeOf(strings.TrimPrefix(typ, ":")); o.typ == "" {
		return o, fmt.Sprintf("type must be :invoke, :ok, :fail or :info, got %s", excerpt(typ))
	}
	if len(f) < 2 || f[0] != ':' || !printable(f) {
		if f == "" {
			return o, "missing f after the type"
		}
		return o, fmt.Sprintf("f must be a keyword such as :read, got %s", excerpt(f))
	}
	o.f = f[1:]
	rest = strings.TrimRight(rest, " \t")
	if rest == "" {
		return o, fmt.Sprintf("missing value after :%s (Jepsen writes nil for none)", o.f)
	}
	// The error Jepsen appends follows a tab: a printed value holds no raw
	// tab. Without tabs (copies of logs with tabs turned into spaces) the
	// value is the first EDN value and the error what follows.
	text, errText, tabbed := strings.Cut(rest, "\t")
	var err error
	if tabbed {
		o.value, err = vr.one(text)
	} else {
		var n int
		if o.value, n, _, err = vr.first(rest); err == nil {
			text, errText = rest[:n], rest[n:]
		}
	}
	o.err = strings.TrimSpace(errText)
	if o.process == history.Nemesis {
		// A nemesis value is only a description, and may be a printed Java
		// object that is not EDN: it is kept as written.
		if err != nil && !tabbed {
			text, o.err = rest, ""
		}
		o.value, o.desc = nil, describeText(strings.TrimSpace(text), vr)
		return o, ""
	}
	if err != nil {
		return o, fmt.Sprintf("value %s: not valid EDN: %s", excerpt(text), err)
	}
	return o, ""
}

// describeText is how the text of a nemesis value reads in our history: a
// string literal as the string, nil as nil, anything else as written.
func describeText(text string, vr *valueReader) *string {
	if text == "nil" {
		return nil
	}
	if strings.HasPrefix(text, `"`) {
		if v, err := vr.one(text); err == nil {
			if s, ok := v.(string); ok {
				return &s
			}
		}
	}
	return &text
}

// readLog converts a Jepsen log: the op lines of jepsen.util in a log4j or
// logback log, or a file of bare op lines (Jepsen's history.txt). In a log,
// lines of other loggers, other messages of jepsen.util and continuation
// lines are skipped; a line that looks like an op but does not parse is an
// error. In a file of bare op lines every non-blank line must be an op.
func readLog(r io.Reader, name string, nilRead NilRead) ([]history.Event, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	c, vr := newConverter(nilRead), newValueReader()
	const (
		undecided = iota
		logged
		bare
	)
	mode, sawText := undecided, false
	for line := 1; ; line++ {
		raw, err := br.ReadString('\n')
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		if raw == "" && err == io.EOF {
			break
		}
		text := strings.TrimRight(raw, "\r\n")
		if line == 1 {
			text = strings.TrimPrefix(text, "\uFEFF")
		}
		if strings.TrimSpace(text) != "" {
			sawText = true
			msg, isOp := "", false
			if logger, m, ok := logMessage(text); ok {
				if mode == undecided {
					mode = logged
				}
				msg, isOp = m, logger == opLogger && looksLikeOp(m)
			} else if mode == bare || (mode == undecided && looksLikeOp(text)) {
				mode, msg, isOp = bare, text, true
				if !looksLikeOp(text) {
					return nil, &history.ParseError{File: name, Line: line, Msg: "not an op line (process, type, f, value separated by tabs)"}
				}
			}
			if isOp {
				o, msg := opFromMessage(msg, vr)
				if msg == "" {
					o.line = line
					msg = c.add(o)
				}
				if msg != "" {
					return nil, &history.ParseError{File: name, Line: line, Msg: msg}
				}
			}
		}
		if err == io.EOF {
			break
		}
	}
	if sawText && len(c.events) == 0 {
		return nil, &history.ParseError{File: name, Line: 1, Msg: "no Jepsen op lines (logger jepsen.util, \"process\\ttype\\tf\\tvalue\") in this log"}
	}
	return c.events, nil
}

// isLogLine reports whether line is a log line or a bare op line: how
// Detect recognizes a Jepsen log from its first line.
func isLogLine(line []byte) bool {
	s := string(bytes.TrimRight(line, "\r"))
	if _, _, ok := logMessage(s); ok {
		return true
	}
	return looksLikeOp(s)
}
