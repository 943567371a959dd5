package sim

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// nodeLog is a node's log. With a directory (Config.LogDir) it goes to
// <dir>/<node>.log as it is written, through a small buffer, so that a
// long run's memory does not grow with its logs; without one it is kept in
// memory (tests read it back). The bytes are the same either way.
type nodeLog struct {
	mem  bytes.Buffer
	path string // "" when in memory
	f    *os.File
	w    *bufio.Writer
	made bool  // the file was created (a later open appends)
	err  error // the first error writing the file
}

func newNodeLog(dir, name string) *nodeLog {
	l := &nodeLog{}
	if dir != "" {
		l.path = filepath.Join(dir, name+".log")
	}
	return l
}

// out is where the next line goes.
func (l *nodeLog) out() io.Writer {
	if l.path == "" {
		return &l.mem
	}
	if l.f == nil && l.err == nil {
		flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
		if l.made {
			flags = os.O_WRONLY | os.O_APPEND // lines after WriteLogs or Close
		}
		if err := os.MkdirAll(filepath.Dir(l.path), 0o755); err != nil {
			l.err = err
		} else if l.f, l.err = os.OpenFile(l.path, flags, 0o644); l.err == nil {
			l.w, l.made = bufio.NewWriterSize(l.f, 32<<10), true
		}
	}
	if l.err != nil {
		return io.Discard
	}
	return l.w
}

func (l *nodeLog) printf(format string, args ...any) {
	w := l.out()
	if _, err := fmt.Fprintf(w, format, args...); err != nil && l.err == nil {
		l.err = err
	}
}

// Bytes is the log kept in memory (nil when it goes to a file).
func (l *nodeLog) Bytes() []byte { return l.mem.Bytes() }

// writeTo writes the log to dir/<name>.log: the memory's bytes, or, for a
// log already in a file, the rest of it (copied if dir is another
// directory). The file is closed; a later line reopens it for appending.
func (l *nodeLog) writeTo(dir, name string) error {
	dst := filepath.Join(dir, name+".log")
	if l.path == "" {
		return os.WriteFile(dst, l.mem.Bytes(), 0o644)
	}
	l.out() // a node that logged nothing still has its (empty) file
	if err := l.close(); err != nil {
		return err
	}
	if filepath.Clean(dst) == filepath.Clean(l.path) {
		return nil
	}
	b, err := os.ReadFile(l.path)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}

// close flushes and closes the file, if any, and returns the first error
// the log met.
func (l *nodeLog) close() error {
	if l.f != nil {
		if err := l.w.Flush(); err != nil && l.err == nil {
			l.err = err
		}
		if err := l.f.Close(); err != nil && l.err == nil {
			l.err = err
		}
		l.f, l.w = nil, nil
	}
	return l.err
}
